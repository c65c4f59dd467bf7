using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// A requantization in float32 that gives the reference's bytes, found and proven per channel when an op is prepared.
/// </summary>
/// <remarks>
/// <para>The reference maps an accumulator x to q(x) = clamp(MultiplyByQuantizedMultiplier(x, M, shift) + o, min, max).
/// The float form is f(x) = clamp(rint(fma(x, s, c)), min, max), with c = cNeg for x &lt; 0 and cPos otherwise: VCVTDQ2PS,
/// VFMADD and VCVTPS2DQ per 8 lanes (and a VBLENDVPS by the sign where cNeg != cPos), where the exact integer form
/// (<see cref="SimdOps512"/>) takes 8-10 instructions, two of them 64-bit multiplies.</para>
/// <para>Why a check at a few points proves f = q on a whole accumulator range. With M &gt; 0, q is a non-decreasing step
/// function of x. So is f on [-A, -1] and on [0, A] when s &gt; 0: the exact value x s + c grows with x (x is exact in
/// float32 for |x| &lt; 2^24), the FMA's one rounding to float32 and the conversion's rounding to the nearest integer (ties
/// to even) are both monotone, and so is the clamp. On one side, let a_k be its smallest x with q(x) &gt;= k, for each level
/// k that q reaches there above its value at the side's first x. Between consecutive points of P = {both ends of the side,
/// every a_k and a_k - 1} q is constant, and a non-decreasing f that equals q at both ends of such a stretch equals it all
/// along. So f = q on the side if and only if f = q on P: at most 2 + 2 x 255 points per side.</para>
/// <para>Finding s and c. q is about floor(x M 2^(shift - 31) + o + 1/2 + 2^(shift - 1)), the last term 2^shift lower for
/// x &lt; 0 (the reference's two roundings, <see cref="SimdOps512"/> remarks 1-3); rint takes 1/2 off. So s starts at
/// M 2^(shift - 31) rounded to float32, and for a given s each point of P bounds c from below (f(p) &gt;= q(p) when
/// q(p) &gt; min) or from above (f(p) &lt;= q(p) when q(p) &lt; max); f(p) is non-decreasing in c, so the valid c are an
/// interval of float32 values, each end found from its exact-arithmetic estimate by doubling steps and bisection. The
/// s within <see cref="SteppedS"/> units in the last place are ranked by the width of that interval in exact arithmetic
/// (float32's rounding of the result can only narrow it) and the widest few tried: first with one c for both sides, then
/// with one per side. Every point is then checked with the chosen operands. A channel with no fit keeps the exact integer
/// form, and so does every block of 8 channels that holds one (<see cref="FloatRequantTable"/>).</para>
/// </remarks>
internal static class FloatRequant
{
    /// <summary>The reference requantization of accumulator <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Reference(int x, int multiplier, int shift, int outputOffset, int min, int max)
        => System.Math.Clamp(QuantMath.MultiplyByQuantizedMultiplier(x, multiplier, shift) + outputOffset, min, max);

    /// <summary>The float form f(x) with the operands <paramref name="s"/>, <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Float(int x, float s, float c, int min, int max)
        => System.Math.Clamp((int)MathF.Round(MathF.FusedMultiplyAdd(x, s, c), MidpointRounding.ToEven), min, max);

    /// <summary>Units in the last place of s tried either side of the rounded value.</summary>
    private const int SteppedS = 12;

