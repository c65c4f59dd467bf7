using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// A Concatenation input's rescaling with its first rounding in float32: clamp(RoundingDivideByPOT(round(Scale x + Offset),
/// Right) + OutputOffset), kept only where that gives the reference's byte for all 256 int8 values
/// (<see cref="Concatenation.PrepareRescaleAffine"/>).
/// </summary>
internal sealed class RescaleAffine
{
    public required float Scale { get; init; }
    public required float Offset { get; init; }
    public required int Right { get; init; }
    public required int OutputOffset { get; init; }
}

public static partial class Concatenation
{
    /// <summary>
    /// The float32 form of an input's rescaling (AVX2 with FMA; for runs of 16 bytes or more, <paramref name="chunk"/>):
    /// clamp(MultiplyByQuantizedMultiplier(x + inputOffset, M, S) + outputOffset) rounds twice, first the doubling high
    /// multiply, the rounding of (x + inputOffset) M 2^(max(S, 0) - 31), then the rounding right shift by -S where S is
    /// negative. Here the first is one FMA and VCVTPS2DQ's round to nearest, which give the same integer wherever no value
    /// lies within float32's resolution of a rounding boundary or on a tie (which the reference rounds away from zero);
    /// the second is the reference's own integer shift. So the form is run on all 256 values here and compared with
    /// <paramref name="table"/> (the reference's <see cref="RescaleTable"/>); null where any differs, where the CPU lacks
    /// AVX2 or FMA, and for short runs. On Zen 1 it replaces the byte-by-byte table lookup (fashion_resnet's 7x7x88: see README).
    /// </summary>
    internal static RescaleAffine? PrepareRescaleAffine(int inputOffset, int multiplier, int shift, int outputOffset, ReadOnlySpan<sbyte> table, int chunk)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported || multiplier == 0 || chunk < 16 || table.Length < 256)
            return null;
        double scale = System.Math.ScaleB((double)multiplier, System.Math.Max(shift, 0) - 31);
        double offset = scale * inputOffset;
        // Well inside int32 (VCVTPS2DQ, and the rounding shift's additions).
        if (!(System.Math.Abs(scale) * 128 + System.Math.Abs(offset) < 1 << 29) || shift < -31)
            return null;
        var q = new RescaleAffine { Scale = (float)scale, Offset = (float)offset, Right = System.Math.Max(-shift, 0), OutputOffset = outputOffset };
        Span<sbyte> all = stackalloc sbyte[256];
        Span<sbyte> got = stackalloc sbyte[256];
        for (int k = 0; k < 256; k++) all[k] = (sbyte)k; // byte k: the int8 value (sbyte)k, at index k
        MapAffineRuns(q, all, got, 1, 256, 256, 0);
        return got.SequenceEqual(table.Slice(0, 256)) ? q : null;
    }

    /// <summary>As <see cref="EvalInputS8Mapped"/> (the same bytes) with the rescaling in its float32 form (<see cref="PrepareRescaleAffine"/>).</summary>
    internal static void EvalInputS8Affine(RescaleAffine q, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset)
    {
        var (outer, chunk, outRun, at) = Runs(inShape, outShape, axis, axisOffset);
        MapAffineRuns(q, input, output, outer, chunk, outRun, at);
    }

    /// <summary>
    /// <paramref name="outer"/> runs of <paramref name="chunk"/> (16 or more) bytes, run o to o x <paramref name="outRun"/> +
    /// <paramref name="at"/>: 16 bytes per step (VPMOVSXBD, VCVTDQ2PS, one FMA and VCVTPS2DQ per 8, the rounding shift
    /// (ties away from zero) and the output offset in int32, narrowed with saturation), a run's last 1-15 bytes as a step
    /// over its last 16 (the input is not the output).
    /// </summary>
    private static void MapAffineRuns(RescaleAffine q, ReadOnlySpan<sbyte> input, Span<sbyte> output, int outer, int chunk, int outRun, int at)
    {
        if (chunk < 16 || input.Length < (long)outer * chunk || output.Length < (long)(outer - 1) * outRun + at + chunk)
            throw new ArgumentException($"concatenation input of {input.Length} or output of {output.Length} elements is shorter than its shape, or its runs of {chunk} are under 16");
        // The rounding shift only where there is one (a shift of 0 costs as much on Zen 1: 0.99 against 0.60 us for
        // fashion_resnet's 7x7x28 input).
        if (q.Right == 0)
            MapAffineRuns<Unshifted>(new RescaleKernel(q), ref MemoryMarshal.GetReference(input), ref MemoryMarshal.GetReference(output), outer, chunk, outRun, at);
        else
            MapAffineRuns<Shifted>(new RescaleKernel(q), ref MemoryMarshal.GetReference(input), ref MemoryMarshal.GetReference(output), outer, chunk, outRun, at);
    }

    private struct Unshifted;
    private struct Shifted;

    private static void MapAffineRuns<TShift>(RescaleKernel k16, ref sbyte src, ref sbyte dst, int outer, int chunk, int outRun, int at) where TShift : struct
    {
        for (int o = 0; o < outer; o++)
        {
            ref sbyte from = ref Unsafe.Add(ref src, o * chunk);
            ref sbyte to = ref Unsafe.Add(ref dst, o * outRun + at);
            for (int i = 0; ; i += 16)
            {
                int k = System.Math.Min(i, chunk - 16);
                k16.Map16<TShift>(ref Unsafe.Add(ref from, k), ref Unsafe.Add(ref to, k));
                if (k == chunk - 16) break;
            }
        }
    }

    /// <summary>The constants of <see cref="MapAffineRuns"/> in registers.</summary>
    private readonly struct RescaleKernel
    {
        private readonly Vector256<float> _scale, _offset;
        private readonly Vector256<int> _half, _signs, _outOffset;
        private readonly Vector128<int> _right;

        public RescaleKernel(RescaleAffine q)
        {
            _scale = Vector256.Create(q.Scale);
            _offset = Vector256.Create(q.Offset);
            _right = Vector128.CreateScalar(q.Right);
            _half = Vector256.Create(q.Right == 0 ? 0 : 1 << (q.Right - 1));
            _signs = Vector256.Create(q.Right == 0 ? 0 : -1); // no rounding shift, no sign term
            _outOffset = Vector256.Create(q.OutputOffset);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Map16<TShift>(ref sbyte x, ref sbyte o) where TShift : struct
            => SimdOps256.Pack16(Half<TShift>(ref x), Half<TShift>(ref Unsafe.Add(ref x, 8))).StoreUnsafe(ref o);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<int> Half<TShift>(ref sbyte x) where TShift : struct
        {
            var r = Avx.ConvertToVector256Int32(Fma.MultiplyAdd(_scale, SimdOps256.EightToSingle(ref x), _offset));
            if (typeof(TShift) == typeof(Unshifted))
                return r + _outOffset;
            // floor((r + 2^(e-1) - [r < 0]) / 2^e): the reference's RoundingDivideByPOT (e = 0: r itself).
            return Avx2.ShiftRightArithmetic(r + _half + (Avx2.ShiftRightArithmetic(r, 31) & _signs), _right) + _outOffset;
        }
    }
}
