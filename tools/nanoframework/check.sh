#!/usr/bin/env bash
# CI check of the nanoFramework face (docs/nanoframework.md):
#  1. the native interop module (firmware/nanoframework) added the way nf-interpreter adds an interop
#     assembly (interop-build/: find_package on FindINTEROP-EdgeQuant.NanoFramework.cmake), compiled with
#     the nanoCLR interop declarations of shim/ for the host (g++, ASan + UBSan) and for Cortex-M4
#     (arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb);
#  2. the host harness calling the entry points as nanoCLR would, on every zoo golden file;
#  3. the nanoFramework API check bites: a probe using Span<T> against nanoFramework's mscorlib fails
#     to compile (for that reason only), the same probe without it compiles.
# Prints "N passed, N failed" (the harness's own cases plus one per build step).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
start=$(date +%s)

# 1 + 2: host build through the CMake module, then the harness.
if cmake -S "$here/interop-build" -B "$work/host" -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
     -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
     -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > "$work/host-config.txt" 2>&1 \
   && cmake --build "$work/host" -j 2 > "$work/host-build.txt" 2>&1; then
  pass "host build (g++/gcc, ASan+UBSan) through FindINTEROP-EdgeQuant.NanoFramework.cmake"
  names=$(cd "$root/tests/zoo/eqm" && ls *.eqm | sed 's/\.eqm$//')
  # shellcheck disable=SC2086
  (cd "$root/tests/zoo/eqm" && timeout 600 "$work/host/harness" . $names) > "$work/harness.txt" 2>&1
  rc=$?
  cat "$work/harness.txt" | grep -v "^[0-9]* passed, [0-9]* failed$"
  line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$work/harness.txt" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed$/\1/')))
  fi
  if [ "$rc" -ne 0 ] && { [ -z "$line" ] || echo "$line" | grep -q " 0 failed"; }; then fail "harness exited with $rc"; fi
else
  cat "$work/host-config.txt" "$work/host-build.txt" | tail -40
  fail "host build"
fi

# 1: Cortex-M4 build of the same library (module + C runtime), no harness.
if command -v arm-none-eabi-g++ > /dev/null; then
  if cmake -S "$here/interop-build" -B "$work/arm" -DCMAKE_TOOLCHAIN_FILE="$here/interop-build/arm-none-eabi.cmake" \
       -DCMAKE_BUILD_TYPE=MinSizeRel -DEQ_NF_HARNESS=OFF > "$work/arm-config.txt" 2>&1 \
     && cmake --build "$work/arm" -j 2 > "$work/arm-build.txt" 2>&1; then
    pass "Cortex-M4 build (arm-none-eabi-g++ -mcpu=cortex-m4 -mthumb -Os)"
    echo "     Cortex-M4 -Os text bytes: interop entry points and table $(cd "$work/arm" && find . -name "edgequant_nanoframework*.obj" -exec arm-none-eabi-size {} + | awk 'NR > 1 { t += $1 } END { print t }'),"\
      "whole library with the C runtime $(arm-none-eabi-size -t "$work/arm/libNF_NativeAssemblies.a" | tail -1 | awk '{ print $1 }')"
  else
    cat "$work/arm-config.txt" "$work/arm-build.txt" | tail -40
    fail "Cortex-M4 build"
  fi
  # The same library with every optional op family left out (EQ_NF_WITH_*=OFF): it must build and be smaller.
  if cmake -S "$here/interop-build" -B "$work/arm-int8" -DCMAKE_TOOLCHAIN_FILE="$here/interop-build/arm-none-eabi.cmake" \
       -DCMAKE_BUILD_TYPE=MinSizeRel -DEQ_NF_HARNESS=OFF -DEQ_NF_WITH_EXTENDED_OPS=OFF -DEQ_NF_WITH_COMPRESSED_WEIGHTS=OFF \
       -DEQ_NF_WITH_MIXED_PRECISION=OFF -DEQ_NF_WITH_DYNAMIC_OPS=OFF -DEQ_NF_WITH_RECURRENT=OFF -DEQ_NF_WITH_SPARSE_WEIGHTS=OFF -DEQ_NF_WITH_COMPRESSED_ARRAYS=OFF > "$work/arm-int8-config.txt" 2>&1 \
     && cmake --build "$work/arm-int8" -j 2 > "$work/arm-int8-build.txt" 2>&1; then
    full=$(arm-none-eabi-size -t "$work/arm/libNF_NativeAssemblies.a" 2>/dev/null | tail -1 | awk '{ print $1 }')
    lean=$(arm-none-eabi-size -t "$work/arm-int8/libNF_NativeAssemblies.a" | tail -1 | awk '{ print $1 }')
    if [ -n "$full" ] && [ "$lean" -lt "$full" ]; then
      pass "Cortex-M4 build with the optional op families off (EQ_NF_WITH_*=OFF): $lean text bytes against $full"
    else
      fail "Cortex-M4 build with the optional op families off is not smaller ($lean against ${full:-no full build})"
    fi
  else
    cat "$work/arm-int8-config.txt" "$work/arm-int8-build.txt" | tail -40
    fail "Cortex-M4 build with the optional op families off"
  fi
else
  fail "Cortex-M4 build: arm-none-eabi-g++ not installed (.ci/run installs gcc-arm-none-eabi)"
fi

# 3: the API check bites.
probe="$here/api-probe/ApiProbe.csproj"
if dotnet build "$probe" -c Release -o "$work/probe-ok" > "$work/probe-ok.txt" 2>&1; then
  pass "probe without missing APIs compiles against nanoFramework's mscorlib"
else
  tail -20 "$work/probe-ok.txt"; fail "probe without missing APIs"
fi
if dotnet build "$probe" -c Release -o "$work/probe-bad" -p:EqProbeMissingApi=true > "$work/probe-bad.txt" 2>&1; then
  fail "probe using Span<T> compiled against nanoFramework's mscorlib: the API check does not bite"
elif grep -q "MissingApi.cs.*error CS0234.*'Span<>'" "$work/probe-bad.txt" && [ "$(grep -c ": error " "$work/probe-bad.txt")" -eq "$(grep -c "error CS0234.*'Span<>'" "$work/probe-bad.txt")" ]; then
  pass "probe using Span<T> fails: $(grep -o "error CS0234[^[]*'Span<>'[^[]*" "$work/probe-bad.txt" | head -1)"
else
  grep -E "error" "$work/probe-bad.txt" | head -10
  fail "probe using Span<T> failed, but not (only) because the APIs are missing"
fi

echo "check took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
