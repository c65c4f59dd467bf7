using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// An Add/Sub op as one rounding of an affine function in float32, out = clamp(round(Alpha x + (Beta y + Gamma))), kept
/// only where that gives the reference's byte for every one of the 65,536 (x, y) pairs (<see cref="Elementwise.PrepareAddAffine"/>);
/// built once per op.
/// </summary>
internal sealed record AddAffine
{
    public required float Alpha { get; init; }
    public required float Beta { get; init; }
    public required float Gamma { get; init; }
    public required sbyte Min { get; init; }
    public required sbyte Max { get; init; }

    /// <summary>
    /// Zero where the form alone gives the reference's byte on every pair. Otherwise the checked form (AVX2): a step of 16
    /// with a value within <see cref="Margin"/> of a rounding boundary (|v - round(v)| &gt;= 0.5 - Margin) is recomputed
    /// by the reference arithmetic (<see cref="Params"/>, <see cref="Subtract"/>).
    /// </summary>
    public float Margin { get; init; }
    public ElementwiseParams Params { get; init; }
    public bool Subtract { get; init; }

    /// <summary>
    /// The patched form (null: none): the one or two (x, y) pairs the float form gets wrong, found by trying all 65,536,
    /// with the reference's byte for each; every step compares its lanes with them and puts those bytes in. Two entries
    /// (a single pair is repeated).
    /// </summary>
    public sbyte[]? PatchX { get; init; }
    public sbyte[]? PatchY { get; init; }
    public sbyte[]? PatchOut { get; init; }
}

public static partial class Elementwise
{
    /// <summary>
    /// The reference Add/Sub is three requantizations: each input (x + offset) &lt;&lt; LeftShift times a multiplier below
    /// one with a rounding right shift, their sum times the output's multiplier with another rounding, plus the output
    /// offset, clamped. With LeftShift = 20 the two input roundings move the sum by at most 2^-20 of an input step, so the
    /// whole op is, but for the rare pairs that land within that distance of a rounding boundary, the rounding of the
    /// affine function a (x + o1) + b (y + o2) + o3 with a and b the products of the real multipliers. Here a, b and the
    /// constant are rounded to float32 and the function is evaluated as the kernel does (two FMAs, then VCVTPS2DQ's
    /// round to nearest; on arm64 two FMLA and FCVTNS, the same roundings); float32 resolves about 2^-17 of an output
    /// step near |v| = 128, so some ops have a pair too close to a boundary. Those get null, as do broadcasts and x64
    /// CPUs without AVX2 and FMA: the op's whole function is run through <see cref="AddS8Affine"/> here, all 65,536
    /// pairs, and compared with <see cref="AddOne"/> (<see cref="AddsAsAddOneOnEveryPair"/>), so a prepared form is
    /// bit-exact by construction. Of the tests' random TFLite-style parameter sets 22 in 24 pass; the zoo's five Adds all do.
    /// It replaces the 64 KB table's gather (<see cref="AddS8Table"/>, about 30 cycles per 8 elements on Zen 1, the table
    /// half in L2) with about 12 vector instructions per 16 elements: fashion_resnet's 14x14x28 Add, Zen 1: see README.
    /// With AVX-512 the steps take 32 elements (<see cref="AffineSteps512"/>) and the form runs ahead of the exact AVX-512
    /// arithmetic (<see cref="PrepareAddAvx512"/>): the same Add on Zen 5, 0.37 us against 1.07.
    /// </summary>
    internal static AddAffine? PrepareAddAffine(in ElementwiseParams p, bool subtract, in Shape4 aShape, in Shape4 bShape, in Shape4 outShape)
    {
        if (!AffineSupported || aShape != outShape || bShape != outShape
            || p.ActivationMin < -128 || p.ActivationMax > 127 || p.ActivationMin > p.ActivationMax)
            return null;
        double output = Factor(p.OutputMultiplier, p.OutputShift) * System.Math.ScaleB(1.0, p.LeftShift);
        double alpha = Factor(p.Input1Multiplier, p.Input1Shift) * output;
        double beta = Factor(p.Input2Multiplier, p.Input2Shift) * output;
        if (subtract) beta = -beta;
        double gamma = alpha * p.Input1Offset + beta * p.Input2Offset + p.OutputOffset;
        // |v| well inside int32, where VCVTPS2DQ converts (past it, it gives int.MinValue); the check below would catch it too.
        if (!(System.Math.Abs(alpha) * 128 + System.Math.Abs(beta) * 128 + System.Math.Abs(gamma) < 1 << 30))
            return null;
        var q = new AddAffine
        {
            Alpha = (float)alpha, Beta = (float)beta, Gamma = (float)gamma, Min = (sbyte)p.ActivationMin, Max = (sbyte)p.ActivationMax,
        };
        if (AddsAsAddOneOnEveryPair(p, subtract, (x, y, o) => AddS8Affine(q, x, y, o)))
            return q;
        // Some pair lands too close to a rounding boundary for float32: usually one (BlazeFace's unlucky Adds: one each).
        // Up to two are patched in every step (compared and replaced by the reference's byte), on AVX2, AVX-512 (its 32-byte
        // steps, AffineSteps512) and arm64 alike.
        if (WrongPairs(p, subtract, q, 2) is { Count: > 0 } wrong)
        {
            var patched = q with
            {
                PatchX = [wrong[0].X, wrong[^1].X], PatchY = [wrong[0].Y, wrong[^1].Y],
                PatchOut = [AddOne(p, wrong[0].X, wrong[0].Y, subtract), AddOne(p, wrong[^1].X, wrong[^1].Y, subtract)],
            };
            if (AddsAsAddOneOnEveryPair(p, subtract, (x, y, o) => AddS8Affine(patched, x, y, o)))
                return patched;
        }
        // More pairs wrong (parameters far from the converter's): on AVX2 the checked form recomputes the steps that hold a
        // value near a rounding boundary by the reference (a 16-element step has one with a probability of about 16 x 2 x
        // margin), kept where it too gives the reference's byte on every pair. AVX-512 machines take their exact 512-bit
        // arithmetic instead (PrepareAddAvx512; the checked form's 256-bit steps were not measured against it).
        if (!Avx2.IsSupported || !Fma.IsSupported || Avx512BW.IsSupported)
            return null;
        foreach (float margin in (ReadOnlySpan<float>)[1f / 4096, 1f / 256])
        {
            var c = q with { Margin = margin, Params = p, Subtract = subtract };
            // A recomputed step also covers its unflagged lanes, so running the kernel over all pairs cannot show that every
            // wrong pair is flagged: that is checked pair by pair (the kernel's float operations, in scalar), then the kernel.
            if (EveryWrongPairFlagged(p, subtract, c) && AddsAsAddOneOnEveryPair(p, subtract, (x, y, o) => AddS8Affine(c, x, y, o)))
                return c;
        }
        return null;

        // The real value of a multiplier and shift: multiplier x 2^(shift - 31).
        static double Factor(int multiplier, int shift) => System.Math.ScaleB(multiplier, shift - 31);
    }

