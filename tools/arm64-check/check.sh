#!/usr/bin/env bash
# arm64 code-quality check that runs on x64 (the arm64 paths themselves execute under qemu in
# tools/arm64-tests):
#  crossgen2 compiles EdgeQuant.Runtime for linux-arm64 twice (Raspberry Pi 5: armv8.2-a with the dot
#     product extension; Raspberry Pi 4: armv8-a without it), dumping the JIT's disassembly of the hot
#     kernel methods; check_loops.py asserts per method that its innermost vector loop is NEON code with
#     no calls (portable Vector128 kernels), or has exactly the expected explicit-intrinsic calls (the
#     x64 CoreLib holds only stubs for AdvSimd/Dp, so those show as calls), and has no range checks.
# Installs nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0

# ---- crossgen2 disassembly of the hot loops ----
dotnet build "$root/runtime/EdgeQuant.Runtime/EdgeQuant.Runtime.csproj" -c Release --nologo -v q -p:TreatWarningsAsErrors=true >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
dll="$root/runtime/EdgeQuant.Runtime/bin/Release/net10.0/EdgeQuant.Runtime.dll"
read -r version fwroot < <(dotnet --list-runtimes | awk '/^Microsoft.NETCore.App 10\./ { v = $2; d = $3 } END { gsub(/[][]/, "", d); print v, d }')
fw="$fwroot/$version"
dotnet restore "$here/Crossgen2Download.csproj" -p:Crossgen2Version="$version" --nologo -v q >"$work/restore.log" 2>&1 \
    || { cat "$work/restore.log"; exit 1; }
packages="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
crossgen="$packages/microsoft.netcore.app.crossgen2.linux-x64/$version/tools/crossgen2"
[ -x "$crossgen" ] || { echo "arm64-check: no crossgen2 at $crossgen" >&2; exit 1; }

methods='*DepthwiseConv2D:PixelVector128 *DepthwiseConv2D:PixelVector128Gather *Mean:EvalS8Vector128 *Pooling:MaxS8Vector *Pooling:AverageS8Vector *Int8Gemm:Run *Vector128AddRow:Run *Conv2D:SdotTile4 *Conv2D:SdotBlockRight* *Conv2D:Cin1Row3* *Conv2D:Cin1Row3Lanes* *DepthwiseConv2D:LanesTile4 *Conv2D:LanesTile8* *AdvSimdAddRow:Loop *AdvSimdAddRow:LoopRight* *DepthwiseConv2D:SdotRow* *DepthwiseConv2D:Row3x3RightS1*'
disasm() { # name instruction-set
    "$crossgen" "$dll" -o "$work/$1.dll" --targetos linux --targetarch arm64 -O --parallelism 1 -r "$fw/*.dll" --instruction-set "$2" \
        --codegenopt "JitDisasm=$methods" --codegenopt "JitStdOutFile=$work/$1.asm" >"$work/$1.log" 2>&1 \
        || { cat "$work/$1.log"; exit 1; }
}
disasm pi5 armv8.2-a,dotprod,rdma
disasm pi4 armv8-a,-dotprod

