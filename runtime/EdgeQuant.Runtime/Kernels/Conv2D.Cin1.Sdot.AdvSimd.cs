using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryEvalS8Cin1Sdot"/>: the quadruplet rows of a whole image.</summary>
    private const int Cin1StackLimit = 32768;

    /// <summary>
    /// The Pi 5 (Dp) path for a convolution of a one-channel image (the stem of an image model: Kh x Kw with
    /// Kw &lt;= 4, 9 MACs per output for a 3x3), where the general SDOT tiles spend most of their work outside
    /// the SDOTs. Each padded input row is turned once into a row of quadruplets, one per output column: the
    /// pixel's Kw kernel-row taps (any horizontal stride and dilation whose 4 consecutive columns span at most 16
    /// bytes), gathered 4 columns at a time by one table lookup (TBL) from a 16-byte load. A 16-byte load of such
    /// a row is then 4 output pixels' taps of one kernel row, one per SDOT lane: per block of 8 output channels
    /// and 4 output pixels, one load and 8 SDOT by element (<see cref="PackedFilter.Quads"/>, the taps past Kw
    /// against zero weights) per kernel row; a 3x3 filter keeps its 6 weight vectors in registers for a whole
    /// output row. The whole padded image is staged (else false: the general tiles take it), so the
    /// requantization of a block (<see cref="BlockRequantization"/>) is set up once per block for the image and held
    /// in registers: every channel must shift right (<see cref="BlockRequantization.OpAllRight"/>, the usual case; else false).
    /// A row's last 1-3 pixels are computed from the padding of the quadruplet row and not stored.
    /// Exact int8 products summed in int32 from the folded bias: the reference's accumulator.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    internal static bool TryEvalS8Cin1Sdot(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
        => packed.Quads is not null && packed.QuadRowTaps == filterShape.D2
            && TryEvalS8Cin1(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, sdot: true);

    /// <summary>
    /// The Pi 4 (no Dp) form of <see cref="TryEvalS8Cin1Sdot"/> for a 3x3 filter: the same quadruplet rows, widened to
    /// int16 as they are loaded (SXTL, SXTL2: two pixels' taps per vector), multiplied by SMLAL/SMLAL2 by lane against
    /// the 9 int16 weight vectors of a block (<see cref="PackedFilter.RowTaps"/>), which stay in registers for an output
    /// row; a block of at most 4 real channels skips the upper halves. Exact int16 products summed in int32.
    /// </summary>
    internal static bool TryEvalS8Cin1Lanes(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
        => packed.RowTaps is not null && filterShape.D1 == 3 && filterShape.D2 == 3 && packed.RowTaps.Length == 3 * 8 * packed.CoutPadded
            && TryEvalS8Cin1(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, sdot: false);

    [SkipLocalsInit] // every staged byte is written before it is read
    private static bool TryEvalS8Cin1(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, bool sdot)
    {
        int inH = inShape.D1, inW = inShape.D2;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3, coutP = packed.CoutPadded;
        int sw = p.StrideW, dw = p.DilationW;
        if (!Vector128.IsHardwareAccelerated || inShape.D3 != 1 || kw > 4 || packed.Cout != cout
            || packed.K != kh * kw || (long)3 * sw + (long)(kw - 1) * dw >= 16 || (uint)(128 - p.InputOffset) > 255
            || !BlockRequantization.OpAllRight(shifts, p.OutputOffset))
            return false;
        int groups = (outW + 3) / 4, quadLen = groups * 16;
        long paddedH = (long)(outH - 1) * p.StrideH + (long)(kh - 1) * p.DilationH + 1;
        if (paddedH * quadLen > Cin1StackLimit)
            return false;
        // One padded input row, long enough for the last group's 16-byte load.
        int span = (groups - 1) * 4 * sw + 16;
        Span<sbyte> row = stackalloc sbyte[span];
        Span<sbyte> staged = stackalloc sbyte[(int)paddedH * quadLen];
        Span<sbyte> index = stackalloc sbyte[16];
        for (int px = 0; px < 4; px++)
            for (int t = 0; t < 4; t++)
                index[4 * px + t] = (sbyte)(px * sw + System.Math.Min(t, kw - 1) * dw);
        var gather = Vector128.Create((ReadOnlySpan<sbyte>)index);
        ref sbyte rowRef = ref MemoryMarshal.GetReference(row);
        ref sbyte stagedRef = ref MemoryMarshal.GetReference(staged);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        ref sbyte w = ref sdot ? ref MemoryMarshal.GetArrayDataReference(packed.Quads!) : ref Unsafe.NullRef<sbyte>();
        ref short w16 = ref sdot ? ref Unsafe.NullRef<short>() : ref MemoryMarshal.GetArrayDataReference(packed.RowTaps!);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        sbyte zeroPoint = (sbyte)(-p.InputOffset);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        nint rowStep = (nint)p.StrideH * quadLen, tapRowStep = (nint)p.DilationH * quadLen, wStep = (nint)coutP * 4;
        for (int b = 0; b < inShape.D0; b++)
        {
            for (int y = 0; y < paddedH; y++)
            {
                StageRowS8(ref src, b, y - p.PadTop, inH, inW, 1, span, lo, hi, p.PadLeft, zeroPoint, ref rowRef);
                ref sbyte q = ref Unsafe.Add(ref stagedRef, (nint)y * quadLen);
                for (int g = 0; g < groups; g++)
                    Gather(Vector128.LoadUnsafe(ref Unsafe.Add(ref rowRef, (nint)g * 4 * sw)), gather).StoreUnsafe(ref Unsafe.Add(ref q, (nint)g * 16));
            }
            ref sbyte image = ref Unsafe.Add(ref dst, (nint)b * outH * outW * cout);
            bool clamped = BlockRequantization.ClampsNegatives(p.OutputOffset, p.ActivationMin);
            for (int c = 0; c < coutP; c += 8)
            {
                var rq = new BlockRequantization(multipliers, shifts, c, p.OutputOffset, p.ActivationMin, p.ActivationMax);
                var i0 = Vector128.LoadUnsafe(ref init, (nuint)c);
                var i1 = Vector128.LoadUnsafe(ref init, (nuint)c + 4);
                ref sbyte wc = ref sdot ? ref Unsafe.Add(ref w, c * 4) : ref w;
                for (int oy = 0; oy < outH; oy++)
                {
                    ref sbyte r = ref Unsafe.Add(ref stagedRef, oy * rowStep);
                    ref sbyte o = ref Unsafe.Add(ref image, (nint)oy * outW * cout + c);
                    // Under a fused ReLU the requantization drops its fixup (BlockRequantization.Pixels2RightClamped).
                    if (!sdot)
                    {
                        // RowTaps of one input channel: [Kh, 8, CoutPadded], taps 3..7 of a row zero.
                        if (cout - c <= 4 && clamped)
                            Cin1Row3Lanes<No, Yes>(ref r, tapRowStep, ref Unsafe.Add(ref w16, c), coutP, outW, i0, i1,
                                rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                        else if (cout - c <= 4)
                            Cin1Row3Lanes<No, No>(ref r, tapRowStep, ref Unsafe.Add(ref w16, c), coutP, outW, i0, i1,
                                rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                        else if (clamped)
                            Cin1Row3Lanes<Yes, Yes>(ref r, tapRowStep, ref Unsafe.Add(ref w16, c), coutP, outW, i0, i1,
                                rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                        else
                            Cin1Row3Lanes<Yes, No>(ref r, tapRowStep, ref Unsafe.Add(ref w16, c), coutP, outW, i0, i1,
                                rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                    }
                    else if (kh == 3 && clamped)
                        Cin1Row3<Yes>(ref r, tapRowStep, ref wc, wStep, outW, i0, i1, rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                    else if (kh == 3)
                        Cin1Row3<No>(ref r, tapRowStep, ref wc, wStep, outW, i0, i1, rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                    else if (clamped)
                        Cin1RowK<Yes>(ref r, tapRowStep, kh, ref wc, wStep, outW, i0, i1, rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                    else
                        Cin1RowK<No>(ref r, tapRowStep, kh, ref wc, wStep, outW, i0, i1, rq.M0, rq.M1, rq.N0, rq.N1, rq.Offset16, rq.Min, rq.Max, ref o, cout, rq.Channels);
                }
            }
        }
        return true;
    }

    /// <summary>TBL: the bytes of <paramref name="v"/> at <paramref name="index"/> (every index below 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Gather(Vector128<sbyte> v, Vector128<sbyte> index)
        => AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.VectorTableLookup(v, index) : Vector128.Shuffle(v, index);

    /// <summary>
    /// One output row of a 3-row filter over quadruplet rows (r, r + tapRowStep, r + 2 tapRowStep), one block of
    /// 8 channels: the 6 weight vectors in registers, 4 pixels per step (3 loads, 24 SDOT by element).
    /// </summary>
    private static void Cin1Row3<TClamped>(ref sbyte r, nint tapRowStep, ref sbyte w, nint wStep, int n, Vector128<int> i0, Vector128<int> i1,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1, Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max,
        ref sbyte o, nint cout, int channels) where TClamped : struct, IFlag
    {
        var wA0 = Vector128.LoadUnsafe(ref w);
        var wB0 = Vector128.LoadUnsafe(ref w, 16);
        var wA1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, wStep));
        var wB1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, wStep + 16));
        var wA2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 2 * wStep));
        var wB2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 2 * wStep + 16));
        ref sbyte r1 = ref Unsafe.Add(ref r, tapRowStep);
        ref sbyte r2 = ref Unsafe.Add(ref r, 2 * tapRowStep);
        for (int i = 0; i < n; i += 4)
        {
            var x0 = Vector128.LoadUnsafe(ref r, (nuint)(4 * i));
            var x1 = Vector128.LoadUnsafe(ref r1, (nuint)(4 * i));
            var x2 = Vector128.LoadUnsafe(ref r2, (nuint)(4 * i));
            var a00 = SimdOps.DotProductLane(i0, wA0, x0, 0);
            var a01 = SimdOps.DotProductLane(i1, wB0, x0, 0);
            var a10 = SimdOps.DotProductLane(i0, wA0, x0, 1);
            var a11 = SimdOps.DotProductLane(i1, wB0, x0, 1);
            var a20 = SimdOps.DotProductLane(i0, wA0, x0, 2);
            var a21 = SimdOps.DotProductLane(i1, wB0, x0, 2);
            var a30 = SimdOps.DotProductLane(i0, wA0, x0, 3);
            var a31 = SimdOps.DotProductLane(i1, wB0, x0, 3);
            a00 = SimdOps.DotProductLane(a00, wA1, x1, 0);
            a01 = SimdOps.DotProductLane(a01, wB1, x1, 0);
            a10 = SimdOps.DotProductLane(a10, wA1, x1, 1);
            a11 = SimdOps.DotProductLane(a11, wB1, x1, 1);
            a20 = SimdOps.DotProductLane(a20, wA1, x1, 2);
            a21 = SimdOps.DotProductLane(a21, wB1, x1, 2);
            a30 = SimdOps.DotProductLane(a30, wA1, x1, 3);
            a31 = SimdOps.DotProductLane(a31, wB1, x1, 3);
            a00 = SimdOps.DotProductLane(a00, wA2, x2, 0);
            a01 = SimdOps.DotProductLane(a01, wB2, x2, 0);
            a10 = SimdOps.DotProductLane(a10, wA2, x2, 1);
            a11 = SimdOps.DotProductLane(a11, wB2, x2, 1);
            a20 = SimdOps.DotProductLane(a20, wA2, x2, 2);
            a21 = SimdOps.DotProductLane(a21, wB2, x2, 2);
            a30 = SimdOps.DotProductLane(a30, wA2, x2, 3);
            a31 = SimdOps.DotProductLane(a31, wB2, x2, 3);
            var p01 = BlockRequantization.Pixels2RightOrClamped(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max, TClamped.Value);
            var p23 = BlockRequantization.Pixels2RightOrClamped(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max, TClamped.Value);
            Cin1Store(p01, p23, ref Unsafe.Add(ref o, i * cout), cout, n - i, channels);
        }
    }

    /// <summary>
    /// One output row of a 3x3 filter for one block of 8 channels without Dp: per 4 pixels, each kernel row's quadruplets
    /// loaded once and widened (pixels 0-1 in one int16 vector, 2-3 in the other), 9 SMLAL (and, with
    /// <typeparamref name="TUpper"/>, 9 SMLAL2) by lane per pixel against the block's 9 weight vectors held in registers.
    /// </summary>
    private static void Cin1Row3Lanes<TUpper, TClamped>(ref sbyte r, nint tapRowStep, ref short w, nint coutP, int n, Vector128<int> i0, Vector128<int> i1,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1, Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max,
        ref sbyte o, nint cout, int channels) where TUpper : struct, IFlag where TClamped : struct, IFlag
    {
        var w00 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 0 * coutP));
        var w01 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 1 * coutP));
        var w02 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 2 * coutP));
        var w10 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 8 * coutP));
        var w11 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 9 * coutP));
        var w12 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 10 * coutP));
        var w20 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 16 * coutP));
        var w21 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 17 * coutP));
        var w22 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 18 * coutP));
        ref sbyte r1 = ref Unsafe.Add(ref r, tapRowStep);
        ref sbyte r2 = ref Unsafe.Add(ref r, 2 * tapRowStep);
        for (int i = 0; i < n; i += 4)
        {
            Vector128<int> a00 = i0, a01 = i1, a10 = i0, a11 = i1, a20 = i0, a21 = i1, a30 = i0, a31 = i1;
            Vector128<sbyte> x;
            Vector128<short> lo, hi;
            x = Vector128.LoadUnsafe(ref r, (nuint)(4 * i));
            lo = Vector128.WidenLower(x);
            hi = Vector128.WidenUpper(x);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w00, lo, 0);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w00, lo, 0);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w01, lo, 1);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w01, lo, 1);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w02, lo, 2);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w02, lo, 2);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w00, lo, 4);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w00, lo, 4);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w01, lo, 5);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w01, lo, 5);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w02, lo, 6);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w02, lo, 6);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w00, hi, 0);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w00, hi, 0);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w01, hi, 1);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w01, hi, 1);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w02, hi, 2);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w02, hi, 2);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w00, hi, 4);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w00, hi, 4);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w01, hi, 5);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w01, hi, 5);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w02, hi, 6);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w02, hi, 6);
            x = Vector128.LoadUnsafe(ref r1, (nuint)(4 * i));
            lo = Vector128.WidenLower(x);
            hi = Vector128.WidenUpper(x);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w10, lo, 0);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w10, lo, 0);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w11, lo, 1);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w11, lo, 1);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w12, lo, 2);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w12, lo, 2);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w10, lo, 4);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w10, lo, 4);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w11, lo, 5);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w11, lo, 5);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w12, lo, 6);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w12, lo, 6);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w10, hi, 0);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w10, hi, 0);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w11, hi, 1);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w11, hi, 1);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w12, hi, 2);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w12, hi, 2);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w10, hi, 4);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w10, hi, 4);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w11, hi, 5);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w11, hi, 5);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w12, hi, 6);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w12, hi, 6);
            x = Vector128.LoadUnsafe(ref r2, (nuint)(4 * i));
            lo = Vector128.WidenLower(x);
            hi = Vector128.WidenUpper(x);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w20, lo, 0);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w20, lo, 0);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w21, lo, 1);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w21, lo, 1);
            if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, w22, lo, 2);
            a00 = SimdOps.MultiplyAddLaneLower(a00, w22, lo, 2);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w20, lo, 4);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w20, lo, 4);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w21, lo, 5);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w21, lo, 5);
            if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, w22, lo, 6);
            a10 = SimdOps.MultiplyAddLaneLower(a10, w22, lo, 6);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w20, hi, 0);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w20, hi, 0);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w21, hi, 1);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w21, hi, 1);
            if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, w22, hi, 2);
            a20 = SimdOps.MultiplyAddLaneLower(a20, w22, hi, 2);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w20, hi, 4);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w20, hi, 4);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w21, hi, 5);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w21, hi, 5);
            if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, w22, hi, 6);
            a30 = SimdOps.MultiplyAddLaneLower(a30, w22, hi, 6);
            var p01 = BlockRequantization.Pixels2RightOrClamped(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max, TClamped.Value);
            var p23 = BlockRequantization.Pixels2RightOrClamped(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max, TClamped.Value);
            Cin1Store(p01, p23, ref Unsafe.Add(ref o, i * cout), cout, n - i, channels);
        }
    }

    /// <summary>As <see cref="Cin1Row3"/> for any number of kernel rows (the weights loaded per step).</summary>
    private static void Cin1RowK<TClamped>(ref sbyte r, nint tapRowStep, int kh, ref sbyte w, nint wStep, int n, Vector128<int> i0, Vector128<int> i1,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1, Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max,
        ref sbyte o, nint cout, int channels) where TClamped : struct, IFlag
    {
        for (int i = 0; i < n; i += 4)
        {
            Vector128<int> a00 = i0, a01 = i1, a10 = i0, a11 = i1, a20 = i0, a21 = i1, a30 = i0, a31 = i1;
            ref sbyte x = ref Unsafe.Add(ref r, 4 * i);
            ref sbyte ws = ref w;
            for (int ky = 0; ky < kh; ky++)
            {
                var v = Vector128.LoadUnsafe(ref x);
                var wA = Vector128.LoadUnsafe(ref ws);
                var wB = Vector128.LoadUnsafe(ref ws, 16);
                a00 = SimdOps.DotProductLane(a00, wA, v, 0);
                a01 = SimdOps.DotProductLane(a01, wB, v, 0);
                a10 = SimdOps.DotProductLane(a10, wA, v, 1);
                a11 = SimdOps.DotProductLane(a11, wB, v, 1);
                a20 = SimdOps.DotProductLane(a20, wA, v, 2);
                a21 = SimdOps.DotProductLane(a21, wB, v, 2);
                a30 = SimdOps.DotProductLane(a30, wA, v, 3);
                a31 = SimdOps.DotProductLane(a31, wB, v, 3);
                x = ref Unsafe.Add(ref x, tapRowStep);
                ws = ref Unsafe.Add(ref ws, wStep);
            }
            var p01 = BlockRequantization.Pixels2RightOrClamped(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max, TClamped.Value);
            var p23 = BlockRequantization.Pixels2RightOrClamped(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max, TClamped.Value);
            Cin1Store(p01, p23, ref Unsafe.Add(ref o, i * cout), cout, n - i, channels);
        }
    }

    /// <summary>Stores the first min(4, <paramref name="valid"/>) of 4 pixels' 8 channels (the first <paramref name="channels"/> of them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Cin1Store(Vector128<sbyte> p01, Vector128<sbyte> p23, ref sbyte o, nint cout, int valid, int channels)
    {
        BlockRequantization.Store(p01, 0, ref o, channels);
        if (valid > 1) BlockRequantization.Store(p01, 1, ref Unsafe.Add(ref o, cout), channels);
        if (valid > 2) BlockRequantization.Store(p23, 0, ref Unsafe.Add(ref o, 2 * cout), channels);
        if (valid > 3) BlockRequantization.Store(p23, 1, ref Unsafe.Add(ref o, 3 * cout), channels);
    }
}