    /// <summary>
    /// Operands (s, c for x &lt; 0, c for x &gt;= 0) whose float form equals the reference for every accumulator in
    /// [-bound, bound] (remarks), or false. Needs multiplier &gt; 0, shift &lt;= 0 and bound &lt; 2^24.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryFit(int multiplier, int shift, int outputOffset, int min, int max, long bound, out float s, out float cNeg, out float cPos)
    {
        s = cNeg = cPos = 0;
        if (multiplier <= 0 || shift > 0 || shift < -31 || bound < 1 || bound >= 1 << 24 || min > max)
            return false;
        int a = (int)bound;
        // The points of [-A, -1] then those of [0, A], contiguous: one c for both sides is tried first (no blend per vector).
        Span<int> all = stackalloc int[4 + 4 * 256];
        Span<int> targets = stackalloc int[all.Length];
        int nNeg = Points(0, -a, -1, multiplier, shift, outputOffset, min, max, all, targets);
        if (nNeg < 0)
            return false;
        int nPos = Points(0, 0, a, multiplier, shift, outputOffset, min, max, all[nNeg..], targets[nNeg..]);
        if (nPos < 0)
            return false;
        var both = new Side(all[..(nNeg + nPos)], targets[..(nNeg + nPos)], min, max);
        var neg = new Side(all[..nNeg], targets[..nNeg], min, max);
        var pos = new Side(all.Slice(nNeg, nPos), targets.Slice(nNeg, nPos), min, max);
        float sf = (float)(multiplier * System.Math.ScaleB(1.0, shift - 31));
        if (!(sf > 0))
            return false;
        double c0 = outputOffset + System.Math.ScaleB(1.0, shift - 1);
        // The candidates for s in the order of their windows for c in exact arithmetic (widest first): only the float32
        // rounding of the result can still close such a window, so few need the float32 search.
        Span<float> candidates = stackalloc float[2 * SteppedS + 1];
        Span<double> widths = stackalloc double[candidates.Length];
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < candidates.Length; i++)
            {
                candidates[i] = Nudge(sf, i - SteppedS);
                widths[i] = pass == 0 ? both.Width(candidates[i]) : System.Math.Min(neg.Width(candidates[i]), pos.Width(candidates[i]));
            }
            widths.Sort(candidates, (x, y) => y.CompareTo(x));
            for (int i = 0; i < 4 && widths[i] > 0; i++)
            {
                float sc = candidates[i];
                if (pass == 0 && both.TryFitC(sc, c0, out float c))
                {
                    s = sc;
                    cNeg = cPos = c;
                    return true;
                }
                if (pass == 1 && neg.TryFitC(sc, c0 - System.Math.ScaleB(1.0, shift), out float cn) && pos.TryFitC(sc, c0, out float cp))
                {
                    s = sc;
                    cNeg = cn;
                    cPos = cp;
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>
    /// Operands (s, c) whose float form f(y) = clamp(rint(fma(y, s, c)), min, max) equals the reference of the accumulator
    /// <paramref name="start"/> + y for every y in [-bound, bound]: for kernels that leave the start value (the filter's
    /// folded bias) out of their sums. One c only (the reference's sign term follows the sign of start + y, not of y);
    /// the proof is the remarks' with the points taken over y.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryFitStart(int multiplier, int shift, int outputOffset, int min, int max, int start, long bound, out float s, out float c)
    {
        s = c = 0;
        if (multiplier <= 0 || shift > 0 || shift < -31 || bound < 1 || bound >= 1 << 24 || min > max
            || System.Math.Abs((long)start) + bound > int.MaxValue)
            return false;
        int a = (int)bound;
        Span<int> points = stackalloc int[2 + 2 * 256];
        Span<int> targets = stackalloc int[points.Length];
        int n = Points(start, -a, a, multiplier, shift, outputOffset, min, max, points, targets);
        if (n < 0)
            return false;
        var all = new Side(points[..n], targets[..n], min, max);
        float sf = (float)(multiplier * System.Math.ScaleB(1.0, shift - 31));
        if (!(sf > 0))
            return false;
        double c0 = outputOffset + System.Math.ScaleB(1.0, shift - 1) + (double)start * sf;
        Span<float> candidates = stackalloc float[2 * SteppedS + 1];
        Span<double> widths = stackalloc double[candidates.Length];
        for (int i = 0; i < candidates.Length; i++)
        {
            candidates[i] = Nudge(sf, i - SteppedS);
            widths[i] = all.Width(candidates[i]);
        }
        widths.Sort(candidates, (x, y) => y.CompareTo(x));
        for (int i = 0; i < 4 && widths[i] > 0; i++)
            if (all.TryFitC(candidates[i], c0, out c))
            {
                s = candidates[i];
                return true;
            }
        c = 0;
        return false;
    }

    /// <summary>
    /// The points of P (remarks) in [from, to] and q at each: both ends, and each threshold in the range and the accumulator
    /// before it. Returns how many, or -1 when q spans more than 256 levels there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Points(int start, int from, int to, int multiplier, int shift, int outputOffset, int min, int max, Span<int> points, Span<int> targets)
    {
        int n = 0;
        int lo = Reference(start + from, multiplier, shift, outputOffset, min, max), hi = Reference(start + to, multiplier, shift, outputOffset, min, max);
        if (hi - lo > 255)
            return -1;
        (points[n], targets[n++]) = (from, lo);
        (points[n], targets[n++]) = (to, hi);
        // q(x) is about floor(x S + o + 1/2 + 2^(shift - 1)) (remarks): each threshold from that estimate, then walked to the exact one.
        double scale = multiplier * System.Math.ScaleB(1.0, shift - 31), offset = outputOffset + 0.5 + System.Math.ScaleB(1.0, shift - 1);
        for (int k = lo + 1; k <= hi; k++)
        {
            // The smallest x in (from, to] with q(start + x) >= k: q(start + from) < k <= q(start + to).
            int h = (int)System.Math.Clamp(System.Math.Ceiling((k - offset) / scale) - start, from + 1, to);
            while (h > from + 1 && Reference(start + h - 1, multiplier, shift, outputOffset, min, max) >= k) h--;
            while (Reference(start + h, multiplier, shift, outputOffset, min, max) < k) h++;
            (points[n], targets[n++]) = (h, Reference(start + h, multiplier, shift, outputOffset, min, max));
            (points[n], targets[n++]) = (h - 1, Reference(start + h - 1, multiplier, shift, outputOffset, min, max));
        }
        return n;
    }

    /// <summary>The points of one side (or both) with their reference values, and the clamp bounds.</summary>
    private readonly ref struct Side(ReadOnlySpan<int> points, ReadOnlySpan<int> targets, int min, int max)
    {
        private readonly ReadOnlySpan<int> _points = points, _targets = targets;

        /// <summary>The width of the interval of real c for which x s + c lands in each point's rounding interval, in double.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Width(float s)
        {
            double lower = double.NegativeInfinity, upper = double.PositiveInfinity;
            for (int i = 0; i < _points.Length; i++)
            {
                double xs = (double)_points[i] * s;
                int t = _targets[i];
                if (t > min) lower = System.Math.Max(lower, t - 0.5 - xs);
                if (t < max) upper = System.Math.Min(upper, t + 0.5 - xs);
            }
            return upper - lower;
        }

        /// <summary>A float32 c for which the float form gives every point's reference value with this s (the one nearest <paramref name="c0"/>), or false.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool TryFitC(float s, double c0, out float c)
        {
            // The valid c as ordered integers of float32 bit patterns (monotone with the value for finite floats).
            c = 0;
            long lower = long.MinValue, upper = long.MaxValue;
            for (int i = 0; i < _points.Length; i++)
            {
                int x = _points[i], t = _targets[i];
                if (t > min)
                {
                    // The smallest c with rint(fma(x, s, c)) >= t.
                    long k = First(Order((float)(Boundary(t) - (double)x * s)), x, s, t, min, max);
                    if (k == long.MaxValue)
                        return false;
                    lower = System.Math.Max(lower, k);
                }
                if (t < max)
                {
                    // The largest c with rint(fma(x, s, c)) <= t: one below the smallest with rint(...) > t.
                    long k = First(Order((float)(Boundary(t + 1) - (double)x * s)), x, s, t + 1, min, max);
                    if (k == long.MaxValue)
                        return false;
                    upper = System.Math.Min(upper, k - 1);
                }
                if (lower > upper)
                    return false;
            }
            long ideal = Order((float)c0);
            c = Unorder(System.Math.Clamp(ideal, lower == long.MinValue ? ideal : lower, upper == long.MaxValue ? ideal : upper));
            for (int i = 0; i < _points.Length; i++)
                if (Float(_points[i], s, c, min, max) != _targets[i])
                    return false;
            return true;
        }
    }

    /// <summary>
    /// About where the exact x s + c must reach for rint(fma(x, s, c)) &gt;= t: t - 1/2 rounds to t when t is even (ties to
    /// even), so half a unit of the result below it suffices; when t is odd the result must pass t - 1/2.
    /// </summary>
    private static double Boundary(int t)
    {
        float v = t - 0.5f;
        double half = ((double)MathF.BitIncrement(MathF.Abs(v)) - MathF.Abs(v)) / 2;
        return (t & 1) == 0 ? v - half : v + half;
    }

    /// <summary><see cref="Order"/> of float.MaxValue: ordered floats beyond it are infinities and NaNs.</summary>
    private const long MaxFinite = 0x7F7F_FFFF;

    /// <summary>
    /// The smallest ordered float k with rint(fma(x, s, Unorder(k))) clamped &gt;= t (false below it, true from there on),
    /// searched from <paramref name="start"/> in doubling steps and then by halves; long.MaxValue if not among the finite floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long First(long start, int x, float s, int t, int min, int max)
    {
        long lo, hi; // holds(hi), !holds(lo)
        if (Float(x, s, Unorder(start), min, max) >= t)
        {
            hi = start;
            for (long step = 1; ; step *= 2)
            {
                lo = hi - step;
                if (lo < -MaxFinite)
                    return long.MaxValue;
                if (Float(x, s, Unorder(lo), min, max) < t)
                    break;
                hi = lo;
            }
        }
        else
        {
            lo = start;
            for (long step = 1; ; step *= 2)
            {
                hi = lo + step;
                if (hi > MaxFinite)
                    return long.MaxValue;
                if (Float(x, s, Unorder(hi), min, max) >= t)
                    break;
                lo = hi;
            }
        }
        while (hi - lo > 1)
        {
            long mid = lo + (hi - lo) / 2;
            if (Float(x, s, Unorder(mid), min, max) >= t) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    private static float Nudge(float v, int steps)
    {
        for (; steps > 0; steps--) v = MathF.BitIncrement(v);
        for (; steps < 0; steps++) v = MathF.BitDecrement(v);
        return v;
    }

    /// <summary>float32 to an integer of the same order.</summary>
    private static long Order(float v)
    {
        int bits = BitConverter.SingleToInt32Bits(v);
        return bits >= 0 ? bits : -(long)(bits & int.MaxValue);
    }

    private static float Unorder(long k) => k >= 0 ? BitConverter.Int32BitsToSingle((int)k) : BitConverter.Int32BitsToSingle((int)(-k) | int.MinValue);
}

/// <summary>
/// One op's <see cref="FloatRequant"/> operands per output channel, padded with zeros to a multiple of 8 channels and 16
/// more (so that a 16-lane load from any channel stays inside), and for each group of 8 channels whether all of them have
/// them (<see cref="Mode"/> for the groups at multiples of 8, <see cref="GroupMode"/> for a group at any channel,
/// <see cref="RangeMode"/> for the real channels of any range). Built once per op and its parameters.
/// </summary>
internal sealed class FloatRequantTable
{
    /// <summary>A group's form: the exact integer one, the float one with one c, or with c by the accumulator's sign.</summary>
    public enum BlockMode : byte { Exact, OneC, SignC }

    private readonly BlockMode[] _groups, _channels, _range8, _range16;

    /// <summary>
    /// s per channel, halved, for sums that are twice the accumulator (or, <see cref="Folded"/>, twice the sum of products):
    /// fma(2x, s / 2, c) = fma(x, s, c) exactly.
    /// </summary>
    public float[] HalfS { get; }

    /// <summary>c for accumulators below zero, per channel.</summary>
    public float[] CNeg { get; }

    /// <summary>c for accumulators of zero and above, per channel.</summary>
    public float[] CPos { get; }

    /// <summary>Per block of 8 channels (channels 8b to 8b + 7).</summary>
    public BlockMode[] Mode { get; }

    /// <summary>Whether some channel has the float form.</summary>
    public bool Any { get; }

    /// <summary>Whether the operands take the sum of products without each channel's start value (one c per channel).</summary>
    public bool Folded { get; }

    private FloatRequantTable(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int min, int max, ReadOnlySpan<long> bounds,
        ReadOnlySpan<int> starts)
    {
        Folded = !starts.IsEmpty;
        int cout = multipliers.Length, blocks = (cout + 7) / 8;
        HalfS = new float[8 * blocks + 16];
        CNeg = new float[8 * blocks + 16];
        CPos = new float[8 * blocks + 16];
        var channel = _channels = new BlockMode[cout];
        for (int c = 0; c < cout; c++)
        {
            // The kernels' doubled sums must stay exact in float32: 2 x bound < 2^24.
            if (bounds[c] >= 1 << 23)
                continue;
            bool fit;
            float s, cn, cp;
            if (Folded)
            {
                // The sum of products alone is bounded by 128 x sum |w| = bound - |start|.
                fit = FloatRequant.TryFitStart(multipliers[c], shifts[c], outputOffset, min, max, starts[c], bounds[c] - System.Math.Abs((long)starts[c]),
                    out s, out cn);
                cp = cn;
            }
            else
                fit = FloatRequant.TryFit(multipliers[c], shifts[c], outputOffset, min, max, bounds[c], out s, out cn, out cp);
            if (!fit)
                continue;
            HalfS[c] = s * 0.5f;
            CNeg[c] = cn;
            CPos[c] = cp;
            channel[c] = cn == cp ? BlockMode.OneC : BlockMode.SignC;
        }
        // The group at channel c: exact if any of its channels is, else by sign if any needs it.
        _groups = new BlockMode[System.Math.Max(cout - 7, 0)];
        for (int c = 0; c < _groups.Length; c++)
        {
            var mode = BlockMode.OneC;
            for (int i = c; i < c + 8; i++)
            {
                if (channel[i] == BlockMode.Exact) { mode = BlockMode.Exact; break; }
                if (channel[i] == BlockMode.SignC) mode = BlockMode.SignC;
            }
            _groups[c] = mode;
        }
        Mode = new BlockMode[blocks];
        for (int b = 0; b < blocks; b++)
            Mode[b] = 8 * b + 8 <= cout ? _groups[8 * b] : BlockMode.Exact;
        Any = Array.IndexOf(channel, BlockMode.OneC) >= 0 || Array.IndexOf(channel, BlockMode.SignC) >= 0;
        // The kernels ask for vectors of 8 and 16 lanes at multiples of 8 once per tile: kept, not recomputed.
        _range8 = new BlockMode[blocks];
        _range16 = new BlockMode[blocks];
        for (int b = 0; b < blocks; b++)
        {
            _range8[b] = ModeOf(8 * b, 8);
            _range16[b] = ModeOf(8 * b, 16);
        }
    }

    /// <summary>The form of the 8 channels from <paramref name="c"/> (exact when they pass the last channel).</summary>
    public BlockMode GroupMode(int c) => (uint)c < (uint)_groups.Length ? _groups[c] : BlockMode.Exact;

    /// <summary>
    /// The form of channels [<paramref name="from"/>, <paramref name="from"/> + <paramref name="count"/>) that exist: exact if
    /// any of them is (or none exists), else by sign if any needs it. For a vector whose last lanes pass the op's last
    /// channel: those lanes' operands are zero, their results are not stored.
    /// </summary>
    public BlockMode RangeMode(int from, int count)
    {
        if ((from & 7) == 0 && (uint)(from >> 3) < (uint)_range8.Length && (count == 8 || count == 16))
            return count == 8 ? _range8[from >> 3] : _range16[from >> 3];
        return ModeOf(from, count);
    }

    private BlockMode ModeOf(int from, int count)
    {
        int end = System.Math.Min(from + count, _channels.Length);
        if (from < 0 || from >= end)
            return BlockMode.Exact;
        var mode = BlockMode.OneC;
        for (int c = from; c < end; c++)
        {
            if (_channels[c] == BlockMode.Exact)
                return BlockMode.Exact;
            if (_channels[c] == BlockMode.SignC)
                mode = BlockMode.SignC;
        }
        return mode;
    }

    /// <summary>
    /// The table for these parameters (built once per op and kept with its exact table: <see cref="RightRequantTable.FloatForm"/>).
    /// <paramref name="starts"/>: the channels' start values, for kernels whose sums leave them out (<see cref="Folded"/>);
    /// empty for whole accumulators.
    /// </summary>
    public static FloatRequantTable Build(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int min, int max,
        ReadOnlySpan<long> bounds, ReadOnlySpan<int> starts = default)
        => new(multipliers, shifts, outputOffset, min, max, bounds, starts.IsEmpty ? default : starts[..multipliers.Length]);
}

/// <summary>
/// <see cref="FloatRequant"/>'s form on 8 lanes: VCVTDQ2PS, (VBLENDVPS by the sign where the block has two c), VFMADD and
/// VCVTPS2DQ (round to nearest, ties to even: the MXCSR's default, which .NET does not change). Callers check Fma.
/// </summary>
internal readonly struct FloatRequantizer256
{
    private readonly Vector256<float> _s, _cNeg, _cPos;
    private readonly bool _sign;

    /// <summary>
    /// The 8 channels from <paramref name="from"/> (any channel) of <paramref name="table"/>; <paramref name="doubled"/>: the
    /// sums are 2x. Callers check that the channels' <see cref="FloatRequantTable.RangeMode"/> is not exact.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FloatRequantizer256(FloatRequantTable table, int from, bool doubled)
    {
        var half = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.HalfS), (nuint)from);
        _s = doubled ? half : half + half;
        _cNeg = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.CNeg), (nuint)from);
        _cPos = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.CPos), (nuint)from);
        _sign = table.RangeMode(from, 8) == FloatRequantTable.BlockMode.SignC;
    }

    /// <summary>The operands (for the 16-lane form of the same 8 channels twice, <see cref="FloatRequantizer512.Twice8"/>).</summary>
    internal Vector256<float> S => _s;
    internal Vector256<float> CNeg => _cNeg;
    internal Vector256<float> CPos => _cPos;
    internal bool Sign => _sign;

    /// <summary>rint(fma(x, s, c)) per lane, before the clamp (the caller narrows with saturation and clamps as bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Apply(Vector256<int> x)
    {
        var f = Avx.ConvertToVector256Single(x);
        // int -> float gives +0 for 0, so the sign bit is exactly x < 0.
        var c = _sign ? Avx.BlendVariable(_cPos, _cNeg, f) : _cPos;
        return Avx.ConvertToVector256Int32(Fma.MultiplyAdd(f, _s, c));
    }
}

