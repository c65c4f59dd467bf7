#!/usr/bin/env bash
# Publishes the runtime-only sample app (boards/samples/EdgeQuant.Samples.Classify) three ways and
# runs each on the zoo's MNIST model (tests/zoo/eqm/mnist_cnn.eqm, 1000 test digits):
#  1. self-contained and trimmed for linux-x64 (JIT);
#  2. NativeAOT for linux-x64 (clang as the linker driver);
#  3. NativeAOT cross-compiled for linux-arm64 (clang + lld, the arm64 C library of
#     gcc-aarch64-linux-gnu), run under qemu-aarch64 -cpu cortex-a76 (Pi 5) and -cpu cortex-a72 (Pi 4).
# Every publish must give zero trim/AOT warnings (IL2xxx/IL3xxx, with TreatWarningsAsErrors), every
# run the same classes and the same top-1 accuracy as the x64 runs. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
app=boards/samples/EdgeQuant.Samples.Classify
model=tests/zoo/eqm/mnist_cnn.eqm
samples=(tests/zoo/mnist_cnn.test.npy tests/zoo/mnist_cnn.test_labels.npy)
passed=0; failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

apt_install() {
    for i in 1 2 3 4 5 6; do
        if apt-get install -y -q "$@" >/dev/null 2>&1; then return 0; fi
        sleep $((i * 5)); apt-get update -q >/dev/null 2>&1 || true
    done
    echo "trim-check: could not install $*" >&2
    return 1
}
command -v clang >/dev/null || apt_install clang
command -v ld.lld >/dev/null || apt_install lld
command -v qemu-aarch64 >/dev/null || apt_install qemu-user
[ -f /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || apt_install gcc-aarch64-linux-gnu

# publish NAME ARGS...: publishes into $out/NAME; fails on any warning.
publish() {
    local name=$1; shift
    local t0=$(date +%s)
    if ! dotnet publish "$app" -c Release -p:TreatWarningsAsErrors=true -p:TrimmerSingleWarn=false -o "$out/$name" "$@" >"$out/$name.log" 2>&1; then
        tail -30 "$out/$name.log"; fail "$name: publish failed"; return 1
    fi
    if grep -E "warning (IL|CS|NU|NETSDK)[0-9]+" "$out/$name.log" | grep -v NU1603; then fail "$name: warnings"; return 1; fi
    local size=$(du -b "$out/$name/EdgeQuant.Samples.Classify" | cut -f1)
    pass "$name: published with no warnings in $(( $(date +%s) - t0 )) s (executable $((size / 1024)) KB, folder $(du -sh "$out/$name" | cut -f1))"
}

# run NAME LAUNCHER...: runs the published app on the MNIST test set; the log without the timing line is kept for comparison.
run() {
    local name=$1 label=$2; shift 2
    local t0=$(date +%s)
    if ! timeout 600 "$@" "$out/$name/EdgeQuant.Samples.Classify" "$model" "${samples[@]}" >"$out/$label.run" 2>&1; then
        cat "$out/$label.run"; fail "$label: the app failed"; return 1
    fi
    grep -v " samples in " "$out/$label.run" >"$out/$label.cmp"
    local acc=$(grep -oE "top-1 accuracy [0-9.]+%" "$out/$label.run")
    local timing=$(grep -oE "\([0-9.]+ us each\)" "$out/$label.run")
    echo "   $label: $acc, $timing, $(( $(date +%s) - t0 )) s wall"
    if ! grep -q "top-1 accuracy 98" "$out/$label.run"; then cat "$out/$label.run"; fail "$label: accuracy below 98%"; return 1; fi
    if [ "$label" != trimmed-x64 ] && ! cmp -s "$out/trimmed-x64.cmp" "$out/$label.cmp"; then
        diff "$out/trimmed-x64.cmp" "$out/$label.cmp"; fail "$label: output differs from the x64 JIT run"; return 1
    fi
    pass "$label: classifies the MNIST test set as the x64 JIT run does"
}

start=$(date +%s)
publish trimmed-x64 -r linux-x64 --self-contained -p:PublishTrimmed=true && run trimmed-x64 trimmed-x64
publish aot-x64 -r linux-x64 -p:PublishAot=true && run aot-x64 aot-x64
if publish aot-arm64 -r linux-arm64 -p:PublishAot=true -p:LinkerFlavor=lld; then
        # ELF e_machine (2 bytes at offset 18): 0xb7 is EM_AARCH64.
    if [ "$(od -An -tx2 -j18 -N2 "$out/aot-arm64/EdgeQuant.Samples.Classify" | tr -d ' ')" = 00b7 ]; then pass "aot-arm64: an aarch64 ELF executable"; else fail "aot-arm64: not an aarch64 executable"; fi
    run aot-arm64 aot-arm64-cortex-a76 qemu-aarch64 -cpu cortex-a76 -L /usr/aarch64-linux-gnu
    run aot-arm64 aot-arm64-cortex-a72 qemu-aarch64 -cpu cortex-a72 -L /usr/aarch64-linux-gnu
fi
echo "trim-check took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
