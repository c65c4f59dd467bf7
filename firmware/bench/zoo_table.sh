#!/usr/bin/env bash
# The per-model firmware table of docs/firmware.md: for every zoo golden model (tests/zoo/eqm/*.eqm)
# on each board given (default: the M4 mps2-an386 and the M55 mps3-an547), `edgequant firmware
# bench MODEL --board B --samples N --input MODEL.input.bin --json` (N = 8, the committed samples
# every zoo model has at least), printed as one markdown table: the sizes `firmware build` reports
# and the executed instructions per inference (mean over the N samples) and per MAC.
# usage: firmware/bench/zoo_table.sh [BOARD...]   (from anywhere; builds the CLI first)
set -euo pipefail
cd "$(dirname "$0")/../.."
boards=("$@")
[ ${#boards[@]} -gt 0 ] || boards=(mps2-an386 mps3-an547)
samples=${EQ_BENCH_SAMPLES:-8}
dotnet build converter/EdgeQuant.Cli/EdgeQuant.Cli.csproj -c Release -v q -nologo > /dev/null
cli=(dotnet converter/EdgeQuant.Cli/bin/Release/net10.0/edgequant.dll)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| model | board | ops | MACs | code_bytes | model_bytes | ram_bytes (arena + static) | arena_bytes | stack_bytes | instructions / inference | instructions / MAC |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in tests/zoo/eqm/*.eqm; do
  n=$(basename "$m" .eqm)
  for b in "${boards[@]}"; do
    "${cli[@]}" firmware bench "$m" --board "$b" --samples "$samples" --input "tests/zoo/eqm/$n.input.bin" --json > "$work/$n-$b.json"
    /usr/bin/python3 - "$work/$n-$b.json" "$n" "$b" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
p = j["per_inference"]
ipm = "-" if p["instructions_per_mac"] is None else f'{p["instructions_per_mac"]:.2f}'
print(f'| {sys.argv[2]} | {sys.argv[3]} | {len(j["ops"])} | {p["macs"]:,} | {j["code_bytes"]:,} | {j["model_bytes"]:,} | {j["ram_bytes"]:,} | '
      f'{j["arena_bytes"]:,} | {j["stack_bytes"]:,} | {round(p["instructions"]):,} | {ipm} |')
PY
  done
done
