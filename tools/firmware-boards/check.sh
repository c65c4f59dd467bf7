#!/usr/bin/env bash
# The C runtime on the emulated Cortex-M boards (and host), through `edgequant firmware run`:
# for every zoo golden model (tests/zoo/eqm: the zoo and quirk models, converted by the C#
# converter) the int8 outputs of the board image are byte-identical to the C# runtime's
# (tests/zoo/eqm/<name>.output.bin). Runs the C runtime's per-op golden vectors
# (firmware/tests/test_golden.c over firmware/tests/golden/vectors.bin: the C# reference kernels'
# bytes) on every emulated board, one count per vector, and the recurrent and sparse whole models of
# firmware/tests/golden on every sample of their test data on the M4 and M55. Also checks the size targets on the M4 (mps2-an386):
# runtime code <= 24 KB, runtime RAM beyond the arena <= 1 KB, stack during eq_invoke <= 2 KB.
#
# Samples: every committed sample of every model on every board (host, mps2-an385 M3,
# mps2-an386 M4, mps2-an505 M33, mps3-an547 M55). EQ_FW_PARTIAL=N limits the M3 and M33 to the
# first N samples of each model (they run the same portable C as host and the same DSP code as
# the M4). Measured 2026-12-03: every sample on the M3 and M33 costs 26 s of CPU more than the
# first 200 (143 s against 117 s for the whole check, with the M3's portable-C kernels; 165 s
# against 123 s before them; most of it fashion_mobilenet and mnist_cnn on the M3, 1000 samples
# each), so full is the default. fashion_resnet and fashion_mobilenetv2 (1000 samples each, merged
# later) add about 42 s of CPU on the two boards against their first 200 (measured per case).
#
# Prints one closing line "N passed, N failed". Run from anywhere; needs the .NET SDK,
# arm-none-eabi-gcc with newlib and qemu-system-arm (.ci/run installs them).
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
partial=${EQ_FW_PARTIAL:-0}
jobs=${EQ_FW_JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export EDGEQUANT_CACHE_DIR="$work/cache" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! dotnet build converter/EdgeQuant.Cli/EdgeQuant.Cli.csproj -c Release -v q -nologo > "$work/build.txt" 2>&1; then
  tail -20 "$work/build.txt"; echo "building the CLI failed"; echo "0 passed, 1 failed"; exit 1
fi
cli=(dotnet converter/EdgeQuant.Cli/bin/Release/net10.0/edgequant.dll)

models=()
for m in tests/zoo/eqm/*.eqm; do models+=("$(basename "$m" .eqm)"); done
if [ ${#models[@]} -eq 0 ]; then echo "no golden models in tests/zoo/eqm"; echo "0 passed, 1 failed"; exit 1; fi

# Warm the runtime object cache once per board, so parallel jobs do not compile it twice.
boards=(host mps2-an386 mps3-an547 mps2-an385 mps2-an505)
for b in "${boards[@]}"; do
  "${cli[@]}" firmware build tests/zoo/eqm/${models[0]}.eqm --board "$b" -o "$work/warm-$b" > "$work/warm-$b.txt" 2>&1 || { cat "$work/warm-$b.txt"; }
done

# One line per case: board, model. Each case writes its verdict to $work/result-<board>-<model>.
run_case() {
  local b=$1 m=$2 first=() n
  local out="$work/out-$b-$m.bin" log="$work/log-$b-$m.txt" res="$work/result-$b-$m"
  if [ "$b" = mps2-an385 ] || [ "$b" = mps2-an505 ]; then [ "$partial" -gt 0 ] && first=(--first "$partial"); fi
  local t0=$(date +%s%N)
  if ! "${cli[@]}" firmware run "tests/zoo/eqm/$m.eqm" --board "$b" --input "tests/zoo/eqm/$m.input.bin" \
       --output "$out" --timeout 600 --json "${first[@]}" > "$log" 2>&1; then
    echo "FAIL $b $m: $(tail -1 "$log")" > "$res"; return
  fi
  local t1=$(date +%s%N)
  n=$(sed -nE 's/.*"samples":([0-9]+).*/\1/p' "$log")
  local size=$(stat -c %s "$out")
  if [ -z "$n" ] || [ "$size" -eq 0 ]; then echo "FAIL $b $m: no samples ran ($(tail -1 "$log"))" > "$res"; return; fi
  if [ ${#first[@]} -eq 0 ] && [ "$size" -ne "$(stat -c %s "tests/zoo/eqm/$m.output.bin")" ]; then
    echo "FAIL $b $m: $size output bytes, golden file has $(stat -c %s "tests/zoo/eqm/$m.output.bin")" > "$res"; return
  fi
  if ! cmp -s -n "$size" "$out" "tests/zoo/eqm/$m.output.bin"; then
    echo "FAIL $b $m: outputs differ from the C# runtime's ($(cmp -n "$size" "$out" "tests/zoo/eqm/$m.output.bin" | head -1))" > "$res"; return
  fi
  local stack=$(sed -nE 's/.*"stack_bytes":([0-9]+).*/\1/p' "$log")
  if [ "$b" = mps2-an386 ] && [ -n "$stack" ] && [ "$stack" -gt 2048 ]; then
    echo "FAIL $b $m: stack high-water mark $stack bytes during eq_invoke, target <= 2048" > "$res"; return
  fi
  printf 'PASS %-11s %-22s %5d samples byte-identical  %6d ms%s\n' "$b" "$m" "$n" "$(( (t1 - t0) / 1000000 ))" "${stack:+  stack $stack B}" > "$res"
}
export -f run_case
export work partial
export cli_dll="${cli[1]}"

for b in "${boards[@]}"; do for m in "${models[@]}"; do echo "$b $m"; done; done \
  | xargs -P "$jobs" -L 1 bash -c 'cli=(dotnet "$cli_dll"); run_case "$0" "$1"'

passed=0; failed=0
for b in "${boards[@]}"; do
  for m in "${models[@]}"; do
    r="$work/result-$b-$m"
    if [ -f "$r" ]; then cat "$r"; else echo "FAIL $b $m: no result"; fi
    if [ -f "$r" ] && grep -q '^PASS' "$r"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
done

# Per-op golden vectors on every emulated board: test_golden.c unchanged, linked with the board
# port (its main gets the semihosting command line), vectors read through semihosting. The four boards build and run
# one after another in the background (about 25 s on one core) while the whole models below run; tallied after them.
fw=firmware
golden_boards=(mps2-an385 mps2-an386 mps2-an505 mps3-an547)
(
for b in "${golden_boards[@]}"; do
  ( . "$fw/boards/$b/board.conf"
    d="$work/golden-$b"; mkdir -p "$d"
    printf 'MEMORY {\n  FLASH (rx) : ORIGIN = %s, LENGTH = %s\n  RAM (rwx) : ORIGIN = %s, LENGTH = %s\n}\n__eq_stack_bytes = %s;\n__eq_heap_bytes = 8192;\n' \
      "$flash_origin" "$flash_bytes" "$ram_origin" "$ram_bytes" "$stack_bytes" > "$d/memory.ld"
    dsp=(); ls $fw/src/kernels/*_dsp.c > /dev/null 2>&1 && dsp=(-DEQ_WITH_DSP_KERNELS=1)
    mve=(); ls $fw/src/kernels/*_mve.c > /dev/null 2>&1 && mve=(-DEQ_WITH_MVE_KERNELS=1)
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $cflags -std=c99 -Os -Wall -Wextra -ffunction-sections -fdata-sections "${dsp[@]}" "${mve[@]}" \
      -I$fw/include -I$fw/src -I$fw/src/kernels -I$fw/tools -I$fw/boards/common --specs=rdimon.specs -nostartfiles \
      $(find $fw/src -name '*.c' | sort) $fw/tools/eq_run_io_stdio.c $fw/tests/test_golden.c $fw/boards/common/startup.c $fw/boards/common/stack.c \
      -L"$d" -T$fw/boards/common/cortex-m.ld -Wl,--gc-sections -o "$d/test_golden.elf" > "$d/build.txt" 2>&1 || { cat "$d/build.txt"; exit 1; }
    cd $fw/tests/golden && timeout 600 qemu-system-arm -M "$qemu_machine" -nographic -monitor none \
      -semihosting-config enable=on,target=native,arg=test_golden,arg=vectors.bin -kernel "$d/test_golden.elf"
  ) > "$work/golden-$b.txt" 2>&1
  echo $? > "$work/golden-$b.rc"
done
) &
golden_pid=$!

# Whole models with the op families the zoo golden set does not use (firmware/tests/golden, README.md there):
# digits_gru and digits_lstm with int8 and int4 weights (ops 23-26) and mnist_cnn pruned to sparse rows (ops 53-54)
# on the M4 and the M55: every float test sample through `firmware run` gives the bytes of `edgequant run`. (The M3
# and M33 run the same C; test_golden (above) runs 3 samples of each of these models on them too.) About 60 s of
# wall time with the runtime compiled for the three op-family combinations on the two boards.
extra_fail=0; extra_pass=0
for spec in "digits_gru tests/zoo/digits_gru.test.npy" "digits_gru.int4 tests/zoo/digits_gru.test.npy" \
            "digits_lstm tests/zoo/digits_gru.test.npy" "digits_lstm.int4 tests/zoo/digits_gru.test.npy" \
            "mnist_cnn.sparse tests/zoo/mnist_cnn.test.npy"; do
  set -- $spec; m=$1; x=$2
  if ! "${cli[@]}" run "firmware/tests/golden/$m.eqm" --input "$x" --output "$work/want-$m.npy" > "$work/want-$m.txt" 2>&1; then
    echo "FAIL edgequant run $m: $(tail -1 "$work/want-$m.txt")"; extra_fail=$((extra_fail + 1)); continue
  fi
  for b in mps2-an386 mps3-an547; do
    if "${cli[@]}" firmware run "firmware/tests/golden/$m.eqm" --board "$b" --input "$x" --output "$work/got-$b-$m.npy" --timeout 600 --json > "$work/got-$b-$m.txt" 2>&1 \
       && cmp -s "$work/want-$m.npy" "$work/got-$b-$m.npy"; then
      echo "PASS $b $m: $(sed -nE 's/.*"samples":([0-9]+).*/\1/p' "$work/got-$b-$m.txt") samples byte-identical to edgequant run"; extra_pass=$((extra_pass + 1))
    else
      echo "FAIL $b $m: $(tail -1 "$work/got-$b-$m.txt")"; extra_fail=$((extra_fail + 1))
    fi
  done
done
passed=$((passed + extra_pass)); failed=$((failed + extra_fail))

wait "$golden_pid"
for b in "${golden_boards[@]}"; do
  rc=$(cat "$work/golden-$b.rc" 2>/dev/null || echo 1)
  line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$work/golden-$b.txt" | tail -1)
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then echo "FAIL golden vectors on $b: $line"; grep FAIL "$work/golden-$b.txt" | head -20; else echo "PASS golden vectors on $b: $line"; fi
  else
    failed=$((failed + 1)); echo "FAIL golden vectors on $b (exit $rc, no summary)"; tail -20 "$work/golden-$b.txt"
  fi
done

# Size targets on the M4, per model: runtime code, runtime RAM beyond the arena.
echo "== sizes on mps2-an386 (Cortex-M4, -Os)"
printf '%-24s %10s %10s %10s %10s %10s %10s\n' model code_bytes model_bytes ram_bytes arena runtime_ram stack_bytes
codes=()
for m in "${models[@]}"; do
  j="$work/size-$m.json"
  if ! "${cli[@]}" firmware build "tests/zoo/eqm/$m.eqm" --board mps2-an386 -o "$work/size-$m" --json > "$j" 2> "$j.err"; then
    echo "FAIL size $m: $(tail -1 "$j.err")"; failed=$((failed + 1)); continue
  fi
  get() { sed -nE "s/.*\"$1\": ([0-9]+).*/\1/p" "$j" | head -1; }
  code=$(get code_bytes); mb=$(get model_bytes); ram=$(get ram_bytes); ar=$(get arena_bytes); rt=$(get runtime_ram_bytes); st=$(get stack_bytes)
  printf '%-24s %10s %10s %10s %10s %10s %10s\n' "$m" "$code" "$mb" "$ram" "$ar" "$rt" "$st"
  codes+=("$code")
  if [ "$rt" -le 1024 ] && [ "$st" -le 2048 ]; then passed=$((passed + 1)); else
    echo "FAIL size $m: runtime RAM beyond the arena $rt bytes (target <= 1024), stack during eq_invoke $st bytes (target <= 2048)"; failed=$((failed + 1)); fi
done
# The runtime's code does not depend on the model (every op is linked): one verdict.
code=$(printf '%s\n' "${codes[@]}" | sort -n | tail -1)
if [ -n "$code" ] && [ "$code" -le 24576 ]; then passed=$((passed + 1)); echo "PASS runtime code on the M4: $code bytes (target <= 24576)"; else
  failed=$((failed + 1)); echo "FAIL runtime code on the M4: ${code:-?} bytes, target <= 24576 (runtime and kernels, .text + .rodata, -Os)"; fi

echo "firmware-boards: $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
