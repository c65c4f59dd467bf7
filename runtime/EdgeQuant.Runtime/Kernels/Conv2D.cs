using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Conv2D, int8 NHWC. Input [N, H, W, Cin] int8, filter [Cout, Kh, Kw, Cin] int8 (symmetric,
/// per-channel), bias [Cout] int32 (scale input_scale x filter_scale[oc]), output [N, Ho, Wo, Cout].
/// out = clamp(MultiplyByQuantizedMultiplier(bias + sum((x + inputOffset) * w), m[oc], s[oc]) + outputOffset).
/// Padded positions contribute nothing (they hold the input zero point).
/// </summary>
public static partial class Conv2D
{
    /// <summary>
    /// Runs the fastest path this machine supports. Convenience form for one-off calls: it packs the
    /// filter and allocates scratch on every call; the <see cref="Interpreter"/> prepares both once.
    /// </summary>
    public static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
            return;
        }
        var packed = Prepare(p, filter, filterShape, bias);
        var scratch = new sbyte[KernelScratch.Conv2DBytes(filterShape.D1, filterShape.D2, inShape.D3, outShape.D2)];
        EvalS8(p, input, inShape, filter, filterShape, bias, packed, multipliers, shifts, output, outShape, scratch);
    }

    /// <summary>Precomputes the fast paths' per-op data (once per op, outside Eval).</summary>
    internal static PackedFilter Prepare(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias)
    {
        var packed = PrepareDirect(p, filter, filterShape, bias);
        // Winograd on x64, and on arm64 without Dp (Pi 4: SMLAL's 4 products per instruction; the Pi 5's SDOT does 16 and
        // keeps the direct kernels).
        bool lanes = AdvSimd.Arm64.IsSupported && !Dp.IsSupported;
        if ((Avx2.IsSupported || lanes) && WinogradShape(p, filterShape) && filterShape.D3 >= WinogradMinCin)
            packed.Winograd = WinogradFilter.Create(filter, filterShape.D0, filterShape.D3, packed.Init, pairs: !lanes, lanes);
        return packed;
    }

    /// <summary>The packings of the direct kernels (every path but Winograd's).</summary>
    private static PackedFilter PrepareDirect(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias)
        => PackedFilter.Create(filter, filterShape.D0, filterShape.D1 * filterShape.D2 * filterShape.D3, bias, p.InputOffset, pad: true,
            // arm64 without Dp takes 1x1 convolutions over widened rows too (SMLAL by lane beats SMULL/SADALP dot products there).
            rowTaps: filterShape.D1 * filterShape.D2 > 1 || (AdvSimd.Arm64.IsSupported && !Dp.IsSupported) ? filterShape.D2 * filterShape.D3 : 0,
            rowTapsS16: AdvSimd.Arm64.IsSupported,
            quadRowTaps: Dp.IsSupported || AvxVnni.IsSupported ? filterShape.D2 * filterShape.D3 : 0);

    /// <summary>
    /// Output pixels [<paramref name="pixelFrom"/>, <paramref name="pixelTo"/>) (row-major, batch 1) written, the rest of
    /// <paramref name="output"/> untouched: one thread's share of an op whose rows do not split evenly, by the rows kernels
    /// (VPDPBUSD tiles with AVX-VNNI, else VPMADDWD), whose 4-pixel tiles run over the image's pixels in order and so take
    /// a range of them directly, with the input staged once. False (nothing written) where those kernels do not take the
    /// op (one input channel, Winograd's shapes, 1x1, an image too large to stage whole): the caller then splits the range
    /// into sub-convolutions of rows and partial rows.
    /// </summary>
    internal static bool TryEvalS8Pixels(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape, PackedFilter? packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, int pixelFrom, int pixelTo)
    {
        if (packed is null || packed.Winograd is not null || filterShape.D1 * filterShape.D2 <= 1
            || Cin1Avx2Preferred(p, inShape, outShape, packed, multipliers, shifts))
            return false;
        if (AvxVnni.IsSupported && packed.Quads is not null && inShape.D3 >= 2
            && TryEvalS8RowsVnni(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, pixelFrom, pixelTo))
            return true;
        return Avx2.IsSupported && packed.RowPairs is not null
            && TryEvalS8RowsAvx2(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, pixelFrom, pixelTo);
    }

    /// <summary>
    /// The dispatcher: AVX-512 with one input channel (<see cref="TryEvalS8Cin1Avx2"/>), AVX2 over widened rows (Kh x Kw &gt; 1, any Cout), arm64 with Dp the register-blocked SDOT
    /// tiles (<see cref="TryEvalS8RowsSdot"/>, 1x1 and Kh x Kw), arm64 without Dp over widened rows (SMLAL by lane,
    /// <see cref="TryEvalS8RowsLanes"/>, 1x1 and Kh x Kw), small K, then AVX-VNNI, AVX2, arm64 SDOT, arm64 SMULL/SADALP (or SSE4.1 through the same
    /// primitives), then the reference. <paramref name="scratch"/> holds im2col rows
    /// (<see cref="KernelScratch.Conv2DBytes"/>); with less, the im2col path is skipped.
    /// </summary>
    internal static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias, PackedFilter? packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
    {
        if (packed is not null)
        {
            // One input channel (image stems): with AVX-512 and AVX-VNNI each kernel row's taps one broadcast from the biased
            // image (Conv2D.Cin1.Vnni.cs: 28x28 stems with 8 channels 1.6 -> 0.9 us, stride 2 with 16 0.6 -> 0.4 on Zen 5, the
            // same or faster for 12-32); else the taps paired across kernel rows, channels in registers (Conv2D.Cin1.Avx2.cs),
            // where Cin1Avx2Preferred says so.
            if (Cin1Avx2Preferred(p, inShape, outShape, packed, multipliers, shifts)
                && ((Avx512BW.IsSupported && AvxVnni.IsSupported && TryEvalS8Cin1Vnni(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
                    || TryEvalS8Cin1Avx2(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape)))
                return;
            // 3x3 stride 1: Winograd's F(2x2, 3x3) in exact integers, 2.25x fewer products (Conv2D.Winograd.Avx512.cs,
            // Conv2D.Winograd.Avx2.cs where AVX-512 is missing, Conv2D.Winograd.AdvSimd.cs on the Pi 4).
            if (TryEvalS8WinogradTiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, 0, int.MaxValue))
                return;
            // AVX-VNNI: VPDPBUSD over biased byte rows (Conv2D.Rows.Vnni.cs), Kh x Kw > 1, from 2 input channels: a colour stem's
            // kernel row of Kw x 3 taps is read as quadruplets in place (BlazeFace's 5x5 stride-2 3 -> 24 on Zen 5: 108.6 -> 55.3 us
            // against the VPMADDWD rows; one-channel stems keep their own kernels above).
            if (AvxVnni.IsSupported && packed.Quads is not null && filterShape.D1 * filterShape.D2 > 1 && inShape.D3 >= 2
                && TryEvalS8RowsVnni(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
                return;
            if (Avx2.IsSupported && packed.RowPairs is not null
                && TryEvalS8RowsAvx2(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
                return;
            // arm64 with Dp (Pi 5): the register-blocked SDOT tiles, every shape with contiguous kernel-row taps.
            if (Dp.IsSupported && packed.Quads is not null
                && TryEvalS8RowsSdot(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
                return;
            // arm64 without Dp (Pi 4): SMLAL by lane over widened rows.
            if (!Avx2.IsSupported && packed.RowTaps is not null
                && TryEvalS8RowsLanes(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
                return;
            if (packed.ByTap is not null && filterShape.D1 * filterShape.D2 > 1
                && TryEvalS8SmallK(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
                return;
            if (Avx2.IsSupported)
            {
                if (AvxVnni.IsSupported
                    ? TryEvalS8Fast<AvxVnniDot>(p, input, inShape, filter, filterShape, packed, multipliers, shifts, output, outShape, scratch)
                    : TryEvalS8Fast<Avx2Dot>(p, input, inShape, filter, filterShape, packed, multipliers, shifts, output, outShape, scratch))
                    return;
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                if (Dp.IsSupported
                    ? TryEvalS8Fast<SdotDot>(p, input, inShape, filter, filterShape, packed, multipliers, shifts, output, outShape, scratch)
                    : TryEvalS8Fast<SmullDot>(p, input, inShape, filter, filterShape, packed, multipliers, shifts, output, outShape, scratch))
                    return;
            }
        }
        EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }
}
