#!/usr/bin/env bash
# Firmware kernels check (CI): builds the qemu instruction-counting plugin, runs the fast kernels'
# bit-exactness tests on the emulated M3 (portable-C paths), M4, M33 and M55 boards and on the host
# (portable-C paths under ASan+UBSan), runs the four layer benchmarks of issue 8 (the runtime's
# dispatcher vs the reference kernel, outputs compared, stack high-water under 2 KB) built -O2 and
# -Os on M3/M4/M33/M55, a second time on the M4 to confirm the counts are deterministic, and prints
# the instructions-per-MAC table beside CMSIS-NN's figures (docs/firmware-performance.md).
# Ends with "N passed, N failed". Needs a host C compiler (gcc or clang), arm-none-eabi-gcc + newlib,
# qemu-system-arm (.ci/run installs them).
set -uo pipefail
cd "$(dirname "$0")/../.."
bench=firmware/bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# The plugin is built with the host C compiler: gcc, or clang (which .ci/run installs).
cc=$(command -v gcc || command -v clang || true)
[ -n "$cc" ] || { echo "missing a host C compiler (apt-get install gcc or clang)"; echo "0 passed, 1 failed"; exit 1; }
for tool in arm-none-eabi-gcc qemu-system-arm; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"; echo "0 passed, 1 failed"; exit 1; }
done

if "$cc" -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror -o "$out/libcount.so" $bench/plugin/count.c; then pass; else fail "plugin build"; fi

