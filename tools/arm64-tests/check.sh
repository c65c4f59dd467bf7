#!/usr/bin/env bash
# The runtime test suite (tests/EdgeQuant.Runtime.Tests, compiled as the self-contained test
# executable tests/EdgeQuant.Runtime.Tests.Arm64) executed on linux-arm64 under qemu-aarch64,
# twice: -cpu cortex-a76 (Raspberry Pi 5 class: AdvSimd + Dp, SDOT executes) and -cpu cortex-a72
# (Raspberry Pi 4 class: AdvSimd, no Dp). Every kernel bit-exactness test, the child-process runs
# with DOTNET_EnableArm64Dp=0 / DOTNET_EnableHWIntrinsic=0, the dispatch probe and the zoo end to
# end (tests/zoo/eqm, produced on x64) run on emulated arm64.
# Then, per CPU, the dispatch probe again with the JIT's disassembly of the dot-product primitives:
# SDOT must be the instruction used on the Cortex-A76 and must not appear on the Cortex-A72.
# Prints "N passed, N failed" (tests of both runs plus the two disassembly checks).
# Options: --cpu cortex-a76|cortex-a72 (one run only), --filter EXPR (MTP/VSTest filter), --keep (keep the logs).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cpus=(cortex-a76 cortex-a72)
filter=""
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --cpu) cpus=("$2"); shift 2 ;;
        --filter) filter="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "usage: $0 [--cpu cortex-a76|cortex-a72] [--filter EXPR] [--keep]" >&2; exit 2 ;;
    esac
done
work="$(mktemp -d)"
[ "$keep" = 1 ] && echo "logs in $work" || trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 TESTINGPLATFORM_TELEMETRY_OPTOUT=1

