using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// AVX2 Add/Sub row: 16 elements per step, sign-extended to two 8 x int32 vectors per input and
    /// requantized three times with <see cref="SimdOps256.MultiplyByQuantizedMultiplier"/> (with
    /// <see cref="SimdOps256.MultiplyByQuantizedMultiplierRightShift"/> when every shift is a right shift).
    /// </summary>
    internal readonly struct Avx2AddRow : IElementwiseRow
    {
        public static sbyte One(in ElementwiseParams p, int x, int y, bool subtract) => AddOne(p, x, y, subtract);

        public static int Run(in ElementwiseParams p, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n, bool subtract)
        {
            if (!Avx2.IsSupported) return 0;
            var off1 = Vector256.Create(p.Input1Offset);
            var off2 = Vector256.Create(p.Input2Offset);
            var m1 = Vector256.Create(p.Input1Multiplier);
            var s1 = Vector256.Create(p.Input1Shift);
            var m2 = Vector256.Create(p.Input2Multiplier);
            var s2 = Vector256.Create(p.Input2Shift);
            var mo = Vector256.Create(p.OutputMultiplier);
            var so = Vector256.Create(p.OutputShift);
            var oo = Vector256.Create(p.OutputOffset);
            var min = Vector256.Create(p.ActivationMin);
            var max = Vector256.Create(p.ActivationMax);
            int ls = p.LeftShift;
            var aB = Vector128.Create(a);
            var bB = Vector128.Create(b);
            int i = 0;
            if (p.Input1Shift <= 0 && p.Input2Shift <= 0 && p.OutputShift <= 0
                && p.Input1Multiplier != int.MinValue && p.Input2Multiplier != int.MinValue && p.OutputMultiplier != int.MinValue)
            {
                // The usual case: every rescale shifts right only, so the cheaper form applies (operands derived once).
                var m1o = Avx2.ShiftRightLogical(m1.AsInt64(), 32).AsInt32();
                var m2o = Avx2.ShiftRightLogical(m2.AsInt64(), 32).AsInt32();
                var moo = Avx2.ShiftRightLogical(mo.AsInt64(), 32).AsInt32();
                var r1 = -s1;
                var r2 = -s2;
                var ro = -so;
                var k1 = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, r1.AsUInt32()) - Vector256<int>.One;
                var k2 = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, r2.AsUInt32()) - Vector256<int>.One;
                var ko = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, ro.AsUInt32()) - Vector256<int>.One;
                for (; i <= n - 16; i += 16)
                {
                    var va = aStep != 0 ? Vector128.LoadUnsafe(ref a, (nuint)i) : aB;
                    var vb = bStep != 0 ? Vector128.LoadUnsafe(ref b, (nuint)i) : bB;
                    var lo = Right(Avx2.ConvertToVector256Int32(va), Avx2.ConvertToVector256Int32(vb));
                    var hi = Right(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(va, 8)), Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(vb, 8)));
                    SimdOps256.Pack16(lo, hi).StoreUnsafe(ref output, (nuint)i);
                }
                return i;

                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                Vector256<int> Right(Vector256<int> x, Vector256<int> y)
                {
                    var sa = SimdOps256.MultiplyByQuantizedMultiplierRightShift(Vector256.ShiftLeft(x + off1, ls), m1, m1o, r1, k1);
                    var sb = SimdOps256.MultiplyByQuantizedMultiplierRightShift(Vector256.ShiftLeft(y + off2, ls), m2, m2o, r2, k2);
                    var v = SimdOps256.MultiplyByQuantizedMultiplierRightShift(subtract ? sa - sb : sa + sb, mo, moo, ro, ko) + oo;
                    return Vector256.Min(Vector256.Max(v, min), max);
                }
            }
            for (; i <= n - 16; i += 16)
            {
                var va = aStep != 0 ? Vector128.LoadUnsafe(ref a, (nuint)i) : aB;
                var vb = bStep != 0 ? Vector128.LoadUnsafe(ref b, (nuint)i) : bB;
                var lo = One(Avx2.ConvertToVector256Int32(va), Avx2.ConvertToVector256Int32(vb));
                var hi = One(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(va, 8)), Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(vb, 8)));
                SimdOps256.Pack16(lo, hi).StoreUnsafe(ref output, (nuint)i);
            }
            return i;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            Vector256<int> One(Vector256<int> x, Vector256<int> y)
            {
                var sa = SimdOps256.MultiplyByQuantizedMultiplier(Vector256.ShiftLeft(x + off1, ls), m1, s1);
                var sb = SimdOps256.MultiplyByQuantizedMultiplier(Vector256.ShiftLeft(y + off2, ls), m2, s2);
                return SimdOps256.RequantizeClamp(subtract ? sa - sb : sa + sb, mo, so, oo, min, max);
            }
        }
    }
}
