#!/usr/bin/env bash
# Deterministic instruction counts of EdgeQuant's C# runtime per inference, under user-mode qemu with
# a counting plugin (bench/arm64/count_threads.c): the linux-arm64 build as a Cortex-A76 (Raspberry Pi 5:
# AdvSimd + Dp/SDOT) and a Cortex-A72 (Pi 4: AdvSimd, no SDOT), and optionally the linux-x64 build
# under qemu-x86_64 -cpu max (its AVX2 paths; qemu 7.2 emulates no AVX-512) for comparison. qemu has
# no timing model: these are executed-instruction counts of the main thread.
#
# Every run also checks its output against the zoo's golden output (tests/zoo/eqm/<model>.output.bin,
# made by the x64 runtime) and fails on any difference. `--models blazeface` adds the zoo's real pretrained
# detector (tests/zoo/blazeface, no committed blob): converted here as the Pi pipeline converts it (MSE), its
# first test frame as input, and its golden outputs (all four) computed by this x64 build on the host.
#
# The runner (bench/EdgeQuant.InstructionCount) compiles everything first (DOTNET_TieredCompilation=0:
# every method compiled once, fully optimised), then brackets N Invokes (and, with --per-op, N runs
# of each op alone) between getppid system calls, which the plugin turns into snapshots of the
# thread's count: one inference = (difference - cost of an empty bracket) / N, from one run.
#
# usage: bench/count.sh [--cpus cortex-a76,cortex-a72,x64] [--models m1,m2|...,blazeface] [--invokes 20] [--per-op] [--keep DIR] [--json]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cpus=cortex-a76,cortex-a72
models=digits_mlp,mnist_cnn,fashion_mobilenet,imu_gesture,fashion_resnet,fashion_mobilenetv2
n=20; keep=""; json=0; perop=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cpus) cpus=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --invokes) n=$2; shift 2 ;;
    --per-op) perop=1; shift ;;
    --keep) keep=$2; shift 2 ;;
    --json) json=1; shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 1 ;;
  esac
done
work=${keep:-$(mktemp -d /tmp/eq-count.XXXXXX)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
log() { [ $json = 1 ] || echo "$@" >&2; }

gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$work/libcountthreads.so" "$root/bench/arm64/count_threads.c"
proj=$root/bench/EdgeQuant.InstructionCount
log "building the runner"
dotnet build "$proj" -c Release -o "$work/host" -v q -nologo > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
need_arm=0; need_x64=0
IFS=, read -ra cpu_list <<< "$cpus"
for c in "${cpu_list[@]}"; do case $c in cortex-*) need_arm=1 ;; x64) need_x64=1 ;; *) echo "unknown cpu $c" >&2; exit 1 ;; esac; done
if [ $need_arm = 1 ]; then
  log "publishing the runner for linux-arm64"
  dotnet publish "$proj" -c Release -r linux-arm64 --self-contained -o "$work/arm64" -v q -nologo > "$work/publish-arm64.log" 2>&1 \
    || { cat "$work/publish-arm64.log" >&2; exit 1; }
fi
if [ $need_x64 = 1 ]; then
  log "publishing the runner for linux-x64"
  dotnet publish "$proj" -c Release -r linux-x64 --self-contained -o "$work/x64" -v q -nologo > "$work/publish-x64.log" 2>&1 \
    || { cat "$work/publish-x64.log" >&2; exit 1; }
fi

export DOTNET_EnableWriteXorExecute=0 DOTNET_TieredCompilation=0 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_gcServer=0

# files MODEL -> "blob input output" (the zoo's committed files, or BlazeFace's made here once)
files() {
  if [ "$1" != blazeface ]; then
    echo "$root/tests/zoo/eqm/$1.eqm $root/tests/zoo/eqm/$1.input.bin $root/tests/zoo/eqm/$1.output.bin"
    return
  fi
  if [ ! -f "$work/blazeface.output.bin" ]; then
    local bf=$root/tests/zoo/blazeface
    log "converting BlazeFace (MSE) and computing its golden outputs on the host"
    dotnet build "$root/converter/EdgeQuant.Cli" -c Release -o "$work/cli" -v q -nologo > "$work/cli-build.log" 2>&1 \
      || { cat "$work/cli-build.log" >&2; exit 1; }
    dotnet "$work/cli/edgequant.dll" convert "$bf/face_detection_front_128x128_barracuda.onnx" --calib "$bf/blazeface.calib.npy" \
      --method mse --pixels 0.5,0.5,0.5,0.5,0.5,0.5 -o "$work/blazeface.eqm" > "$work/convert.log" 2>&1 || { cat "$work/convert.log" >&2; exit 1; }
    /usr/bin/python3 -c 'import sys, numpy as np; (np.load(sys.argv[1])[0].astype(np.float32) / 127.5 - 1).astype("<f4").tofile(sys.argv[2])' \
      "$bf/blazeface.frames.npy" "$work/blazeface.f32"
    dotnet "$work/host/eq-count.dll" --golden "$work/blazeface.eqm" "$work/blazeface.f32" "$work/blazeface.input.bin" "$work/blazeface.output.bin"
  fi
  echo "$work/blazeface.eqm $work/blazeface.input.bin $work/blazeface.output.bin"
}