apt_install() {
    for i in 1 2 3 4 5 6; do
        if apt-get install -y -q "$@" >/dev/null 2>&1; then return 0; fi
        sleep $((i * 5)); apt-get update -q >/dev/null 2>&1 || true
    done
    echo "arm64-tests: could not install $*" >&2
    return 1
}
# qemu-user runs the arm64 process; the cross compiler's package brings the arm64 C library
# (/usr/aarch64-linux-gnu) that the .NET host and runtime link against.
command -v qemu-aarch64 >/dev/null || apt_install qemu-user || { echo "0 passed, 1 failed"; exit 1; }
[ -f /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || apt_install gcc-aarch64-linux-gnu || { echo "0 passed, 1 failed"; exit 1; }

start=$(date +%s)
pub="$work/pub"
if ! dotnet publish "$root/tests/EdgeQuant.Runtime.Tests.Arm64/EdgeQuant.Runtime.Tests.Arm64.csproj" -c Release -r linux-arm64 --self-contained \
        -p:TreatWarningsAsErrors=true -o "$pub" >"$work/publish.log" 2>&1; then
    tail -30 "$work/publish.log"; echo "publish failed"; echo "0 passed, 1 failed"; exit 1
fi
echo "published the arm64 test executable in $(( $(date +%s) - start )) s ($(du -sh "$pub" | cut -f1))"

# .NET writes JIT code through a second, writable mapping of the executable pages (W^X); qemu-user
# only notices code changes made through the executing mapping, so it would go on running stale
# translations of patched stubs (seen as random wrong branches and NullReferenceExceptions).
export DOTNET_EnableWriteXorExecute=0
# The blob-mutation fuzz test (a loader robustness test, 60,000 cases natively) runs a tenth of its
# cases here; it exercises no arm64-specific code beyond what the kernel tests cover.
export EDGEQUANT_FUZZ_CASES=6000

# One CPU's run: the suite, then the disassembly probe. Writes its report to $work/$cpu.report and
# its counts ("passed failed") to $work/$cpu.result. The CPUs run at the same time: each qemu-user
# process keeps about one core busy, and the machines this runs on have two.
run_cpu() {
    local cpu="$1" dp passed=0 failed=0
    case "$cpu" in cortex-a76) dp=1 ;; cortex-a72) dp=0 ;; *) echo "unknown cpu $cpu" >&2; echo "0 1" >"$work/$cpu.result"; return ;; esac
    local qemu="qemu-aarch64 -cpu $cpu -L /usr/aarch64-linux-gnu"
    local log="$work/$cpu.log"
    local t0; t0=$(date +%s)
    local args=(--progress off --no-ansi --results-directory "$work/results-$cpu")
    [ -n "$filter" ] && args+=(--filter "$filter")
    EDGEQUANT_QEMU="$qemu" EDGEQUANT_EXPECT_DP=$dp timeout 1500 $qemu "$pub/EdgeQuant.Runtime.Tests" "${args[@]}" >"$log" 2>&1
    local rc=$?
    local secs=$(( $(date +%s) - t0 ))
    echo "== $cpu (exit code $rc, $secs s)"
    grep -m1 -E "^ *Arm64: Vector128" "$log" | sed 's/^ */   /'
    grep -E "^failed " "$log" | head -20
    # The main run's summary: the last "Test run summary" block at column 0 (children's outputs
    # appear only indented, inside failure messages).
    awk '/^Test run summary:/ { n = 0; delete v } /^  (total|failed|succeeded|skipped): [0-9]+/ { sub(":", "", $1); v[$1] = $2 }
         END { print v["total"], v["failed"], v["succeeded"], v["skipped"] }' "$log" >"$work/$cpu.counts"
    local total f s k
    read -r total f s k <"$work/$cpu.counts"
    if [ -z "$total" ]; then
        echo "$cpu: no test summary (the run crashed or timed out)"; tail -40 "$log"
        failed=$((failed + 1))
    else
        echo "   total $total, succeeded $s, failed $f, skipped $k"
        grep -E "^skipped " "$log" | sed 's/^/   /'
        passed=$((passed + s)); failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); tail -40 "$log"; fi
    fi

    # The instructions the JIT really emitted for the dot-product primitives on this CPU.
    local asm="$work/$cpu.asm"
    EDGEQUANT_DISPATCH_PROBE=1 DOTNET_JitDisasm="DotProduct MultiplyAddPairs" DOTNET_JitStdOutFile="$asm" \
        timeout 600 $qemu "$pub/EdgeQuant.Runtime.Tests" --progress off --no-ansi --results-directory "$work/results-$cpu-probe" \
        --filter "FullyQualifiedName~InstructionSetDispatchTests.Probe" >"$work/$cpu.probe.log" 2>&1
    local sdot smull
    sdot=$(grep -cE "^\s+sdot\s" "$asm" 2>/dev/null); sdot=${sdot:-0}
    smull=$(grep -cE "^\s+smull2?\s" "$asm" 2>/dev/null); smull=${smull:-0}
    if [ ! -s "$asm" ]; then
        echo "FAIL $cpu: no JIT disassembly written"; tail -20 "$work/$cpu.probe.log"; failed=$((failed + 1))
    elif [ "$dp" = 1 ] && [ "$sdot" -gt 0 ]; then
        echo "PASS $cpu: the JIT emitted $sdot SDOT instructions for SimdOps.DotProduct"; passed=$((passed + 1))
    elif [ "$dp" = 0 ] && [ "$sdot" -eq 0 ] && [ "$smull" -gt 0 ]; then
        echo "PASS $cpu: no SDOT; $smull SMULL/SMULL2 instructions (the SMULL/SADALP path)"; passed=$((passed + 1))
    else
        echo "FAIL $cpu: sdot $sdot, smull $smull in the JIT disassembly"; failed=$((failed + 1))
    fi
    echo "$passed $failed" >"$work/$cpu.result"
}

for cpu in "${cpus[@]}"; do
    run_cpu "$cpu" >"$work/$cpu.report" 2>&1 &
done
wait
passed=0; failed=0
for cpu in "${cpus[@]}"; do
    cat "$work/$cpu.report"
    read -r p f <"$work/$cpu.result" 2>/dev/null || { p=0; f=1; echo "$cpu: no result"; }
    passed=$((passed + p)); failed=$((failed + f))
done
echo "arm64 tests took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
