using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// Vector128 Add/Sub row (NEON on arm64): 16 elements per step, widened to four 4 x int32 vectors
    /// per input and requantized with <see cref="SimdOps.MultiplyByQuantizedMultiplier"/>
    /// (SQRDMULH, SRSHL with the negative-tie fixup).
    /// </summary>
    internal readonly struct Vector128AddRow : IElementwiseRow
    {
        public static sbyte One(in ElementwiseParams p, int x, int y, bool subtract) => AddOne(p, x, y, subtract);

        public static int Run(in ElementwiseParams p, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n, bool subtract)
        {
            var off1 = Vector128.Create((short)p.Input1Offset);
            var off2 = Vector128.Create((short)p.Input2Offset);
            var c = new Constants(p);
            var aB = Vector128.Create(a);
            var bB = Vector128.Create(b);
            int i = 0;
            // x + offset stays within int16 for offsets in [-255, 255] (zero points in int8).
            if ((uint)(p.Input1Offset + 255) > 510 || (uint)(p.Input2Offset + 255) > 510)
                return 0;
            for (; i <= n - 16; i += 16)
            {
                var va = aStep != 0 ? Vector128.LoadUnsafe(ref a, (nuint)i) : aB;
                var vb = bStep != 0 ? Vector128.LoadUnsafe(ref b, (nuint)i) : bB;
                var alo = Vector128.WidenLower(va) + off1;
                var ahi = Vector128.WidenUpper(va) + off1;
                var blo = Vector128.WidenLower(vb) + off2;
                var bhi = Vector128.WidenUpper(vb) + off2;
                SimdOps.Narrow16(
                    One(c, Vector128.WidenLower(alo), Vector128.WidenLower(blo), subtract),
                    One(c, Vector128.WidenUpper(alo), Vector128.WidenUpper(blo), subtract),
                    One(c, Vector128.WidenLower(ahi), Vector128.WidenLower(bhi), subtract),
                    One(c, Vector128.WidenUpper(ahi), Vector128.WidenUpper(bhi), subtract)).StoreUnsafe(ref output, (nuint)i);
            }
            return i;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<int> One(in Constants c, Vector128<int> x, Vector128<int> y, bool subtract)
        {
            var sa = SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(x, c.LeftShift), c.M1, c.S1);
            var sb = SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(y, c.LeftShift), c.M2, c.S2);
            return SimdOps.RequantizeClamp(subtract ? sa - sb : sa + sb, c.Mo, c.So, c.Oo, c.Min, c.Max);
        }

        private readonly struct Constants(in ElementwiseParams p)
        {
            public readonly Vector128<int> M1 = Vector128.Create(p.Input1Multiplier), S1 = Vector128.Create(p.Input1Shift);
            public readonly Vector128<int> M2 = Vector128.Create(p.Input2Multiplier), S2 = Vector128.Create(p.Input2Shift);
            public readonly Vector128<int> Mo = Vector128.Create(p.OutputMultiplier), So = Vector128.Create(p.OutputShift);
            public readonly Vector128<int> Oo = Vector128.Create(p.OutputOffset), Min = Vector128.Create(p.ActivationMin), Max = Vector128.Create(p.ActivationMax);
            public readonly int LeftShift = p.LeftShift;
        }
    }
}
