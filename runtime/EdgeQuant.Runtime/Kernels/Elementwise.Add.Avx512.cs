using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// An Add/Sub op's three requantizations in the exact 16-lane form of <see cref="SimdOps512"/> (one multiplier and
/// shift broadcast to every lane), for <see cref="Elementwise.AddS8Avx512"/>; built once per op.
/// </summary>
internal sealed class AddRequantization
{
    public required SimdOps512.RightRequantizer Input1 { get; init; }
    public required SimdOps512.RightRequantizer Input2 { get; init; }
    /// <summary>Whether an input's shift is 0 (its requantization is the high multiply alone, no sign term).</summary>
    public required bool Input1Unshifted { get; init; }
    public required bool Input2Unshifted { get; init; }
    public required RightRequantTable Output { get; init; }
    public required int Input1Offset { get; init; }
    public required int Input2Offset { get; init; }
    /// <summary>LeftShift + 1: the inputs enter the requantization doubled.</summary>
    public required int DoubledShift { get; init; }
    public required bool Subtract { get; init; }
    public required sbyte Min { get; init; }
    public required sbyte Max { get; init; }

    /// <summary>
    /// With AVX-512 VBMI, each input's stage as a function of its int8 value, [4 byte planes, 256]: plane k holds byte k of
    /// the reference's MultiplyByQuantizedMultiplier((x + offset) &lt;&lt; LeftShift, multiplier, shift) at (byte)x, negated
    /// for Sub's second input (<see cref="Elementwise.AddS8Avx512"/> then looks the stages up instead of computing them);
    /// null elsewhere.
    /// </summary>
    public byte[]? Input1Planes { get; init; }

    /// <inheritdoc cref="Input1Planes"/>
    public byte[]? Input2Planes { get; init; }

    /// <summary>The same requantizations without the stage planes: the arithmetic form (what AVX-512 without VBMI runs; for tests).</summary>
    internal AddRequantization WithoutPlanes() => new()
    {
        Input1 = Input1, Input2 = Input2, Input1Unshifted = Input1Unshifted, Input2Unshifted = Input2Unshifted, Output = Output,
        Input1Offset = Input1Offset, Input2Offset = Input2Offset, DoubledShift = DoubledShift, Subtract = Subtract, Min = Min, Max = Max,
    };
}

