using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// The arm64 Add/Sub row: 16 elements per step, (x + offset) widened to int16 then int32 and shifted by
    /// LeftShift, each input requantized with its shift split once per op (SSHL by max(shift, 0), SQRDMULH, the
    /// rounding right shift by min(shift, 0): <see cref="SimdOps.HighMulRoundingShift"/>), the sum requantized
    /// the same way, the output offset added in int32, then a saturating narrow to int8 and the activation
    /// clamp on bytes (<see cref="SimdOps.NarrowSaturateClamp"/>). Exact: the reference's expression lane by
    /// lane (<see cref="AddOne"/>). On x64 the same lanes through the emulated primitives (tests only).
    /// </summary>
    internal readonly struct AdvSimdAddRow : IElementwiseRow
    {
        public static sbyte One(in ElementwiseParams p, int x, int y, bool subtract) => AddOne(p, x, y, subtract);

        public static int Run(in ElementwiseParams p, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n, bool subtract)
        {
            // x + offset stays within int16 for offsets in [-255, 255] (zero points in int8).
            if ((uint)(p.Input1Offset + 255) > 510 || (uint)(p.Input2Offset + 255) > 510 || (uint)p.LeftShift > 31)
                return 0;
            // Usually every shift is a right shift (the inputs scaled down after the common left shift, the sum scaled to the
            // output): the shorter right-shift sequence of the tile kernels applies throughout.
            // An input's shift may also be 0 (the input with the larger scale, whose multiplier is then 2^30 or above):
            // the rounding shift is then the identity and its SQRDMULH alone remains.
            if (p.Input1Shift <= 0 && p.Input2Shift <= 0 && p.OutputShift <= -1 && (uint)(p.OutputOffset + 128) <= 255)
                return (subtract, p.Input1Shift == 0, p.Input2Shift == 0) switch
                {
                    (false, false, false) => LoopRight<Add, Conv2D.No, Conv2D.No>(p, ref a, aStep, ref b, bStep, ref output, n),
                    (false, true, false) => LoopRight<Add, Conv2D.Yes, Conv2D.No>(p, ref a, aStep, ref b, bStep, ref output, n),
                    (false, false, true) => LoopRight<Add, Conv2D.No, Conv2D.Yes>(p, ref a, aStep, ref b, bStep, ref output, n),
                    (false, true, true) => LoopRight<Add, Conv2D.Yes, Conv2D.Yes>(p, ref a, aStep, ref b, bStep, ref output, n),
                    (true, false, false) => LoopRight<Subtract, Conv2D.No, Conv2D.No>(p, ref a, aStep, ref b, bStep, ref output, n),
                    (true, true, false) => LoopRight<Subtract, Conv2D.Yes, Conv2D.No>(p, ref a, aStep, ref b, bStep, ref output, n),
                    (true, false, true) => LoopRight<Subtract, Conv2D.No, Conv2D.Yes>(p, ref a, aStep, ref b, bStep, ref output, n),
                    _ => LoopRight<Subtract, Conv2D.Yes, Conv2D.Yes>(p, ref a, aStep, ref b, bStep, ref output, n),
                };
            return subtract
                ? Loop<Subtract>(new Constants(p), ref a, aStep, ref b, bStep, ref output, n)
                : Loop<Add>(new Constants(p), ref a, aStep, ref b, bStep, ref output, n);
        }

        private interface IOp { static abstract Vector128<int> Apply(Vector128<int> x, Vector128<int> y); }

        private readonly struct Add : IOp
        {
            public static Vector128<int> Apply(Vector128<int> x, Vector128<int> y) => x + y;
        }

        private readonly struct Subtract : IOp
        {
            public static Vector128<int> Apply(Vector128<int> x, Vector128<int> y) => x - y;
        }

        private static int Loop<TOp>(in Constants c, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n) where TOp : struct, IOp
        {
            var aB = Vector128.Create(a);
            var bB = Vector128.Create(b);
            int i = 0;
            for (; i <= n - 16; i += 16)
            {
                var va = aStep != 0 ? Vector128.LoadUnsafe(ref a, (nuint)i) : aB;
                var vb = bStep != 0 ? Vector128.LoadUnsafe(ref b, (nuint)i) : bB;
                var alo = Vector128.WidenLower(va) + c.Off1;
                var ahi = Vector128.WidenUpper(va) + c.Off1;
                var blo = Vector128.WidenLower(vb) + c.Off2;
                var bhi = Vector128.WidenUpper(vb) + c.Off2;
                SimdOps.NarrowSaturateClamp(
                    One<TOp>(c, Vector128.WidenLower(alo), Vector128.WidenLower(blo)),
                    One<TOp>(c, Vector128.WidenUpper(alo), Vector128.WidenUpper(blo)),
                    One<TOp>(c, Vector128.WidenLower(ahi), Vector128.WidenLower(bhi)),
                    One<TOp>(c, Vector128.WidenUpper(ahi), Vector128.WidenUpper(bhi)), c.Min, c.Max).StoreUnsafe(ref output, (nuint)i);
            }
            return i;
        }

        /// <summary>
        /// <see cref="Loop{TOp}"/> when no shift is a left shift and the output shifts right by at least 1: per int32 vector one
        /// SSHL (the common left shift), then SQRDMULH, SSRA, SRSHL (<see cref="SimdOps.HighMulRoundingShiftRight"/>) per input
        /// (SQRDMULH alone for an input whose shift is 0: <typeparamref name="TZero1"/>, <typeparamref name="TZero2"/>) and for
        /// the sum, the output offset added in int16 (<see cref="SimdOps.NarrowOffsetClamp"/>); every constant in a register.
        /// </summary>
        private static int LoopRight<TOp, TZero1, TZero2>(in ElementwiseParams p, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n)
            where TOp : struct, IOp where TZero1 : struct, Conv2D.IFlag where TZero2 : struct, Conv2D.IFlag
        {
            var off1 = Vector128.Create((short)p.Input1Offset);
            var off2 = Vector128.Create((short)p.Input2Offset);
            var left = Vector128.Create(p.LeftShift);
            var m1 = Vector128.Create(p.Input1Multiplier);
            var n1 = Vector128.Create(p.Input1Shift);
            var m2 = Vector128.Create(p.Input2Multiplier);
            var n2 = Vector128.Create(p.Input2Shift);
            var mo = Vector128.Create(p.OutputMultiplier);
            var no = Vector128.Create(p.OutputShift);
            var oo = Vector128.Create((short)p.OutputOffset);
            var min = Vector128.Create((sbyte)p.ActivationMin);
            var max = Vector128.Create((sbyte)p.ActivationMax);
            var aB = Vector128.Create(a);
            var bB = Vector128.Create(b);
            int i = 0;
            for (; i <= n - 16; i += 16)
            {
                var va = aStep != 0 ? Vector128.LoadUnsafe(ref a, (nuint)i) : aB;
                var vb = bStep != 0 ? Vector128.LoadUnsafe(ref b, (nuint)i) : bB;
                var alo = Vector128.WidenLower(va) + off1;
                var ahi = Vector128.WidenUpper(va) + off1;
                var blo = Vector128.WidenLower(vb) + off2;
                var bhi = Vector128.WidenUpper(vb) + off2;
                SimdOps.NarrowOffsetClamp(
                    OneRight<TOp, TZero1, TZero2>(Vector128.WidenLower(alo), Vector128.WidenLower(blo), left, m1, n1, m2, n2, mo, no),
                    OneRight<TOp, TZero1, TZero2>(Vector128.WidenUpper(alo), Vector128.WidenUpper(blo), left, m1, n1, m2, n2, mo, no),
                    OneRight<TOp, TZero1, TZero2>(Vector128.WidenLower(ahi), Vector128.WidenLower(bhi), left, m1, n1, m2, n2, mo, no),
                    OneRight<TOp, TZero1, TZero2>(Vector128.WidenUpper(ahi), Vector128.WidenUpper(bhi), left, m1, n1, m2, n2, mo, no), oo, min, max).StoreUnsafe(ref output, (nuint)i);
            }
            return i;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<int> OneRight<TOp, TZero1, TZero2>(Vector128<int> x, Vector128<int> y, Vector128<int> left, Vector128<int> m1, Vector128<int> n1,
            Vector128<int> m2, Vector128<int> n2, Vector128<int> mo, Vector128<int> no) where TOp : struct, IOp where TZero1 : struct, Conv2D.IFlag where TZero2 : struct, Conv2D.IFlag
        {
            var sa = TZero1.Value
                ? SimdOps.SaturatingRoundingDoublingHighMul(SimdOps.ShiftLeft(x, left), m1)
                : SimdOps.HighMulRoundingShiftRight(SimdOps.ShiftLeft(x, left), m1, n1);
            var sb = TZero2.Value
                ? SimdOps.SaturatingRoundingDoublingHighMul(SimdOps.ShiftLeft(y, left), m2)
                : SimdOps.HighMulRoundingShiftRight(SimdOps.ShiftLeft(y, left), m2, n2);
            return SimdOps.HighMulRoundingShiftRight(TOp.Apply(sa, sb), mo, no);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<int> One<TOp>(in Constants c, Vector128<int> x, Vector128<int> y) where TOp : struct, IOp
        {
            var sa = SimdOps.HighMulRoundingShift(SimdOps.ShiftLeft(SimdOps.ShiftLeft(x, c.Left), c.L1), c.M1, c.N1);
            var sb = SimdOps.HighMulRoundingShift(SimdOps.ShiftLeft(SimdOps.ShiftLeft(y, c.Left), c.L2), c.M2, c.N2);
            return SimdOps.HighMulRoundingShift(SimdOps.ShiftLeft(TOp.Apply(sa, sb), c.Lo), c.Mo, c.No) + c.Oo;
        }

        private readonly struct Constants(in ElementwiseParams p)
        {
            public readonly Vector128<short> Off1 = Vector128.Create((short)p.Input1Offset), Off2 = Vector128.Create((short)p.Input2Offset);
            public readonly Vector128<int> Left = Vector128.Create(p.LeftShift);
            public readonly Vector128<int> M1 = Vector128.Create(p.Input1Multiplier), L1 = Vector128.Create(System.Math.Max(p.Input1Shift, 0)), N1 = Vector128.Create(System.Math.Min(p.Input1Shift, 0));
            public readonly Vector128<int> M2 = Vector128.Create(p.Input2Multiplier), L2 = Vector128.Create(System.Math.Max(p.Input2Shift, 0)), N2 = Vector128.Create(System.Math.Min(p.Input2Shift, 0));
            public readonly Vector128<int> Mo = Vector128.Create(p.OutputMultiplier), Lo = Vector128.Create(System.Math.Max(p.OutputShift, 0)), No = Vector128.Create(System.Math.Min(p.OutputShift, 0));
            public readonly Vector128<int> Oo = Vector128.Create(p.OutputOffset);
            public readonly Vector128<sbyte> Min = Vector128.Create((sbyte)p.ActivationMin), Max = Vector128.Create((sbyte)p.ActivationMax);
        }
    }
}
