using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// <see cref="Math.QuantMath.MultiplyByQuantizedMultiplier"/> plus output offset and activation clamp for 8 channels
/// (one per int32 lane, each with its own multiplier and shift, left or right), narrowed to int8 in registers: for
/// kernels that keep one group of channels in registers while they run over many pixels (the depthwise and
/// one-input-channel convolutions), so no accumulator is stored and reloaded. The per-lane operands are derived
/// once per group. Bit for bit the reference for every multiplier (including int.MinValue's saturation) and shift
/// in [-31, 30]; the bounds must lie within int8 with min &lt;= max (<see cref="BoundsFit"/>), so that narrowing
/// with saturation and then clamping bytes equals clamping then narrowing.
/// </summary>
internal readonly struct ChannelRequantizer256
{
    private readonly Vector256<int> _left, _right, _m, _mOdd, _mask, _half, _off;
    private readonly Vector128<sbyte> _min, _max;
    private readonly bool _anyLeft, _saturates, _oneRounding, _clamped, _folded, _float;
    private readonly Simd.SimdOps512.RightRequantizer256 _rightOnly;
    private readonly Simd.FloatRequantizer256 _floatForm;

    /// <summary>
    /// Whether <see cref="Apply(Vector256{int})"/> takes twice the sum of products without the group's start value
    /// (<see cref="Folding"/>) rather than the accumulator.
    /// </summary>
    public bool Folded => _folded;

    /// <summary>
    /// For a kernel that keeps the group's weights in registers: where the exact one-rounding form applies without its
    /// sign term (the table covers the op, <paramref name="from"/> is even and the op clamps negatives away: SimdOps512
    /// remarks 5 and 6), the start values <paramref name="init"/> (the filter's folded bias) are moved into the form's
    /// 64-bit constants and <see cref="Folded"/> is true: the kernel doubles its weights and passes the sum of products
    /// alone, which drops the bias addition and the doubling per output vector. Otherwise as the other constructor.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ChannelRequantizer256 Folding(Simd.RightRequantTable? table, int from, Vector256<int> multiplier, Vector256<int> shift, int outputOffset,
        int activationMin, int activationMax, Vector256<int> init)
    {
        var q = new ChannelRequantizer256(table, from, multiplier, shift, outputOffset, activationMin, activationMax);
        return q._oneRounding && q._clamped ? new ChannelRequantizer256(q, init) : q;
    }

    /// <summary>
    /// This requantizer through the float form (<see cref="Simd.FloatRequant"/>) where <paramref name="table"/> has it for
    /// the 8 channels from <paramref name="from"/>, else itself. The table must match what <see cref="Apply(Vector256{int})"/>
    /// is given: a <see cref="Simd.FloatRequantTable.Folded"/> one for a <see cref="Folded"/> requantizer (twice the sum of
    /// products), an unfolded one otherwise (the accumulators).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer256 WithFloat(Simd.FloatRequantTable? table, int from)
        => table is not null && table.Folded == _folded && table.GroupMode(from) != Simd.FloatRequantTable.BlockMode.Exact
            ? new ChannelRequantizer256(this, new Simd.FloatRequantizer256(table, from, doubled: _folded))
            : this;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ChannelRequantizer256(in ChannelRequantizer256 q, Simd.FloatRequantizer256 form)
    {
        this = q;
        _floatForm = form;
        _float = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ChannelRequantizer256(in ChannelRequantizer256 q, Vector256<int> init)
    {
        this = q;
        // 2 Init is within int32 (|Init| <= A < 2^30), so VPMULDQ's 2 Init M is exact.
        _rightOnly = q._rightOnly.WithStart(init + init);
        _folded = true;
    }

    /// <summary>
    /// As the other constructor; where <paramref name="table"/> (the op's, <see cref="Simd.RightRequantTable"/>) covers the op
    /// and <paramref name="from"/> is even, <see cref="Apply(Vector256{int})"/> takes the exact one-rounding form on the doubled
    /// accumulators (<see cref="Simd.SimdOps512.RightRequantizer256"/>: AVX2 instructions only; about half the operations
    /// of the general form, which measured 1.5-1.8x slower per depthwise layer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer256(Simd.RightRequantTable? table, int from, Vector256<int> multiplier, Vector256<int> shift, int outputOffset,
        int activationMin, int activationMax)
        : this(multiplier, shift, outputOffset, activationMin, activationMax)
    {
        if (table is not null && table.Covered && (from & 1) == 0)
        {
            _oneRounding = true;
            _clamped = table.ClampsNegatives; // under a fused ReLU the sign term is dropped (SimdOps512 remark 5)
            _rightOnly = new Simd.SimdOps512.RightRequantizer256(table, from);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer256(Vector256<int> multiplier, Vector256<int> shift, int outputOffset, int activationMin, int activationMax)
    {
        // The left shift and the saturation fix-up only where a lane of the group needs them.
        _anyLeft = Vector256.GreaterThanAny(shift, Vector256<int>.Zero);
        _saturates = Vector256.EqualsAny(multiplier, Vector256.Create(int.MinValue));
        _left = Vector256.Max(shift, Vector256<int>.Zero);
        _right = _left - shift;
        _m = multiplier;
        _mOdd = Avx2.ShiftRightLogical(multiplier.AsInt64(), 32).AsInt32();
        _mask = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, _right.AsUInt32()) - Vector256<int>.One;
        _half = Vector256.ShiftRightArithmetic(_mask, 1);
        _off = Vector256.Create(outputOffset);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
    }

    /// <summary>Whether the activation bounds allow this requantizer (within int8, min &lt;= max).</summary>
    public static bool BoundsFit(int activationMin, int activationMax) => activationMin >= -128 && activationMax <= 127 && activationMin <= activationMax;

    /// <summary>The 8 int8 results of 8 accumulators, in the low 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector256<int> acc)
    {
        var v = Rounded(acc);
        var w = Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());
        return Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(w, w), _min), _max);
    }

    /// <summary>
    /// The 8 int8 results of each of two pixels' accumulators of this group: <paramref name="a"/>'s in the low 8 bytes,
    /// <paramref name="b"/>'s in the high 8. One narrowing, clamp and shuffle for both, where two <see cref="Apply(Vector256{int})"/>
    /// take two of each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> ApplyTwo(Vector256<int> a, Vector256<int> b)
    {
        // VPACKSSDW packs within 128-bit lanes: [a0-3, b0-3 | a4-7, b4-7]; the byte pack of the two halves gives
        // [a0-3, b0-3, a4-7, b4-7], which one VPSHUFD puts in pixel order.
        var w = Avx2.PackSignedSaturate(Rounded(a), Rounded(b));
        var bytes = Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(w.GetLower(), w.GetUpper()), _min), _max);
        return Sse2.Shuffle(bytes.AsInt32(), 0b11_01_10_00).AsSByte();
    }

    /// <summary>The 16 int8 results of two groups' accumulators (this requantizer for a, <paramref name="second"/> for b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector256<int> a, in ChannelRequantizer256 second, Vector256<int> b)
    {
        var va = Rounded(a);
        var vb = second.Rounded(b);
        var w = Avx2.Permute4x64(Avx2.PackSignedSaturate(va, vb).AsInt64(), 0b11_01_10_00).AsInt16();
        return Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(w.GetLower(), w.GetUpper()), _min), _max);
    }

    /// <summary>The requantized accumulators plus the output offset, in int32 (not yet clamped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<int> Rounded(Vector256<int> acc)
    {
        if (_float)
            return _floatForm.Apply(acc);
        if (_oneRounding)
            return _rightOnly.Apply(_folded ? acc : acc + acc, _clamped);
        var x = _anyLeft ? Avx2.ShiftLeftLogicalVariable(acc, _left.AsUInt32()) : acc;
        var nudge = Vector256.Create(1L << 30);
        // The doubling high multiply: bits 31..62 of x * m + 2^30 (a floor division, which equals the reference's
        // sign-dependent nudge and truncation), even lanes in place, odd lanes moved up by one bit.
        var even = Avx2.ShiftRightLogical(Avx2.Multiply(x, _m) + nudge, 31).AsInt32();
        var odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), _mOdd) + nudge, 1).AsInt32();
        var r = Avx2.Blend(even, odd, 0b1010_1010);
        if (_saturates)
            r ^= Vector256.Equals(r, Vector256.Create(int.MinValue)); // int.MinValue x int.MinValue saturates to int.MaxValue
        // The rounding right shift, ties away from zero; the offset is added in int32 (wrapping, as the reference).
        var threshold = _half - Vector256.ShiftRightArithmetic(r, 31);
        return Avx2.ShiftRightArithmeticVariable(r, _right.AsUInt32()) - Vector256.GreaterThan(r & _mask, threshold) + _off;
    }
}