public static partial class Elementwise
{
    /// <summary>
    /// The AVX-512 arithmetic form of an Add/Sub of equal shapes, where it applies: each input's requantization and the
    /// output's are the exact 16-lane MultiplyByQuantizedMultiplier of <see cref="SimdOps512.RightRequantizer"/> (the
    /// inputs' right shifts of 0-31 on |x| &lt;= 255 x 2^20; the output's within <see cref="RightRequantTable.Covers"/>, its
    /// bound the largest sum the input stages can produce, computed from their 256 values each). As a last guard the
    /// op's whole function, all 65,536 (x, y) pairs, is run through <see cref="AddS8Avx512"/> once here and compared with
    /// the reference's <see cref="AddOne"/>; null when anything does not hold (the 64 KB table or the AVX2 arithmetic
    /// then run). The interpreter prepares it only where the float32 form (<see cref="PrepareAddAffine"/>), faster, is
    /// refused. Measured on fashion_resnet's 14x14x28 Add (Zen 5): 1.40 us against the table's 1.84; with the input
    /// stages looked up (VBMI, <see cref="AddRequantization.Input1Planes"/>), which the check runs too, 0.90.
    /// </summary>
    internal static AddRequantization? PrepareAddAvx512(in ElementwiseParams p, bool subtract, in Shape4 aShape, in Shape4 bShape, in Shape4 outShape)
    {
        if (!Avx512BW.IsSupported || aShape != outShape || bShape != outShape || p.LeftShift < 0 || p.LeftShift > 20
            || p.ActivationMin < -128 || p.ActivationMax > 127 || p.ActivationMin > p.ActivationMax)
            return null;
        // Each input's stage: x = (v + offset) << LeftShift, |x| <= 255 x 2^20 < 2^30, then MultiplyByQuantizedMultiplier by
        // a right shift r of 0-31 (remarks 1-3 of SimdOps512; r = 0 is the high multiply alone).
        if (!Stage(p.Input1Multiplier, p.Input1Shift, p.LeftShift, out var in1, out bool un1)
            || !Stage(p.Input2Multiplier, p.Input2Shift, p.LeftShift, out var in2, out bool un2))
            return null;
        long s1 = 0, s2 = 0;
        for (int x = -128; x < 128; x++)
        {
            s1 = System.Math.Max(s1, System.Math.Abs((long)Math.QuantMath.MultiplyByQuantizedMultiplier((x + p.Input1Offset) << p.LeftShift, p.Input1Multiplier, p.Input1Shift)));
            s2 = System.Math.Max(s2, System.Math.Abs((long)Math.QuantMath.MultiplyByQuantizedMultiplier((x + p.Input2Offset) << p.LeftShift, p.Input2Multiplier, p.Input2Shift)));
        }
        RightRequantTable? slot = null;
        Span<int> m = stackalloc int[16];
        Span<int> sh = stackalloc int[16];
        m.Fill(p.OutputMultiplier);
        sh.Fill(p.OutputShift);
        var output = RightRequantTable.Get(ref slot, m, sh, p.OutputOffset, p.ActivationMin, p.ActivationMax, s1 + s2);
        if (!output.Covered)
            return null;
        var q = new AddRequantization
        {
            Input1 = in1, Input2 = in2, Input1Unshifted = un1, Input2Unshifted = un2, Output = output,
            Input1Offset = p.Input1Offset, Input2Offset = p.Input2Offset,
            DoubledShift = p.LeftShift + 1, Subtract = subtract, Min = (sbyte)p.ActivationMin, Max = (sbyte)p.ActivationMax,
            Input1Planes = Avx512Vbmi.IsSupported ? StagePlanes(p.Input1Offset, p.Input1Multiplier, p.Input1Shift, p.LeftShift, negate: false) : null,
            Input2Planes = Avx512Vbmi.IsSupported ? StagePlanes(p.Input2Offset, p.Input2Multiplier, p.Input2Shift, p.LeftShift, negate: subtract) : null,
        };
        return AddsAsAddOneOnEveryPair(p, subtract, (x, y, o) => AddS8Avx512(q, x, y, o)) ? q : null;

        // An input's stage for each of its 256 values, by the reference's arithmetic, as four byte planes.
        static byte[] StagePlanes(int offset, int multiplier, int shift, int leftShift, bool negate)
        {
            var planes = new byte[4 * 256];
            for (int x = -128; x < 128; x++)
            {
                int v = Math.QuantMath.MultiplyByQuantizedMultiplier((x + offset) << leftShift, multiplier, shift);
                if (negate) v = -v;
                for (int k = 0; k < 4; k++)
                    planes[256 * k + (x & 255)] = (byte)(v >> (8 * k));
            }
            return planes;
        }

        static bool Stage(int multiplier, int shift, int leftShift, out SimdOps512.RightRequantizer rq, out bool unshifted)
        {
            rq = default;
            unshifted = shift == 0;
            if (multiplier < 0 || shift > 0 || shift < -31 || leftShift > 20)
                return false;
            int r = -shift;
            // |x| <= 2^28: A + 2^(r-1) + 1 <= 2^31 - 1 for every r <= 30 (remark 3); r = 31 needs A < 2^30 - 1, which holds too.
            rq = SimdOps512.RightRequantizer.Uniform(multiplier, r == 0 ? 1L << 31 : (1L << 31) + (1L << (31 + r)), (uint)r);
            return true;
        }
    }

