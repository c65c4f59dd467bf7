using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Concatenation
{
    /// <summary>
    /// The rescaling copy, 16 elements per step: AVX2 (two 8-lane requantizations with the operands
    /// derived once, <see cref="SimdOps256.Requantizer"/>) or portable Vector128 (<see cref="SimdOps"/>,
    /// NEON on arm64); the same arithmetic as <see cref="QuantMath.MultiplyByQuantizedMultiplier"/>.
    /// Returns where the scalar tail starts.
    /// </summary>
    internal static int RescaleVector(ReadOnlySpan<sbyte> src, Span<sbyte> dst, int inputOffset, int multiplier, int shift, int outputOffset)
    {
        int n = src.Length, i = 0;
        ref sbyte s = ref MemoryMarshal.GetReference(src);
        ref sbyte d = ref MemoryMarshal.GetReference(dst);
        if (Avx2.IsSupported)
        {
            var r = new SimdOps256.Requantizer(Vector256.Create(multiplier), Vector256.Create(shift));
            var inOff = Vector256.Create(inputOffset);
            var outOff = Vector256.Create(outputOffset);
            var min = Vector256.Create(-128);
            var max = Vector256.Create(127);
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                var lo = r.ApplyClamp(Avx2.ConvertToVector256Int32(v) + inOff, outOff, min, max);
                var hi = r.ApplyClamp(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8)) + inOff, outOff, min, max);
                SimdOps256.Pack16(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var m = Vector128.Create(multiplier);
            var sh = Vector128.Create(shift);
            var inOff = Vector128.Create(inputOffset);
            var outOff = Vector128.Create(outputOffset);
            var min = Vector128.Create(-128);
            var max = Vector128.Create(127);
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                var w0 = Vector128.WidenLower(v);
                var w1 = Vector128.WidenUpper(v);
                SimdOps.Narrow16(
                    SimdOps.RequantizeClamp(Vector128.WidenLower(w0) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenUpper(w0) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenLower(w1) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenUpper(w1) + inOff, m, sh, outOff, min, max)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        return i;
    }
}
