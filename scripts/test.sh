#!/usr/bin/env bash
# Builds EdgeQuant in Release and runs every test project, then the extra checks.
# Prints one closing line "N passed, N failed" and exits non-zero if anything failed.
# This is the README's test command; .ci/run installs the prerequisites and calls it.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log=$(mktemp -d)
passed=0
failed=0

if ! dotnet build EdgeQuant.sln -c Release 2>&1 | tee "$log/build.txt" | grep -E "error|Warn|Elapsed" ; then :; fi
if ! grep -q "Build succeeded" "$log/build.txt"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# One test project's run, its console output to $log/NAME.txt.
run_project() {
  dotnet test "$1" -c Release --no-build --logger "console;verbosity=minimal" > "$log/$(basename "$1" .csproj).txt" 2>&1
}
# The converter's tests keep about one core busy for five minutes; they run beside the other projects
# (each also about one core), on the two cores of the machines this runs on. They share no files:
# every test writes only under its own temporary names.
beside=tests/EdgeQuant.Converter.Tests/EdgeQuant.Converter.Tests.csproj
names=$(for proj in tests/EdgeQuant.*.Tests/*.csproj; do basename "$proj" .csproj; done)
# On a CPU with AVX-512, the runtime's tests once more with the JIT's AVX-512 and AVX-VNNI switched off: the AVX2 kernels,
# which AVX2-only machines run, are then tested on every machine, not only where the CPU picks them (about 2 minutes,
# after the converter's tests, beside the other projects; the AVX-512 tests report themselves as not run there).
avx2_only=0
grep -q -w avx512bw /proc/cpuinfo 2>/dev/null && avx2_only=1
run_avx2_only() {
  DOTNET_EnableAVX512=0 DOTNET_EnableAVXVNNI=0 dotnet test tests/EdgeQuant.Runtime.Tests/EdgeQuant.Runtime.Tests.csproj -c Release --no-build \
    --logger "console;verbosity=minimal" > "$log/EdgeQuant.Runtime.Tests.AVX2-only.txt" 2>&1
}
[ $avx2_only = 1 ] && names="$names EdgeQuant.Runtime.Tests.AVX2-only"
t0=$SECONDS
{ run_project "$beside"; [ $avx2_only = 0 ] || run_avx2_only; } &
beside_pid=$!
for proj in tests/EdgeQuant.*.Tests/*.csproj; do
  [ "$proj" = "$beside" ] || run_project "$proj"
done
wait "$beside_pid"
echo "test projects took $((SECONDS - t0)) s"

for name in $names; do
  echo "== $name"
  grep -E "^\s*(Failed|Passed!|Failed!)|Error Message|Total tests" "$log/$name.txt" || true
  # VSTest's summary line: "Passed!  - Failed:     0, Passed:    46, Skipped:     0, Total:    46"
  line=$(grep -E "(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+" "$log/$name.txt" | tail -1)
  if [ -z "$line" ]; then
    echo "$name: no test summary (the test run crashed?)"
    tail -30 "$log/$name.txt"
    failed=$((failed + 1))
    continue
  fi
  f=$(echo "$line" | sed -E 's/.*Failed: +([0-9]+),.*/\1/')
  p=$(echo "$line" | sed -E 's/.*Passed: +([0-9]+),.*/\1/')
  passed=$((passed + p))
  failed=$((failed + f))
done

# Extra checks that are not NUnit tests (C tests, emulated runs, publish checks).
# A check that prints its own closing line "N passed, N failed" is counted by that line (and one
# more failure if it exits non-zero without reporting one); otherwise it counts as one test.
# firmware-kernels (C and qemu-system-arm only: no .NET build, no shared files, instruction counts
# that do not depend on time) runs beside firmware-host, which keeps about one core busy.
beside_check=tools/firmware-kernels/check.sh
beside_with=tools/firmware-host/check.sh
run_check() {
  local t0=$SECONDS
  bash "$1" > "$2" 2>&1
  echo $? > "$2.rc"
  echo $((SECONDS - t0)) > "$2.secs"
}
for check in tools/*/check.sh; do
  [ -f "$check" ] || continue
  name=$(basename "$(dirname "$check")")
  if [ "$check" = "$beside_check" ] && [ -n "${beside_check_pid:-}" ]; then
    wait "$beside_check_pid"
  else
    if [ "$check" = "$beside_with" ] && [ -f "$beside_check" ]; then
      run_check "$beside_check" "$log/check-$(basename "$(dirname "$beside_check")").txt" &
      beside_check_pid=$!
    fi
    run_check "$check" "$log/check-$name.txt"
  fi
  out="$log/check-$name.txt"
  rc=$(cat "$out.rc")
  echo "== $check"
  echo "$check took $(cat "$out.secs") s"
  counts=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$out" | tail -1)
  if [ -n "$counts" ]; then
    p=$(echo "$counts" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$counts" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then tail -60 "$out"; echo "FAILED: $check"; else tail -20 "$out"; fi
    echo "$check: $counts"
  elif [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); tail -20 "$out"
  else
    failed=$((failed + 1)); tail -40 "$out"; echo "FAILED: $check"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