. $bench/boards.sh
for b in mps2-an385 mps2-an386 mps2-an505 mps3-an547; do
  echo "== kernel tests on $b"
  $bench/test.sh "$b" "$out/build" > "$out/test-$b.txt" 2>&1
  rc=$?
  grep -v "^[0-9]* passed, [0-9]* failed$" "$out/test-$b.txt" | tail -8
  counts=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$out/test-$b.txt" | tail -1)
  if [ -z "$counts" ]; then fail "kernel tests on $b did not finish (rc $rc)"; tail -20 "$out/test-$b.txt"; continue; fi
  p=${counts%% passed*}; f=${counts#*passed, }; f=${f%% failed*}
  passed=$((passed + p)); failed=$((failed + f))
  [ "$rc" -eq 0 ] || [ "$f" -ne 0 ] || fail "kernel tests on $b exited $rc"
done

# The portable-C paths on the host too, under AddressSanitizer and UndefinedBehaviorSanitizer
# (the same tests; the host board port; EQ_WITH_C_KERNELS=1 selects them on x86).
echo "== kernel tests on the host (portable-C paths, ASan+UBSan)"
hostflags="-std=c99 -O1 -g -Wall -Wextra -Werror -Wno-format-truncation -DEQ_WITH_C_KERNELS=1 -Ifirmware/include -Ifirmware/src -Ifirmware/src/kernels -Ifirmware/boards/common -I$bench"
hostsrc="$bench/kernel_tests.c firmware/boards/host/board_host.c firmware/src/quant_math.c $(ls firmware/src/kernels/*.c | tr '\n' ' ')"
# shellcheck disable=SC2086
if "$cc" $hostflags -fsanitize=address,undefined -fno-sanitize-recover=all $hostsrc -o "$out/kt_host" > "$out/kt_host.txt" 2>&1 \
   || { echo "(sanitizers unavailable: plain build)"; "$cc" $hostflags $hostsrc -o "$out/kt_host" > "$out/kt_host.txt" 2>&1; }; then
  "$out/kt_host" > "$out/test-host.txt" 2>&1
  rc=$?
  counts=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$out/test-host.txt" | tail -1)
  if [ -z "$counts" ]; then fail "host kernel tests did not finish (rc $rc)"; tail -20 "$out/test-host.txt"
  else
    p=${counts%% passed*}; f=${counts#*passed, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -eq 0 ] || grep FAIL "$out/test-host.txt" | head -10
    [ "$rc" -eq 0 ] || [ "$f" -ne 0 ] || fail "host kernel tests exited $rc"
  fi
else
  fail "host kernel tests build"; cat "$out/kt_host.txt"
fi

# The C equivalents of the assembly loops (what clang builds): the same tests on the M4 and the M55.
for b in mps2-an386 mps3-an547; do
  echo "== kernel tests on $b without the assembly loops (EQ_OPT_NO_ASM=1)"
  EQ_BENCH_CFLAGS=-DEQ_OPT_NO_ASM=1 $bench/test.sh "$b" "$out/build-noasm" > "$out/test-noasm-$b.txt" 2>&1
  rc=$?
  counts=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$out/test-noasm-$b.txt" | tail -1)
  if [ -z "$counts" ]; then fail "no-asm kernel tests on $b did not finish (rc $rc)"; tail -20 "$out/test-noasm-$b.txt"; continue; fi
  p=${counts%% passed*}; f=${counts#*passed, }; f=${f%% failed*}
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -eq 0 ] || grep FAIL "$out/test-noasm-$b.txt" | head -10
  [ "$rc" -eq 0 ] || [ "$f" -ne 0 ] || fail "no-asm kernel tests on $b exited $rc"
done

# The kernels also compile with clang for the M3, the M4 and the M55 (-Werror; compile only: no clang
# runtime library for Cortex-M here).
if command -v clang >/dev/null; then
  root=$(pwd)
  for cpu in "cortex-m3 -mfloat-abi=soft" "cortex-m4 -mfloat-abi=soft" "cortex-m55 -mfloat-abi=hard"; do
    mkdir -p "$out/clang"
    # shellcheck disable=SC2086
    if (cd "$out/clang" && clang --target=arm-none-eabi -mcpu=$cpu -mthumb -std=c99 -Wall -Wextra -pedantic -Werror \
         -Wno-keyword-macro -O2 -DEQ_WITH_DSP_KERNELS=1 -DEQ_WITH_MVE_KERNELS=1 -I"$root/firmware/include" \
         -I"$root/firmware/src" -I"$root/firmware/src/kernels" -isystem /usr/lib/arm-none-eabi/include \
         -c "$root"/firmware/src/kernels/*_dsp.c "$root"/firmware/src/kernels/*_mve.c "$root"/firmware/src/kernels/*_c.c) > "$out/clang.txt" 2>&1; then
      pass
    else
      fail "clang build for ${cpu%% *}"; cat "$out/clang.txt"
    fi
  done
fi

echo "== layer benchmarks (executed instructions per MAC, counted by the TCG plugin)"
for b in $EQ_BOARDS; do
  if $bench/run.sh "$b" "$out/libcount.so" "$out/build" > "$out/bench-$b.txt" 2>&1; then pass; else fail "bench on $b"; cat "$out/bench-$b.txt"; continue; fi
  # The kernels' stack budget during eq_invoke is 2 KB.
  while read -r line; do
    s=${line##*stack=}
    if [ "${s:-0}" -gt 2048 ]; then fail "stack above 2 KB: $line"; else pass; fi
  done < <(grep " opt " "$out/bench-$b.txt")
  while read -r line; do
    case "$line" in *" opt "*match=1*) pass ;; *" opt "*) fail "bench output differs from the reference: $line" ;; esac
  done < "$out/bench-$b.txt"
done
# The same at -Os, the flags of the firmware images (edgequant firmware build): the kernels' speed
# in the size-optimized build the 24 KB code budget is measured on.
for b in mps2-an385 mps2-an386 mps2-an505 mps3-an547; do
  if EQ_BENCH_OPT=-Os $bench/run.sh "$b" "$out/libcount.so" "$out/build-os" > "$out/bench-os-$b.txt" 2>&1; then pass; else fail "-Os bench on $b"; cat "$out/bench-os-$b.txt"; continue; fi
  while read -r line; do
    case "$line" in *" opt "*match=1*) pass ;; *" opt "*) fail "-Os bench output differs from the reference: $line" ;; esac
  done < "$out/bench-os-$b.txt"
  sed -i 's/ opt / opt_os /; s/ ref / ref_os /' "$out/bench-os-$b.txt"
done
# Determinism: a second run on the M4 must count exactly the same instructions.
if $bench/run.sh mps2-an386 "$out/libcount.so" "$out/build2" > "$out/bench-again.txt" 2>&1 \
   && cmp -s "$out/bench-mps2-an386.txt" "$out/bench-again.txt"; then pass; else fail "counts differ between two runs"; fi

# CMSIS-NN v7 figures from issue 8 (M3 plain C, M4 DSP, M55 MVE).
awk '
  BEGIN {
    t["conv3x3","mps2-an385"]=3.06; t["conv3x3","mps2-an386"]=2.14; t["conv3x3","mps3-an547"]=0.33
    t["conv1x1","mps2-an385"]=3.67; t["conv1x1","mps2-an386"]=2.71; t["conv1x1","mps3-an547"]=0.61
    t["depthwise3x3","mps2-an385"]=9.78; t["depthwise3x3","mps2-an386"]=8.74; t["depthwise3x3","mps3-an547"]=2.69
    t["fully_connected","mps2-an385"]=3.53; t["fully_connected","mps2-an386"]=2.08; t["fully_connected","mps3-an547"]=0.53
  }
  { split($6, a, "="); v[$2, $1, $3] = a[2]; split($8, st, "="); if ($3 == "opt") stk[$2, $1] = st[2] }
  END {
    printf "%-16s %-11s %9s %9s %9s %9s %6s\n", "layer", "board", "-O2", "-Os", "reference", "CMSIS-NN", "stack"
    n = split("conv3x3 conv1x1 depthwise3x3 fully_connected", L, " ")
    m = split("mps2-an385 mps2-an386 mps2-an505 mps3-an547", B, " ")
    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
      c = ((L[i], B[j]) in t) ? sprintf("%.2f", t[L[i], B[j]]) : "-"
      os = ((L[i], B[j], "opt_os") in v) ? v[L[i], B[j], "opt_os"] : "-"
      printf "%-16s %-11s %9s %9s %9s %9s %6s\n", L[i], B[j], v[L[i], B[j], "opt"], os, v[L[i], B[j], "ref"], c, stk[L[i], B[j]]
    }
  }' "$out"/bench-mps2-an385.txt "$out"/bench-mps2-an386.txt "$out"/bench-mps2-an505.txt "$out"/bench-mps3-an547.txt \
      "$out"/bench-os-*.txt
echo "instructions per MAC: executed guest instructions of one layer call / its MACs (qemu TCG plugin, exact and"
echo "deterministic) through the runtime's dispatcher (M3: the portable-C paths), kernels built -O2 and -Os;"
echo "reference = the reference kernel (-O2); stack = the dispatcher's high-water mark in bytes (-O2)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