    /// <summary>
    /// output = Add/Sub(a, b) of equal shapes by <paramref name="q"/> (<see cref="PrepareAddAvx512"/>): per 64 elements,
    /// each input widened, offset and shifted (doubled), requantized; their sum (doubled) requantized with the output
    /// offset, narrowed with saturation and clamped: the reference's arithmetic lane by lane. The last 1-63 elements
    /// go through the same step over zero-padded copies.
    /// </summary>
    internal static void AddS8Avx512(AddRequantization q, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        if (q.Input1Planes is not null && q.Input2Planes is not null)
        {
            AddS8Planes(q, a, b, output);
            return;
        }
        int n = output.Length, i = 0;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ro = ref MemoryMarshal.GetReference(output);
        var k = new AddKernel(q);
        for (; i <= n - 64; i += 64)
            k.Add64(ref Unsafe.Add(ref ra, i), ref Unsafe.Add(ref rb, i), ref Unsafe.Add(ref ro, i));
        if (i < n)
        {
            Span<sbyte> tail = stackalloc sbyte[3 * 64];
            tail.Clear();
            a.Slice(i, n - i).CopyTo(tail);
            b.Slice(i, n - i).CopyTo(tail.Slice(64));
            ref sbyte t = ref MemoryMarshal.GetReference(tail);
            k.Add64(ref t, ref Unsafe.Add(ref t, 64), ref Unsafe.Add(ref t, 128));
            tail.Slice(128, n - i).CopyTo(output.Slice(i));
        }
    }

