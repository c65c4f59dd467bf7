using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// Vector128 Mul row (SSE4.1 / NEON): 16 elements a step, widened to int32,
    /// (x + offset1) x (y + offset2) (at most 255 x 255, exact), then the shared vector
    /// requantization; the scalar tail is <see cref="MulOne"/>. Same bytes as the reference.
    /// </summary>
    internal readonly struct Vector128MulRow : IElementwiseRow
    {
        public static sbyte One(in ElementwiseParams p, int x, int y, bool subtract) => MulOne(p, x, y);

        public static int Run(in ElementwiseParams p, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n, bool subtract)
        {
            var off1 = Vector128.Create(p.Input1Offset);
            var off2 = Vector128.Create(p.Input2Offset);
            var mult = Vector128.Create(p.OutputMultiplier);
            var shift = Vector128.Create(p.OutputShift);
            var outOff = Vector128.Create(p.OutputOffset);
            var min = Vector128.Create(p.ActivationMin);
            var max = Vector128.Create(p.ActivationMax);
            var aB = Vector128.Create(a);
            var bB = Vector128.Create(b);
            int j = 0;
            for (; j + 16 <= n; j += 16)
            {
                var va = aStep != 0 ? Vector128.LoadUnsafe(ref a, (nuint)j) : aB;
                var vb = bStep != 0 ? Vector128.LoadUnsafe(ref b, (nuint)j) : bB;
                var (a0, a1) = Vector128.Widen(va);
                var (b0, b1) = Vector128.Widen(vb);
                var (a00, a01) = Vector128.Widen(a0);
                var (a10, a11) = Vector128.Widen(a1);
                var (b00, b01) = Vector128.Widen(b0);
                var (b10, b11) = Vector128.Widen(b1);
                SimdOps.Narrow16(
                    SimdOps.RequantizeClamp((a00 + off1) * (b00 + off2), mult, shift, outOff, min, max),
                    SimdOps.RequantizeClamp((a01 + off1) * (b01 + off2), mult, shift, outOff, min, max),
                    SimdOps.RequantizeClamp((a10 + off1) * (b10 + off2), mult, shift, outOff, min, max),
                    SimdOps.RequantizeClamp((a11 + off1) * (b11 + off2), mult, shift, outOff, min, max)).StoreUnsafe(ref output, (nuint)j);
            }
            return j;
        }
    }
}