    /// <summary>
    /// Whether the checked form <paramref name="q"/> flags every pair its float value gets wrong: per pair, the kernel's
    /// operations in scalar (two fused multiply-adds, round to nearest even as VCVTPS2DQ, |v - round(v)| against 0.5 -
    /// margin, the saturating narrowing and the clamp), and the reference where the value is not flagged.
    /// </summary>
    private static bool EveryWrongPairFlagged(in ElementwiseParams p, bool subtract, AddAffine q)
    {
        float edge = 0.5f - q.Margin;
        for (int x = -128; x < 128; x++)
            for (int y = -128; y < 128; y++)
            {
                float v = MathF.FusedMultiplyAdd(q.Alpha, x, MathF.FusedMultiplyAdd(q.Beta, y, q.Gamma));
                int r = (int)MathF.Round(v, MidpointRounding.ToEven);
                if (MathF.Abs(v - r) >= edge)
                    continue;
                int got = System.Math.Clamp(System.Math.Clamp(r, -128, 127), q.Min, q.Max);
                if (got != AddOne(p, x, y, subtract))
                    return false;
            }
        return true;
    }

    /// <summary>The (x, y) pairs on which the plain form <paramref name="q"/> differs from the reference; null when more than <paramref name="max"/>.</summary>
    private static List<(sbyte X, sbyte Y)>? WrongPairs(in ElementwiseParams p, bool subtract, AddAffine q, int max)
    {
        Span<sbyte> xs = stackalloc sbyte[256];
        Span<sbyte> ys = stackalloc sbyte[256];
        Span<sbyte> got = stackalloc sbyte[256];
        for (int i = 0; i < 256; i++) ys[i] = (sbyte)i;
        var wrong = new List<(sbyte, sbyte)>();
        for (int x = -128; x < 128; x++)
        {
            xs.Fill((sbyte)x);
            AddS8Affine(q, xs, ys, got);
            for (int i = 0; i < 256; i++)
                if (got[i] != AddOne(p, x, ys[i], subtract))
                {
                    if (wrong.Count == max) return null;
                    wrong.Add(((sbyte)x, ys[i]));
                }
        }
        return wrong;
    }