# run CPU MODEL -> writes $work/CPU-MODEL.counts: line 1 = per inference, then per op (index count)
run() {
  local cpu=$1 m=$2 out=$work/$1-$2
  local q args
  case $cpu in
    x64) q=qemu-x86_64; args=(-cpu max -plugin "$work/libcountthreads.so,syscall=110" -d plugin -D "$out.log" "$work/x64/eq-count") ;;
    *) q=qemu-aarch64; args=(-cpu "$cpu" -L /usr/aarch64-linux-gnu -plugin "$work/libcountthreads.so,syscall=173" -d plugin -D "$out.log" "$work/arm64/eq-count") ;;
  esac
  local extra=(); [ $perop = 1 ] && extra=(--per-op)
  local f; read -ra f <<< "$(files "$m")"
  timeout 1800 "$q" "${args[@]}" "${f[0]}" "${f[1]}" "${f[2]}" "$n" "${extra[@]}" > "$out.txt" 2>&1 \
    || { echo "FAILED: $cpu $m" >&2; cat "$out.txt" >&2; return 1; }
  # Marks of the main thread (vCPU 0): 0-1 an empty bracket, 2-3 the Invokes, then 2 per op.
  awk -v n="$n" '$1 == "eq-mark" && $3 == 0 { c[k++] = $4 }
    END { if (k < 4) { print "too few marks" > "/dev/stderr"; exit 1 }
          e = c[1] - c[0]; printf "%d\n", (c[3] - c[2] - e) / n
          for (i = 4; i + 1 < k; i += 2) printf "%d %d\n", (i - 4) / 2, (c[i + 1] - c[i] - e) / n }' "$out.log" > "$out.counts"
}

IFS=, read -ra model_list <<< "$models"
rows=()
if [ $json = 0 ]; then
  printf '%-22s %10s' model MACs
  for c in "${cpu_list[@]}"; do printf ' %16s %8s' "$c instr/inf" "per MAC"; done
  echo
fi
for m in "${model_list[@]}"; do
  read -ra mf <<< "$(files "$m")"
  [ -f "${mf[0]}" ] && [ -f "${mf[2]}" ] || { echo "no blob or golden output for $m" >&2; exit 1; }
  macs=$(dotnet "$work/host/eq-count.dll" --macs "${mf[0]}")
  line=$(printf '%-22s %10s' "$m" "$macs")
  entry="\"model\": \"$m\", \"macs\": $macs"
  for c in "${cpu_list[@]}"; do
    run "$c" "$m"
    per=$(head -1 "$work/$c-$m.counts")
    ratio=$(awk -v p="$per" -v m="$macs" 'BEGIN { printf "%.3f", (m > 0 ? p / m : 0) }')
    line+=$(printf ' %16s %8s' "$per" "$ratio")
    entry+=", \"$c\": {\"instructions_per_inference\": $per, \"instructions_per_mac\": $ratio"
    if [ $perop = 1 ]; then
      entry+=", \"ops\": ["
      sep=""
      while read -r k cnt; do entry+="$sep{\"index\": $k, \"instructions\": $cnt}"; sep=", "; done < <(tail -n +2 "$work/$c-$m.counts")
      entry+="]"
    fi
    entry+="}"
  done
  rows+=("{$entry}")
  if [ $json = 0 ]; then
    echo "$line"
    if [ $perop = 1 ]; then
      dotnet "$work/host/eq-count.dll" --macs "${mf[0]}" --per-op > "$work/$m.ops"
      while read -r k type opmacs; do
        l=$(printf '    %3d %-18s %10s' "$k" "$type" "$opmacs")
        for c in "${cpu_list[@]}"; do
          cnt=$(awk -v k="$k" '$1 == k { print $2 }' <(tail -n +2 "$work/$c-$m.counts"))
          l+=$(printf ' %16s %8s' "$cnt" "$(awk -v p="$cnt" -v m="$opmacs" 'BEGIN { if (m > 0) printf "%.3f", p / m }')")
        done
        echo "$l"
      done < "$work/$m.ops"
    fi
  fi
done
if [ $json = 1 ]; then
  printf '{"invokes": %d, "models": [' "$n"
  sep=""; for r in "${rows[@]}"; do printf '%s%s' "$sep" "$r"; sep=", "; done
  echo "]}"
fi