    /// <summary>
    /// <see cref="AddS8Avx512"/> with each input's stage looked up (<see cref="AddRequantization.Input1Planes"/>): per 64
    /// elements and input, its four byte planes by two VPERMI2B and a select each, assembled into four vectors of int32 by
    /// VPUNPCK*BW and VPUNPCK*WD (within 128-bit lanes: vector j holds elements 4j..4j+3 of each lane); the sums doubled and
    /// requantized as before, then VPACKSSDW and VPACKSSWB put them back in element order, narrowing with saturation as
    /// VPMOVSDB does. The same bytes as the arithmetic form, with a third of its instructions fewer: fashion_resnet's
    /// 14x14x28 Add 1.30 -> 0.90 us on Zen 5. The last 1-63 elements as a step over the last 64 (below 64 elements, over
    /// zero-padded copies).
    /// </summary>
    private static void AddS8Planes(AddRequantization q, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        int n = output.Length, i = 0;
        ref byte ra = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(a));
        ref byte rb = ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetReference(b));
        ref sbyte ro = ref MemoryMarshal.GetReference(output);
        ref byte t1 = ref MemoryMarshal.GetArrayDataReference(q.Input1Planes!);
        ref byte t2 = ref MemoryMarshal.GetArrayDataReference(q.Input2Planes!);
        var rq = new SimdOps512.RightRequantizer(q.Output, 0);
        var perm = SimdOps512.RightRequantizer.HighHalves;
        var sign = Vector512.Create(q.Output.ClampsNegatives ? 0 : -1);
        var min = Vector512.Create(q.Min);
        var max = Vector512.Create(q.Max);
        if (n >= 64 && (n & 63) != 0)
        {
            // The last 1-63 elements as a step over the last 64, computed before anything is stored (the output may be an
            // input: an in-place Add) and stored after the others, recomputing some elements identically.
            var last = Planes64(Vector512.LoadUnsafe(ref ra, (nuint)(n - 64)), Vector512.LoadUnsafe(ref rb, (nuint)(n - 64)), ref t1, ref t2, rq, perm,
                sign, min, max);
            for (; i <= n - 64; i += 64)
                Planes64(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), ref t1, ref t2, rq, perm, sign, min, max)
                    .StoreUnsafe(ref ro, (nuint)i);
            last.StoreUnsafe(ref ro, (nuint)(n - 64));
            return;
        }
        for (; i <= n - 64; i += 64)
            Planes64(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), ref t1, ref t2, rq, perm, sign, min, max)
                .StoreUnsafe(ref ro, (nuint)i);
        if (i < n)
        {
            // Below 64 elements: one step over zero-padded copies.
            Span<byte> tail = stackalloc byte[2 * 64];
            tail.Clear();
            MemoryMarshal.AsBytes(a.Slice(i, n - i)).CopyTo(tail);
            MemoryMarshal.AsBytes(b.Slice(i, n - i)).CopyTo(tail.Slice(64));
            ref byte t = ref MemoryMarshal.GetReference(tail);
            var last = Planes64(Vector512.LoadUnsafe(ref t), Vector512.LoadUnsafe(ref t, 64), ref t1, ref t2, rq, perm, sign, min, max);
            Span<sbyte> bytes = stackalloc sbyte[64];
            last.StoreUnsafe(ref MemoryMarshal.GetReference(bytes));
            bytes.Slice(0, n - i).CopyTo(output.Slice(i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Planes64(Vector512<byte> x, Vector512<byte> y, ref byte t1, ref byte t2, in SimdOps512.RightRequantizer rq,
        Vector512<int> perm, Vector512<int> sign, Vector512<sbyte> min, Vector512<sbyte> max)
    {
        Stage64(x, ref t1, out var x0, out var x1, out var x2, out var x3);
        Stage64(y, ref t2, out var y0, out var y1, out var y2, out var y3);
        var s0 = x0 + y0;
        var s1 = x1 + y1;
        var s2 = x2 + y2;
        var s3 = x3 + y3;
        var r0 = rq.ApplyMasked(s0 + s0, perm, sign);
        var r1 = rq.ApplyMasked(s1 + s1, perm, sign);
        var r2 = rq.ApplyMasked(s2 + s2, perm, sign);
        var r3 = rq.ApplyMasked(s3 + s3, perm, sign);
        var bytes = Avx512BW.PackSignedSaturate(Avx512BW.PackSignedSaturate(r0, r1), Avx512BW.PackSignedSaturate(r2, r3));
        return Vector512.Min(Vector512.Max(bytes, min), max);
    }

    /// <summary>
    /// An input's stage for 64 int8 values x through its planes t: vector j lane group L (128 bits) holds the stages of
    /// elements 16L + 4j .. 16L + 4j + 3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stage64(Vector512<byte> x, ref byte t, out Vector512<int> d0, out Vector512<int> d1, out Vector512<int> d2, out Vector512<int> d3)
    {
        // VPERMI2B indexes 128 bytes by the low 7 bits; the sign bit picks planes' upper halves.
        var negative = Vector512.LessThan(x.AsSByte(), Vector512<sbyte>.Zero).AsByte();
        var p0 = Plane(x, negative, ref t);
        var p1 = Plane(x, negative, ref Unsafe.Add(ref t, 256));
        var p2 = Plane(x, negative, ref Unsafe.Add(ref t, 512));
        var p3 = Plane(x, negative, ref Unsafe.Add(ref t, 768));
        var lo01 = Avx512BW.UnpackLow(p0, p1).AsInt16();
        var hi01 = Avx512BW.UnpackHigh(p0, p1).AsInt16();
        var lo23 = Avx512BW.UnpackLow(p2, p3).AsInt16();
        var hi23 = Avx512BW.UnpackHigh(p2, p3).AsInt16();
        d0 = Avx512BW.UnpackLow(lo01, lo23).AsInt32();
        d1 = Avx512BW.UnpackHigh(lo01, lo23).AsInt32();
        d2 = Avx512BW.UnpackLow(hi01, hi23).AsInt32();
        d3 = Avx512BW.UnpackHigh(hi01, hi23).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<byte> Plane(Vector512<byte> x, Vector512<byte> negative, ref byte t)
            => Vector512.ConditionalSelect(negative, Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref t, 128), x, Vector512.LoadUnsafe(ref t, 192)),
                Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref t), x, Vector512.LoadUnsafe(ref t, 64)));
    }

    /// <summary>
    /// The constants of <see cref="AddS8Avx512"/> in registers, and its steps without a branch: the sign terms kept or dropped
    /// by masks (<see cref="SimdOps512.RightRequantizer.ApplyMasked"/>), Sub as the second value negated by a mask.
    /// </summary>
    private readonly struct AddKernel
    {
        private readonly SimdOps512.RightRequantizer _r1, _r2, _out;
        private readonly Vector512<int> _off1, _off2, _sign1, _sign2, _signOut, _negate, _perm;
        private readonly Vector128<sbyte> _min, _max;
        private readonly int _shift;

        public AddKernel(AddRequantization q)
        {
            _r1 = q.Input1;
            _r2 = q.Input2;
            _out = new SimdOps512.RightRequantizer(q.Output, 0);
            _off1 = Vector512.Create(q.Input1Offset);
            _off2 = Vector512.Create(q.Input2Offset);
            _sign1 = Vector512.Create(q.Input1Unshifted ? 0 : -1);
            _sign2 = Vector512.Create(q.Input2Unshifted ? 0 : -1);
            _signOut = Vector512.Create(q.Output.ClampsNegatives ? 0 : -1);
            _negate = Vector512.Create(q.Subtract ? -1 : 0);
            _perm = SimdOps512.RightRequantizer.HighHalves;
            _min = Vector128.Create(q.Min);
            _max = Vector128.Create(q.Max);
            _shift = q.DoubledShift;
        }

        /// <summary>
        /// 64 elements as four independent 16-lane computations written stage by stage: each one's chain of dependent
        /// instructions is some 40 cycles long, and one at a time the out-of-order window held too little of the next
        /// (measured: 27 cycles per 16 elements one at a time).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add64(ref sbyte a, ref sbyte b, ref sbyte o)
        {
            var x0 = Dx(ref a, 0, _off1); var x1 = Dx(ref a, 16, _off1); var x2 = Dx(ref a, 32, _off1); var x3 = Dx(ref a, 48, _off1);
            var y0 = Dx(ref b, 0, _off2); var y1 = Dx(ref b, 16, _off2); var y2 = Dx(ref b, 32, _off2); var y3 = Dx(ref b, 48, _off2);
            x0 = _r1.ApplyMasked(x0, _perm, _sign1); x1 = _r1.ApplyMasked(x1, _perm, _sign1);
            x2 = _r1.ApplyMasked(x2, _perm, _sign1); x3 = _r1.ApplyMasked(x3, _perm, _sign1);
            y0 = _r2.ApplyMasked(y0, _perm, _sign2); y1 = _r2.ApplyMasked(y1, _perm, _sign2);
            y2 = _r2.ApplyMasked(y2, _perm, _sign2); y3 = _r2.ApplyMasked(y3, _perm, _sign2);
            var s0 = x0 + ((y0 ^ _negate) - _negate); var s1 = x1 + ((y1 ^ _negate) - _negate);
            var s2 = x2 + ((y2 ^ _negate) - _negate); var s3 = x3 + ((y3 ^ _negate) - _negate);
            s0 = _out.ApplyMasked(s0 + s0, _perm, _signOut); s1 = _out.ApplyMasked(s1 + s1, _perm, _signOut);
            s2 = _out.ApplyMasked(s2 + s2, _perm, _signOut); s3 = _out.ApplyMasked(s3 + s3, _perm, _signOut);
            Narrow(s0).StoreUnsafe(ref o);
            Narrow(s1).StoreUnsafe(ref o, 16);
            Narrow(s2).StoreUnsafe(ref o, 32);
            Narrow(s3).StoreUnsafe(ref o, 48);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector128<sbyte> Narrow(Vector512<int> v) => Vector128.Min(Vector128.Max(Avx512F.ConvertToVector128SByteWithSaturation(v), _min), _max);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<int> Dx(ref sbyte v, nuint at, Vector512<int> offset)
            => Vector512.ShiftLeft(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref v, at)) + offset, _shift);
    }
}