/// <summary>
/// <see cref="ChannelRequantizer256"/> for 16 channels in one 512-bit vector (AVX-512F/BW), with the two roundings
/// of the reference folded into one exact 64-bit arithmetic shift (VPSRAVQ, which AVX2 lacks). With P = x x m (64-bit)
/// and a right shift e, the reference computes r = floor((P + 2^30) / 2^31) (the doubling high multiply: its
/// sign-dependent nudge and truncation equal this floor) and then floor((r + 2^(e-1) - [r &lt; 0]) / 2^e) for e &gt;= 1
/// (round half away from zero). Since floor(A / 2^31) + D = floor((A + D x 2^31) / 2^31) for an integer D, and
/// floor(floor(B / 2^31) / 2^e) = floor(B / 2^(31+e)), that is floor((P + 2^30 + 2^(e+30) - [P &lt; -2^30] x 2^31) / 2^(31+e)):
/// one add, one compare-and-subtract and one shift per 64-bit lane (|P| &lt;= 2^62, so no overflow). The one case where
/// the reference saturates (x = m = int.MinValue) gives int.MinValue here, which no other input gives, and is mapped
/// to int.MaxValue where a group has such a multiplier. Callers check <see cref="Avx512BW.IsSupported"/>.
/// </summary>
internal readonly struct ChannelRequantizer512
{
    private readonly Vector512<int> _left, _mEven, _mOdd, _off;
    private readonly Vector512<long> _addEven, _addOdd, _corrEven, _corrOdd, _shiftEven, _shiftOdd;
    private readonly Vector128<sbyte> _min, _max;
    private readonly bool _anyLeft, _saturates, _right, _clampsNegatives, _float;
    private readonly Simd.SimdOps512.RightRequantizer _rightOnly;
    private readonly Simd.FloatRequantizer512 _floatForm;

    /// <summary>
    /// The requantizer of the 16 channels from <paramref name="from"/> (or, with <paramref name="twice8"/>, the 8 channels from
    /// it in both halves: <paramref name="multiplier"/> and <paramref name="shift"/> then hold them twice): through the float
    /// form (<see cref="Simd.FloatRequant"/>) where <paramref name="floatTable"/> (an unfolded one: <see cref="Apply"/> takes
    /// whole accumulators) has it for those channels, built without the exact forms' operands; else the exact one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ChannelRequantizer512 Create(Simd.RightRequantTable table, Simd.FloatRequantTable? floatTable, int from, Vector512<int> multiplier,
        Vector512<int> shift, int outputOffset, int activationMin, int activationMax, bool twice8 = false)
        => floatTable is not null && !floatTable.Folded && floatTable.RangeMode(from, twice8 ? 8 : 16) != Simd.FloatRequantTable.BlockMode.Exact
            ? new ChannelRequantizer512(twice8 ? Simd.FloatRequantizer512.Twice8(floatTable, from, doubled: false)
                : new Simd.FloatRequantizer512(floatTable, from, doubled: false), activationMin, activationMax)
            : new ChannelRequantizer512(table, from, multiplier, shift, outputOffset, activationMin, activationMax, twice8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ChannelRequantizer512(Simd.FloatRequantizer512 form, int activationMin, int activationMax)
    {
        _floatForm = form;
        _float = true;
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
    }

    /// <summary>
    /// As the other constructor; where <paramref name="table"/> (the op's, <see cref="Simd.RightRequantTable"/>) covers the op
    /// and <paramref name="from"/> is even, <see cref="Apply"/> takes its cheaper exact form on the doubled accumulators
    /// (<see cref="Simd.SimdOps512.RightRequantizer"/>, valid for right shifts and bounded accumulators only).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer512(Simd.RightRequantTable table, int from, Vector512<int> multiplier, Vector512<int> shift, int outputOffset,
        int activationMin, int activationMax, bool twice8 = false)
        : this(multiplier, shift, outputOffset, activationMin, activationMax)
    {
        if (table.Covered && (from & 1) == 0)
        {
            _right = true;
            _clampsNegatives = table.ClampsNegatives;
            _rightOnly = twice8 ? Simd.SimdOps512.RightRequantizer.Twice8(table, from) : new Simd.SimdOps512.RightRequantizer(table, from);
        }
    }

    /// <summary>
    /// The 8 channels from <paramref name="from"/> in both 256-bit halves (lanes c and 8 + c: channel from + c), for two
    /// pixels of 8 channels per vector; <paramref name="multipliers"/> and <paramref name="shifts"/> hold the 8 channels' values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ChannelRequantizer512 Twice8(Simd.RightRequantTable table, int from, Vector256<int> multipliers, Vector256<int> shifts,
        int outputOffset, int activationMin, int activationMax, Simd.FloatRequantTable? floatTable = null)
        => Create(table, floatTable, from, Avx512F.InsertVector256(multipliers.ToVector512Unsafe(), multipliers, 1),
            Avx512F.InsertVector256(shifts.ToVector512Unsafe(), shifts, 1), outputOffset, activationMin, activationMax, twice8: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer512(Vector512<int> multiplier, Vector512<int> shift, int outputOffset, int activationMin, int activationMax)
    {
        _left = Vector512.Max(shift, Vector512<int>.Zero);
        var right = _left - shift;
        _anyLeft = Vector512.GreaterThanAny(shift, Vector512<int>.Zero);
        _saturates = Vector512.EqualsAny(multiplier, Vector512.Create(int.MinValue));
        _mEven = multiplier;
        _mOdd = Avx512F.ShiftRightLogical(multiplier.AsInt64(), 32).AsInt32();
        // Per 64-bit lane: e (even channels in the low halves, odd ones in the high halves).
        var eEven = (right.AsInt64() & Vector512.Create(0xFFFFFFFFL));
        var eOdd = Avx512F.ShiftRightLogical(right.AsInt64(), 32);
        _addEven = Add(eEven);
        _addOdd = Add(eOdd);
        _corrEven = Vector512.ConditionalSelect(Vector512.GreaterThan(eEven, Vector512<long>.Zero), Vector512.Create(1L << 31), Vector512<long>.Zero);
        _corrOdd = Vector512.ConditionalSelect(Vector512.GreaterThan(eOdd, Vector512<long>.Zero), Vector512.Create(1L << 31), Vector512<long>.Zero);
        _shiftEven = eEven + Vector512.Create(31L);
        _shiftOdd = eOdd + Vector512.Create(31L);
        _off = Vector512.Create(outputOffset);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);

        static Vector512<long> Add(Vector512<long> e)
            => Vector512.Create(1L << 30) + Vector512.ConditionalSelect(Vector512.GreaterThan(e, Vector512<long>.Zero),
                Avx512F.ShiftLeftLogicalVariable(Vector512.Create(1L << 30), e.AsUInt64()), Vector512<long>.Zero);
    }

    /// <summary>The 16 int8 results of 16 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector512<int> acc)
    {
        if (_float)
            return Simd.SimdOps512.NarrowClamp(_floatForm.Apply(acc), _min, _max);
        if (_right)
        {
            var doubled = acc + acc;
            return Simd.SimdOps512.NarrowClamp(_clampsNegatives ? _rightOnly.ApplyClamped(doubled) : _rightOnly.Apply(doubled), _min, _max);
        }
        var x = _anyLeft ? Avx512F.ShiftLeftLogicalVariable(acc, _left.AsUInt32()) : acc;
        var threshold = Vector512.Create(-(1L << 30));
        var pe = Avx512F.Multiply(x, _mEven);
        var po = Avx512F.Multiply(Avx512F.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), _mOdd);
        var te = pe + _addEven;
        var to = po + _addOdd;
        te = Vector512.ConditionalSelect(Vector512.LessThan(pe, threshold), te - _corrEven, te);
        to = Vector512.ConditionalSelect(Vector512.LessThan(po, threshold), to - _corrOdd, to);
        var re = Avx512F.ShiftRightArithmeticVariable(te, _shiftEven.AsUInt64()).AsInt32();
        var ro = Avx512F.ShiftRightArithmeticVariable(to, _shiftOdd.AsUInt64()).AsInt32();
        // The low halves of both, back in channel order.
        var r = Avx512F.PermuteVar16x32x2(re, Vector512.Create(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30), ro);
        if (_saturates)
            r ^= Vector512.Equals(r, Vector512.Create(int.MinValue));
        var v = r + _off;
        return Vector128.Min(Vector128.Max(Avx512F.ConvertToVector128SByteWithSaturation(v), _min), _max);
    }
}