    /// <summary>Whether <see cref="PrepareAddAffine"/> can prepare the form here: x64 with AVX2 and FMA, or arm64.</summary>
    internal static bool AffineSupported => (Avx2.IsSupported && Fma.IsSupported) || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;

    /// <summary>
    /// output = Add/Sub(a, b) of equal shapes by <paramref name="q"/> (<see cref="PrepareAddAffine"/>): per 16 elements,
    /// each input sign-extended to int32 and converted to float32 (exact), Alpha x + (Beta y + Gamma) by two FMAs,
    /// converted to int32 with round to nearest (the MXCSR default, which .NET keeps), narrowed with saturation and clamped.
    /// Each step reads its inputs before it stores, so the output may be either input (in place). The last 1-15 elements
    /// go through the same step over zero-padded copies.
    /// </summary>
    internal static void AddS8Affine(AddAffine q, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        int n = output.Length;
        int i = Steps(q, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), ref MemoryMarshal.GetReference(output), n);
        if (i < n)
            AffineTail(q, a.Slice(i), b.Slice(i), output.Slice(i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Steps(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n)
        => Avx2.IsSupported ? AffineSteps(q, ref ra, ref rb, ref ro, n) : AffineStepsAdvSimd(q, ref ra, ref rb, ref ro, n);

    // The whole 16-element steps; returns where the tail starts. (No stackalloc here: with one, the JIT kept the
    // constants and the index in memory, 25 cycles per step on Zen 1.)
    private static int AffineSteps(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n)
    {
        if (q.Margin != 0)
            return CheckedSteps(q, ref ra, ref rb, ref ro, n);
        int i = Avx512F.IsSupported ? AffineSteps512(q, ref ra, ref rb, ref ro, n) : 0;
        if (q.PatchX is not null)
            return PatchedSteps(q, ref ra, ref rb, ref ro, n, i);
        if (n - i < 16) return i;
        var k = new AffineKernel(q);
        for (; i <= n - 16; i += 16)
            k.Add16(ref Unsafe.Add(ref ra, i), ref Unsafe.Add(ref rb, i), ref Unsafe.Add(ref ro, i));
        return i;
    }

    /// <summary>
    /// The patched form's whole 16-element steps (<see cref="AddAffine.PatchX"/>): the plain step, then for each of the two
    /// patches the lanes whose inputs equal its pair (two VPCMPEQB and a VPAND) take its byte (VPBLENDVB). The inputs are
    /// read before the store, so in place too.
    /// </summary>
    private static int PatchedSteps(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n, int from)
    {
        var k = new AffineKernel(q);
        var x0 = Vector128.Create(q.PatchX![0]);
        var y0 = Vector128.Create(q.PatchY![0]);
        var c0 = Vector128.Create(q.PatchOut![0]);
        var x1 = Vector128.Create(q.PatchX[1]);
        var y1 = Vector128.Create(q.PatchY[1]);
        var c1 = Vector128.Create(q.PatchOut[1]);
        int i = from;
        for (; i <= n - 16; i += 16)
        {
            ref sbyte a = ref Unsafe.Add(ref ra, i);
            ref sbyte b = ref Unsafe.Add(ref rb, i);
            var va = Vector128.LoadUnsafe(ref a);
            var vb = Vector128.LoadUnsafe(ref b);
            var bytes = k.Compute16(ref a, ref b);
            bytes = Vector128.ConditionalSelect(Vector128.Equals(va, x0) & Vector128.Equals(vb, y0), c0, bytes);
            bytes = Vector128.ConditionalSelect(Vector128.Equals(va, x1) & Vector128.Equals(vb, y1), c1, bytes);
            bytes.StoreUnsafe(ref Unsafe.Add(ref ro, i));
        }
        return i;
    }

    /// <summary>
    /// The checked form's whole 16-element steps (<see cref="AddAffine.Margin"/>): a step whose values all lie farther than
    /// the margin from a rounding boundary is stored as computed; one that does not is recomputed element by element by
    /// the reference (reading each element's inputs before writing it, so in place too).
    /// </summary>
    private static int CheckedSteps(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n)
    {
        int i = 0;
        while (true)
        {
            // The run of steps up to the next one to recompute: no call inside it, so the constants stay in registers
            // (every vector register is caller-saved).
            i = CheckedRun(q, ref ra, ref rb, ref ro, i, n);
            if (i > n - 16)
                return i;
            ExactStep(q, ref Unsafe.Add(ref ra, i), ref Unsafe.Add(ref rb, i), ref Unsafe.Add(ref ro, i));
            i += 16;
        }
    }

    /// <summary>Checked steps from <paramref name="i"/> until one must be recomputed (its index returned, nothing stored) or none is left.</summary>
    private static int CheckedRun(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int i, int n)
    {
        var k = new AffineKernel(q);
        var edge = Vector256.Create(0.5f - q.Margin);
        for (; i <= n - 16; i += 16)
            if (!k.Add16Checked(ref Unsafe.Add(ref ra, i), ref Unsafe.Add(ref rb, i), ref Unsafe.Add(ref ro, i), edge))
                break;
        return i;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ExactStep(AddAffine q, ref sbyte a, ref sbyte b, ref sbyte o)
    {
        var p = q.Params;
        for (int j = 0; j < 16; j++)
            Unsafe.Add(ref o, j) = AddOne(p, Unsafe.Add(ref a, j), Unsafe.Add(ref b, j), q.Subtract);
    }

    // The last 1-15 elements through the same step over zero-padded copies.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AffineTail(AddAffine q, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        Span<sbyte> tail = stackalloc sbyte[3 * 16];
        tail.Clear();
        a.CopyTo(tail);
        b.CopyTo(tail.Slice(16));
        ref sbyte t = ref MemoryMarshal.GetReference(tail);
        Steps(q, ref t, ref Unsafe.Add(ref t, 16), ref Unsafe.Add(ref t, 32), 16);
        tail.Slice(32, output.Length).CopyTo(output);
    }

    /// <summary>The constants of <see cref="AddS8Affine"/> in registers.</summary>
    private readonly struct AffineKernel
    {
        private readonly Vector256<float> _alpha, _beta, _gamma;
        private readonly Vector128<sbyte> _min, _max;

        public AffineKernel(AddAffine q)
        {
            _alpha = Vector256.Create(q.Alpha);
            _beta = Vector256.Create(q.Beta);
            _gamma = Vector256.Create(q.Gamma);
            _min = Vector128.Create(q.Min);
            _max = Vector128.Create(q.Max);
        }

        /// <summary><see cref="Add16"/>'s bytes, clamped, not stored.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<sbyte> Compute16(ref sbyte a, ref sbyte b)
            => Bytes(Half(ref a, ref b), Half(ref Unsafe.Add(ref a, 8), ref Unsafe.Add(ref b, 8)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add16(ref sbyte a, ref sbyte b, ref sbyte o) => Compute16(ref a, ref b).StoreUnsafe(ref o);

        /// <summary>
        /// As <see cref="Add16"/>, storing only where no value lies within the margin of a rounding boundary:
        /// |v - float(round(v))| &lt; <paramref name="edge"/> (0.5 - margin) in every lane; false (nothing stored) otherwise.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Add16Checked(ref sbyte a, ref sbyte b, ref sbyte o, Vector256<float> edge)
        {
            var lo = HalfChecked(ref a, ref b, edge, out var nearLo);
            var hi = HalfChecked(ref Unsafe.Add(ref a, 8), ref Unsafe.Add(ref b, 8), edge, out var nearHi);
            var near = nearLo | nearHi;
            if (!Avx.TestZ(near, near))
                return false;
            Bytes(lo, hi).StoreUnsafe(ref o);
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<int> HalfChecked(ref sbyte a, ref sbyte b, Vector256<float> edge, out Vector256<float> near)
        {
            var v = Value(ref a, ref b);
            var r = Avx.ConvertToVector256Int32(v);
            near = Avx.CompareGreaterThanOrEqual(Vector256.Abs(v - Avx.ConvertToVector256Single(r)), edge);
            return r;
        }

        // 8 elements: VPMOVSXBD from memory, VCVTDQ2PS, two FMAs, VCVTPS2DQ.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<int> Half(ref sbyte a, ref sbyte b) => Avx.ConvertToVector256Int32(Value(ref a, ref b));

        // Alpha x + (Beta y + Gamma) for 8 elements (two roundings, as PrepareAddAffine's checks compute it).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector256<float> Value(ref sbyte a, ref sbyte b)
            => Fma.MultiplyAdd(_alpha, SimdOps256.EightToSingle(ref a), Fma.MultiplyAdd(_beta, SimdOps256.EightToSingle(ref b), _gamma));

        // 16 results narrowed with saturation and clamped to the activation bounds.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector128<sbyte> Bytes(Vector256<int> lo, Vector256<int> hi) => Vector128.Min(Vector128.Max(SimdOps256.Pack16(lo, hi), _min), _max);
    }
}
