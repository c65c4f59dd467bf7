#!/usr/bin/env bash
# EdgeQuant vs onnxruntime latency on the model zoo: see bench/ort/README.md.
#
#   bash bench/ort/compare.sh [--models digits_mlp,mnist_cnn,fashion_mobilenet]
#                             [--runs 200] [--rounds 10] [--activations auto|int8|uint8]
#
# Converts each zoo model (when the .eqm is missing or older than its inputs or the CLI),
# exports it as QDQ ONNX, and times both runtimes alternately with bench/ort/compare.js.
# Work files go to $EDGEQUANT_BENCH_WORK (default ${TMPDIR:-/tmp}/edgequant-ort-bench); the
# table is printed and saved there as results.md, the raw numbers as results.json.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
models=digits_mlp,mnist_cnn,fashion_mobilenet
runs=200
rounds=10
activations=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --activations) activations=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$activations" = auto ]; then
  # onnxruntime's x86 int8 kernels are uint8 x int8; on ARM int8 x int8 is native.
  case "$(uname -m)" in x86_64|amd64|i?86) activations=uint8 ;; *) activations=int8 ;; esac
fi

if [ ! -f "$root/bench/ort/node_modules/onnxruntime-node/package.json" ] && [ -z "${NODE_PATH:-}" ]; then
  echo "compare.sh: onnxruntime-node is not installed; run:" >&2
  echo "  cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0" >&2
  exit 1
fi

work=${EDGEQUANT_BENCH_WORK:-${TMPDIR:-/tmp}/edgequant-ort-bench}
mkdir -p "$work"
cd "$root"
echo "building the CLI and the timer (Release) ..." >&2
dotnet build converter/EdgeQuant.Cli -c Release -nologo -v quiet >&2
dotnet build bench/ort/timer -c Release -nologo -v quiet >&2
cli="dotnet converter/EdgeQuant.Cli/bin/Release/net10.0/edgequant.dll"
timer="bench/ort/timer/bin/Release/net10.0/edgequant-bench-timer.dll"

for m in ${models//,/ }; do
  eqm="$work/$m.eqm"
  if [ ! -f "$eqm" ] || [ "tests/zoo/$m.onnx" -nt "$eqm" ] || [ "tests/zoo/$m.calib.npy" -nt "$eqm" ] \
     || [ converter/EdgeQuant.Cli/bin/Release/net10.0/edgequant.dll -nt "$eqm" ]; then
    $cli convert "tests/zoo/$m.onnx" --calib "tests/zoo/$m.calib.npy" -o "$eqm" --json > "$work/$m.convert.json"
  fi
  $cli export-onnx "$eqm" -o "$work/$m.qdq.onnx" --activations "$activations" >&2
done

node bench/ort/compare.js --work "$work" --zoo tests/zoo --timer "$timer" --models "$models" \
  --runs "$runs" --rounds "$rounds" --json "$work/results.json" | tee "$work/results.md"
echo "(QDQ models with $activations activations; work files in $work)"