/// <summary>
/// A requantizer of 16 channels for kernels that keep a group's weights in registers: it takes the sum of products
/// without the folded bias (<see cref="Simd.PackedFilter.Init"/>) and adds that itself, or has it folded in.
/// </summary>
internal interface IGroupRequantizer512
{
    /// <summary>The 16 int8 results of 16 channels whose accumulators are Init + (<paramref name="sum"/> / <see cref="WeightScale"/>).</summary>
    Vector128<sbyte> Apply(Vector512<int> sum);

    /// <summary>What the kernel multiplies its weights by (1 or 2) before summing products into <see cref="Apply"/>'s argument.</summary>
    int WeightScale { get; }
}

/// <summary><see cref="ChannelRequantizer512"/> after adding the folded bias: every multiplier and shift.</summary>
internal readonly struct BiasedRequantizer512 : IGroupRequantizer512
{
    private readonly ChannelRequantizer512 _q;
    private readonly Vector512<int> _init;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BiasedRequantizer512(in ChannelRequantizer512 q, Vector512<int> init)
    {
        _q = q;
        _init = init;
    }

    public int WeightScale => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector512<int> sum) => _q.Apply(sum + _init);
}

/// <summary>
/// <see cref="Simd.SimdOps512.RightRequantizer.ApplyClamped(Vector512{int})"/> (the exact one-rounding form for right shifts and bounded
/// accumulators, without the sign term: only for ops whose activationMin &gt;= outputOffset, <see cref="Simd.RightRequantTable.ClampsNegatives"/>)
/// with the folded bias moved into its 64-bit constants. That form computes the high half of 2x M + 2B for the
/// accumulator x = Init + s (s: the sum of products), shifted right by r. With the weights doubled the kernel sums 2s
/// directly (|2w| &lt;= 256 fits the int16 of VPMADDWD; |2s| is far below 2^31 for the few taps of the kernels using
/// this), and 2x M + 2B = 2s M + (2B + 2 Init M), the constant computed once per group in 64 bits. Both sides are the
/// same integer, which lies within int64 (<see cref="Simd.RightRequantTable.Covers"/>: |x| &lt;= A &lt; 2^30), so the
/// wrapping 64-bit sums are exact and the high halves equal. Per 16 outputs this drops the bias add and the doubling of
/// the accumulator, and the two byte clamps when the bounds are the whole int8 range (VPMOVSDB saturates). The constants
/// are <see cref="Simd.SimdOps512.RightRequantizer.WithStart"/>'s (the small-K GEMM's form) with 2 Init as the start.
/// </summary>
internal readonly struct FoldedRequantizer512 : IGroupRequantizer512
{
    private readonly Simd.SimdOps512.RightRequantizer _rq;
    private readonly Vector128<sbyte> _min, _max;
    private readonly bool _clamp;

    /// <summary>Channels [from, from + 16) of <paramref name="table"/> (<see cref="Applies"/>) with the folded bias <paramref name="init"/>.</summary>
    public FoldedRequantizer512(Simd.RightRequantTable table, int from, int[] init, int activationMin, int activationMax)
    {
        // 2 Init is within int32 (|Init| <= A < 2^30), so VPMULDQ's 2 Init M is exact.
        var start = Vector512.Create(new ReadOnlySpan<int>(init, from, 16));
        _rq = Simd.SimdOps512.RightRequantizer.AtAnyChannel(table, from).WithStart(start + start);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
        _clamp = activationMin > -128 || activationMax < 127;
    }

    /// <summary>Whether this form applies to the op of <paramref name="table"/>.</summary>
    public static bool Applies(Simd.RightRequantTable table) => table.Covered && table.ClampsNegatives;

    public int WeightScale => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector512<int> sum)
    {
        var v = Avx512F.ConvertToVector128SByteWithSaturation(_rq.ApplyClamped(sum, Simd.SimdOps512.RightRequantizer.HighHalves));
        return _clamp ? Vector128.Min(Vector128.Max(v, _min), _max) : v;
    }
}