/// <summary>
/// <see cref="FloatRequant"/>'s form on 16 lanes (AVX-512F): VCVTDQ2PS, (a blend by the sign where the channels have two c),
/// VFMADD and VCVTPS2DQ (round to nearest even, the MXCSR's default). Either 16 channels, or the same 8 channels twice
/// (<see cref="Twice8"/>: two pixels per vector). Callers check Avx512F and the channels' <see cref="FloatRequantTable.RangeMode"/>.
/// </summary>
internal readonly struct FloatRequantizer512 : Int8Gemm.IRequantizer16
{
    private readonly Vector512<float> _s, _cNeg, _cPos;
    private readonly bool _sign;

    private FloatRequantizer512(Vector512<float> s, Vector512<float> cNeg, Vector512<float> cPos, bool sign)
    {
        _s = s;
        _cNeg = cNeg;
        _cPos = cPos;
        _sign = sign;
    }

    /// <summary>The 16 channels from <paramref name="from"/> (any channel) of <paramref name="table"/>; <paramref name="doubled"/>: the sums are 2x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FloatRequantizer512(FloatRequantTable table, int from, bool doubled)
    {
        var half = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.HalfS), (nuint)from);
        _s = doubled ? half : half + half;
        _cNeg = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.CNeg), (nuint)from);
        _cPos = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.CPos), (nuint)from);
        _sign = table.RangeMode(from, 16) == FloatRequantTable.BlockMode.SignC;
    }

    /// <summary>The 8 channels from <paramref name="from"/> in both 256-bit halves (lanes 0-7 one pixel, 8-15 the next).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatRequantizer512 Twice8(FloatRequantTable table, int from, bool doubled)
    {
        var q = new FloatRequantizer256(table, from, doubled);
        return new(Vector512.Create(q.S, q.S), Vector512.Create(q.CNeg, q.CNeg), Vector512.Create(q.CPos, q.CPos), q.Sign);
    }

    /// <summary>
    /// The 4 channels from <paramref name="from"/> in each 128-bit quarter (lanes c, 4 + c, 8 + c, 12 + c: four pixels of 4
    /// channels).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatRequantizer512 Four4(FloatRequantTable table, int from, bool doubled)
    {
        var half = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.HalfS), (nuint)from);
        var s = doubled ? half : half + half;
        var cNeg = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.CNeg), (nuint)from);
        var cPos = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.CPos), (nuint)from);
        return new(Four(s), Four(cNeg), Four(cPos),
            table.RangeMode(from, 4) == FloatRequantTable.BlockMode.SignC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Four(Vector128<float> v)
    {
        var two = Vector256.Create(v, v);
        return Vector512.Create(two, two);
    }

    /// <summary>rint(fma(x, s, c)) per lane, before the clamp (the caller narrows with saturation and clamps as bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<int> Apply(Vector512<int> x)
    {
        var f = Avx512F.ConvertToVector512Single(x);
        // int -> float gives +0 for 0, so the sign bit is exactly x < 0.
        var c = _sign ? Avx512F.BlendVariable(_cPos, _cNeg, f) : _cPos;
        return Avx512F.ConvertToVector512Int32(Avx512F.FusedMultiplyAdd(f, _s, c));
    }
}