echo "== arm64 (Raspberry Pi 5: armv8.2-a + dotprod)"
python3 "$here/check_loops.py" "$work/pi5.asm" \
    'DepthwiseConv2D.PixelVector128|DepthwiseConv2D:PixelVector128(|neon|sxtl,sxtl2,mul,add' \
    'DepthwiseConv2D.PixelVector128Gather|DepthwiseConv2D:PixelVector128Gather|neon|tbl,sxtl,sxtl2,mul,add' \
    'Mean.EvalS8Vector128|Mean:EvalS8Vector128|neon|sxtl,sxtl2,add' \
    'Pooling.MaxS8Vector|Pooling:MaxS8Vector|neon|smax' \
    'Pooling.AverageS8Vector|Pooling:AverageS8Vector|neon|sxtl,sxtl2,add' \
    'Int8Gemm.Run<SdotDot>|Int8Gemm:Run[EdgeQuant.Runtime.Kernels.Simd.SdotDot]|explicit|8' \
    'Elementwise.Vector128AddRow.Run|Vector128AddRow:Run|explicit|68' \
    'Conv2D.SdotTile4|Conv2D:SdotTile4|explicit|32' \
    'Conv2D.SdotBlockRight<SdotEight,No>|Conv2D:SdotBlockRight[EdgeQuant.Runtime.Kernels.Conv2D+SdotEight,EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|32' \
    'Conv2D.SdotBlockRight<SdotEight,Yes>|Conv2D:SdotBlockRight[EdgeQuant.Runtime.Kernels.Conv2D+SdotEight,EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|32' \
    'Conv2D.SdotBlockRight<SdotFour,No>|Conv2D:SdotBlockRight[EdgeQuant.Runtime.Kernels.Conv2D+SdotFour,EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|16' \
    'Conv2D.SdotBlockRight<SdotFour,Yes>|Conv2D:SdotBlockRight[EdgeQuant.Runtime.Kernels.Conv2D+SdotFour,EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|16' \
    'Conv2D.Cin1Row3<No>|Conv2D:Cin1Row3[EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|68' \
    'Conv2D.Cin1Row3<Yes>|Conv2D:Cin1Row3[EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|60' \
    'DepthwiseConv2D.LanesTile4|DepthwiseConv2D:LanesTile4|explicit|8' \
    'Elementwise.AdvSimdAddRow.Loop|AdvSimdAddRow:Loop[|explicit|76' \
    'Elementwise.AdvSimdAddRow.LoopRight<Add,Yes,No>|AdvSimdAddRow:LoopRight[EdgeQuant.Runtime.Kernels.Elementwise+AdvSimdAddRow+Add,EdgeQuant.Runtime.Kernels.Conv2D+Yes,EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|46' \
    'DepthwiseConv2D.SdotRow<Yes,No>|DepthwiseConv2D:SdotRow[EdgeQuant.Runtime.Kernels.Conv2D+Yes,EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|68' \
    'DepthwiseConv2D.SdotRow<Yes,Yes>|DepthwiseConv2D:SdotRow[EdgeQuant.Runtime.Kernels.Conv2D+Yes,EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|60' \
    'DepthwiseConv2D.SdotRow<No,No>|DepthwiseConv2D:SdotRow[EdgeQuant.Runtime.Kernels.Conv2D+No,EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|8' \
    'DepthwiseConv2D.SdotRow<No,Yes>|DepthwiseConv2D:SdotRow[EdgeQuant.Runtime.Kernels.Conv2D+No,EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|8' || fail=1
echo "== arm64 (Raspberry Pi 4: armv8-a, no dotprod)"
python3 "$here/check_loops.py" "$work/pi4.asm" \
    'Int8Gemm.Run<SmullDot>|Int8Gemm:Run[EdgeQuant.Runtime.Kernels.Simd.SmullDot]|explicit|32' \
    'Conv2D.LanesTile8<Yes>|Conv2D:LanesTile8[EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|128' \
    'Conv2D.LanesTile8<No>|Conv2D:LanesTile8[EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|64' \
    'Conv2D.Cin1Row3Lanes<Yes,No>|Conv2D:Cin1Row3Lanes[EdgeQuant.Runtime.Kernels.Conv2D+Yes,EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|116' \
    'Conv2D.Cin1Row3Lanes<Yes,Yes>|Conv2D:Cin1Row3Lanes[EdgeQuant.Runtime.Kernels.Conv2D+Yes,EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|108' \
    'DepthwiseConv2D.Row3x3RightS1<No>|DepthwiseConv2D:Row3x3RightS1[EdgeQuant.Runtime.Kernels.Conv2D+No]|explicit|116' \
    'DepthwiseConv2D.Row3x3RightS1<Yes>|DepthwiseConv2D:Row3x3RightS1[EdgeQuant.Runtime.Kernels.Conv2D+Yes]|explicit|108' || fail=1

exit $fail
