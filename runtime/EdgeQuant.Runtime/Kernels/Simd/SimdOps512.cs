using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// The 512-bit (AVX-512F/BW) requantization: 16 int32 accumulators of 16 output channels to 16 int8 outputs,
/// bit for bit <see cref="Math.QuantMath.MultiplyByQuantizedMultiplier"/> + output offset, clamped. Callers check
/// <see cref="Avx512BW.IsSupported"/>.
/// </summary>
/// <remarks>
/// <para>The exact form used here, and why it equals the reference. Write x for the accumulator, M for the channel's
/// multiplier, r = -shift for its right shift, o for the output offset. It applies to channels with M &gt;= 0 and
/// 1 &lt;= r &lt;= 31 (every channel of typical layers: their real multipliers are below 1/2), and to accumulators
/// with |x| &lt;= A where A &lt; 2^30 and A + 2^(r-1) + |o| x 2^r + 1 &lt;= 2^31 - 1 (<see cref="RightRequantTable.Covers"/>;
/// A comes from the weights and the int8 input range, <see cref="PackedFilter.MaxAccumulator"/>).</para>
/// <para>1. The reference's high multiply is h = trunc((x M + n) / 2^31) with n = 2^30 for x M &gt;= 0 and 1 - 2^30
/// otherwise; both cases are h = floor((x M + 2^30) / 2^31) (for x M = -y &lt; 0: trunc(-(y + 2^30 - 1) / 2^31) =
/// -floor((y + 2^30 - 1) / 2^31) = floor((2^30 - y) / 2^31)). Its saturating case (x = M = int.MinValue) needs
/// M &lt; 0. |x M| &lt; |x| 2^31, so |h| &lt;= |x|.</para>
/// <para>2. Its rounding shift is RoundingDivideByPOT(h, r) = floor(h / 2^r) + [h mod 2^r &gt; 2^(r-1) - 1 + [h &lt; 0]]
/// = floor((h + 2^(r-1) - [h &lt; 0]) / 2^r): with c = 2^(r-1) - [h &lt; 0] in [0, 2^r), floor((h + c) / 2^r) =
/// floor(h / 2^r) + [h mod 2^r + c &gt;= 2^r]. [h &lt; 0] may be replaced by [x &lt; 0]: with M &gt;= 0 they differ
/// only when x &lt; 0 and h = 0, where floor((2^(r-1) - 1) / 2^r) = floor(2^(r-1) / 2^r) = 0 for r &gt;= 1. Adding o
/// inside the floor adds o x 2^r to the numerator.</para>
/// <para>3. So out = floor((U + s) / 2^r) with U = h + 2^(r-1) + o 2^r = floor((x M + B) / 2^31) =
/// floor((2x M + 2B) / 2^32), B = 2^30 + 2^(30+r) + o 2^(31+r) (the added terms are multiples of 2^31 since r &gt;= 1),
/// and s = x &gt;&gt; 31 (0 or -1). The bounds keep U and U + s within int32, 2x within int32, and 2x M + 2B within
/// int64 (|x M + B| &lt;= A 2^31 + 2^30 + 2^(30+r) + |o| 2^(31+r) &lt; 2^62 + 2^30: the second bound times 2^31).</para>
/// <para>4. The kernels accumulate 2x directly (their activations are widened to 2 x the int8 value, their start
/// values doubled: exact, since |2 x int8| &lt;= 256 fits the int16 of VPMADDWD). VPMULDQ of 2x by M plus 2B is exact in
/// 64 bits for the even lanes, and for the odd lanes after a 32-bit shift down; U is then the high half of each
/// 64-bit sum (floor division by 2^32), gathered into 32-bit lanes by one VPERMT2D (AVX2: a shift and a blend);
/// VPSRAVD does the floor division by 2^r. Narrowing with signed saturation then clamping to [min, max] within int8
/// equals clamping then narrowing.</para>
/// <para>5. When activationMin &gt;= o (a fused ReLU or ReLU6: the lower bound is the output zero point) the sign term s
/// may be dropped (<see cref="RightRequantizer.ApplyClamped(Vector512{int})"/>): it is 0 for x &gt;= 0, and for x &lt; 0 (h &lt;= 0) both
/// floor((h + 2^(r-1) - 1) / 2^r) and floor((h + 2^(r-1)) / 2^r) are &lt;= 0, so either result is &lt;= o &lt;= activationMin
/// and the clamp makes both activationMin.</para>
/// <para>6. Without the sign term (5), x enters only through 2x M + 2B, so a start value b of every accumulator (x = b + y,
/// the filter's Init) may be moved into the constant: 2y M + (2b M + 2B) = 2x M + 2B, exactly, in wrapping 64-bit arithmetic
/// (<see cref="RightRequantizer.WithStart"/>); and 2y stays within int32, since |y| &lt;= 128 x sum |w| &lt;= A &lt; 2^30. The
/// kernels then skip one addition per output vector.</para>
/// <para>Per 16 outputs: VPSRLQ, 2 VPMULDQ, 2 VPADDQ, VPERMT2D, VPSRAD, VPADDD, VPSRAVD, VPMOVSDB and the two byte
/// clamps: 12 instructions, where the 8-lane AVX2 sequence of <see cref="SimdOps256"/> takes about 17 per 8.</para>
/// </remarks>
internal static class SimdOps512
{
    /// <summary>
    /// The 32 bytes at <paramref name="p"/> in both 256-bit halves. Not by <c>Avx512F.BroadcastVector256ToVector512</c>
    /// (VBROADCASTI64X4): .NET 10.0.12's JIT encodes that instruction's compressed 8-bit displacement in units of 16 bytes
    /// where the CPU reads units of 32 (EVEX disp8*N with N = 32 for this tuple), so with a constant offset folded into
    /// the address (p + 64 compiled as [reg+0x40], encoded as disp8 4) it loads from twice the offset. The Winograd
    /// packed tail read the wrong channels' weights that way once the JIT had optimized it (Cout 21-24, 40, 72 of the
    /// tests; Tier-0 code computed the address apart and was right). VBROADCASTI32X8 (AVX512DQ, on every CPU with
    /// AVX-512BW this runtime has met) is encoded right; without DQ, a 256-bit load and VINSERTI64X4 from the register.
    /// <c>JitEncodingTests</c> checks both forms at offsets where the displacement is compressed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<int> Broadcast256(void* p)
        => Avx512DQ.IsSupported ? Avx512DQ.BroadcastVector256ToVector512((int*)p) : Broadcast256Insert(p);

    /// <summary><see cref="Broadcast256"/> without AVX512DQ: a 256-bit load, then its copy inserted as the upper half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<int> Broadcast256Insert(void* p)
    {
        var v = Vector256.Load((int*)p);
        return Avx512F.InsertVector256(v.ToVector512Unsafe(), v, 1);
    }

    /// <summary>
    /// to[i] = table[from[i]] for i in [0, n), the 256-byte table in t0..t3 (AVX-512 VBMI: callers check): two VPERMI2B
    /// and a blend per 64 bytes; a length that is not a multiple of 64 ends with a step over the last 64 bytes, mapped
    /// from the input read before anything is stored, so <paramref name="to"/> may be <paramref name="from"/> (in place);
    /// below 64 bytes, byte by byte.
    /// </summary>
    public static void MapBytes(ref byte from, ref byte to, int n, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3)
    {
        if (n < 64)
        {
            Span<byte> table = stackalloc byte[256];
            ref byte tr = ref MemoryMarshal.GetReference(table);
            t0.StoreUnsafe(ref tr);
            t1.StoreUnsafe(ref tr, 64);
            t2.StoreUnsafe(ref tr, 128);
            t3.StoreUnsafe(ref tr, 192);
            for (int i = 0; i < n; i++)
                Unsafe.Add(ref to, i) = Unsafe.Add(ref tr, Unsafe.Add(ref from, i));
            return;
        }
        var last = Map64(Vector512.LoadUnsafe(ref from, (nuint)(n - 64)), t0, t1, t2, t3);
        int k = 0;
        for (; k + 64 <= n; k += 64)
            Map64(Vector512.LoadUnsafe(ref from, (nuint)k), t0, t1, t2, t3).StoreUnsafe(ref to, (nuint)k);
        if (k < n)
            last.StoreUnsafe(ref to, (nuint)(n - 64));
    }

    /// <summary>64 bytes through the 256-byte table t0..t3: VPERMI2B takes the index's low 7 bits, its top bit picks the half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<byte> Map64(Vector512<byte> x, Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3)
        => Vector512.ConditionalSelect(Vector512.LessThan(x.AsSByte(), Vector512<sbyte>.Zero).AsByte(),
            Avx512Vbmi.PermuteVar64x8x2(t2, x, t3), Avx512Vbmi.PermuteVar64x8x2(t0, x, t1));

    /// <summary>The 16-lane form of the requantization above, for one block of 16 channels.</summary>
    public readonly struct RightRequantizer
    {
        private readonly Vector512<int> _m, _mOdd;
        private readonly Vector512<long> _biasEven, _biasOdd;
        private readonly Vector512<uint> _right;

        /// <summary>The 16 channels from <paramref name="from"/> (a multiple of 8) of <paramref name="table"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer(RightRequantTable table, int from)
        {
            _m = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.M), (nuint)from);
            _mOdd = Avx512F.ShiftRightLogical(_m.AsInt64(), 32).AsInt32();
            _biasEven = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasEven), (nuint)(from / 2));
            _biasOdd = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasOdd), (nuint)(from / 2));
            _right = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.Right), (nuint)from);
        }

        /// <summary>
        /// The 16 channels from <paramref name="from"/> (any channel) of <paramref name="table"/>: from an odd channel the
        /// even lanes hold odd channels, so their 64-bit constants come from BiasOdd and the odd lanes' from BiasEven.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static RightRequantizer AtAnyChannel(RightRequantTable table, int from)
        {
            if ((from & 1) == 0)
                return new RightRequantizer(table, from);
            var m = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.M), (nuint)from);
            var right = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.Right), (nuint)from);
            return new RightRequantizer(m, Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasOdd), (nuint)(from / 2)),
                Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasEven), (nuint)(from / 2 + 1)), right);
        }

        /// <summary>
        /// Every lane with multiplier <paramref name="m"/> (&gt;= 0), 64-bit constant <paramref name="twoB"/> and right shift
        /// <paramref name="right"/>, for one requantization applied to 16 values (the caller computes 2B: remark 3, or
        /// 2^31 for a shift of 0, whose result is h of remark 1 alone, through <see cref="ApplyClamped(Vector512{int}, Vector512{int})"/>: no sign term).
        /// </summary>
        public static RightRequantizer Uniform(int m, long twoB, uint right)
            => new(Vector512.Create(m), Vector512.Create(twoB), Vector512.Create(twoB), Vector512.Create(right));

        private RightRequantizer(Vector512<int> m, Vector512<long> biasEven, Vector512<long> biasOdd, Vector512<uint> right)
        {
            _m = m;
            _mOdd = Avx512F.ShiftRightLogical(m.AsInt64(), 32).AsInt32();
            _biasEven = biasEven;
            _biasOdd = biasOdd;
            _right = right;
        }

        /// <summary>
        /// This requantizer for sums that leave out each lane's start value: <paramref name="doubledStart"/> (2 x the
        /// accumulator's start, Init) times the multiplier is folded into the 64-bit constants, so that
        /// <see cref="ApplyClamped(Vector512{int}, Vector512{int})"/> of 2 x (accumulator - start) gives what it gives for
        /// 2 x accumulator (remark 6). Only for <see cref="ApplyClamped(Vector512{int}, Vector512{int})"/>: Apply's sign term needs the whole accumulator.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer WithStart(Vector512<int> doubledStart)
        {
            var even = Avx512F.Multiply(doubledStart, _m) + _biasEven;
            var odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(doubledStart.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd;
            return new RightRequantizer(_m, even, odd, _right);
        }

        /// <summary>
        /// The 8 channels from <paramref name="from"/> (even) of <paramref name="table"/> in both 256-bit halves:
        /// lanes c and 8 + c hold channel from + c (two rows of 8 channels in one vector).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static unsafe RightRequantizer Twice8(RightRequantTable table, int from)
        {
            // The table is a multiple of 16 long, so the 8 channels' operands are there for any from below Cout.
            fixed (int* m = &table.M[from])
            fixed (uint* right = &table.Right[from])
            fixed (long* even = &table.BiasEven[from / 2])
            fixed (long* odd = &table.BiasOdd[from / 2])
                return new RightRequantizer(Broadcast256(m), Broadcast256(even).AsInt64(), Broadcast256(odd).AsInt64(), Broadcast256(right).AsUInt32());
        }

        /// <summary>
        /// The 4 channels from <paramref name="from"/> (even) of <paramref name="table"/> in each 128-bit quarter: lanes c, 4 + c,
        /// 8 + c and 12 + c hold channel from + c (four pixels of 4 channels in one vector).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static unsafe RightRequantizer Four4(RightRequantTable table, int from)
        {
            // As Twice8: the table is a multiple of 16 long, so the 4 channels' operands are there for any from below Cout.
            fixed (int* m = &table.M[from])
            fixed (uint* right = &table.Right[from])
            fixed (long* even = &table.BiasEven[from / 2])
            fixed (long* odd = &table.BiasOdd[from / 2])
                return new RightRequantizer(Avx512F.BroadcastVector128ToVector512(m), Avx512F.BroadcastVector128ToVector512((int*)even).AsInt64(),
                    Avx512F.BroadcastVector128ToVector512((int*)odd).AsInt64(), Avx512F.BroadcastVector128ToVector512(right));
        }

        /// <summary>
        /// The 4 channels from <paramref name="from"/> (a multiple of 8) of <paramref name="table"/>, each spread over 4
        /// consecutive lanes: lane 4c + i holds channel from + c (for four rows i of one channel in lanes side by side).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static RightRequantizer Spread4(RightRequantTable table, int from)
        {
            // Only the 4 channels' operands are read (from + 4 is within the table's padding for any from below Cout).
            var spread = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
            var m = Avx512F.PermuteVar16x32(Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.M), (nuint)from)
                .ToVector256Unsafe().ToVector512Unsafe(), spread);
            var right = Avx512F.PermuteVar16x32(Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.Right), (nuint)from)
                .ToVector256Unsafe().ToVector512Unsafe().AsInt32(), spread);
            // Both 32-bit lanes of 64-bit lane q hold channel from + q / 2: even channels' constants from BiasEven, odd ones' from BiasOdd.
            var bias = Avx512F.PermuteVar8x64x2(
                Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasEven), (nuint)(from / 2)).ToVector256Unsafe().ToVector512Unsafe(),
                Vector512.Create(0L, 0, 8, 8, 1, 1, 9, 9),
                Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasOdd), (nuint)(from / 2)).ToVector256Unsafe().ToVector512Unsafe());
            return new RightRequantizer(m, bias, bias, right.AsUInt32());
        }

        /// <summary>
        /// MultiplyByQuantizedMultiplier(x, M, -r) + outputOffset of 16 accumulators x, given as
        /// <paramref name="doubled"/> = 2x (see the class remarks).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> Apply(Vector512<int> doubled) => Apply(doubled, HighHalves);

        /// <summary>
        /// As <see cref="Apply(Vector512{int})"/>, with the gathering permutation <see cref="HighHalves"/> passed in by a
        /// loop that keeps it in a register.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> Apply(Vector512<int> doubled, Vector512<int> highHalves)
        {
            var even = Avx512F.Multiply(doubled, _m) + _biasEven;
            var odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(doubled.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd;
            // Lane 2i: the high half of even's 64-bit lane i (dword 2i + 1); lane 2i + 1: odd's (dword 16 + 2i + 1).
            var u = Avx512F.PermuteVar16x32x2(even.AsInt32(), highHalves, odd.AsInt32());
            return Avx512F.ShiftRightArithmeticVariable(u + Vector512.ShiftRightArithmetic(doubled, 31), _right);
        }

        /// <summary>
        /// <see cref="Apply(Vector512{int})"/> without the sign term, for ops whose activationMin &gt;= outputOffset (remark 5): equal to it
        /// after the clamp, not before.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> ApplyClamped(Vector512<int> doubled) => ApplyClamped(doubled, HighHalves);

        /// <summary>As <see cref="ApplyClamped(Vector512{int})"/>, with <see cref="HighHalves"/> passed in.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> ApplyClamped(Vector512<int> doubled, Vector512<int> highHalves)
        {
            var even = Avx512F.Multiply(doubled, _m) + _biasEven;
            var odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(doubled.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd;
            var u = Avx512F.PermuteVar16x32x2(even.AsInt32(), highHalves, odd.AsInt32());
            return Avx512F.ShiftRightArithmeticVariable(u, _right);
        }

        /// <summary>
        /// <see cref="Apply(Vector512{int}, Vector512{int})"/> with the sign term kept where <paramref name="signMask"/> is all ones
        /// and dropped where it is 0 (<see cref="ApplyClamped(Vector512{int}, Vector512{int})"/>): one form for a loop whose
        /// requantizations differ in that only, without a branch.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> ApplyMasked(Vector512<int> doubled, Vector512<int> highHalves, Vector512<int> signMask)
        {
            var even = Avx512F.Multiply(doubled, _m) + _biasEven;
            var odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(doubled.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd;
            var u = Avx512F.PermuteVar16x32x2(even.AsInt32(), highHalves, odd.AsInt32());
            return Avx512F.ShiftRightArithmeticVariable(u + (Vector512.ShiftRightArithmetic(doubled, 31) & signMask), _right);
        }

        /// <summary>The VPERMT2D indices that gather the high halves of the even and odd 64-bit sums into 16 lanes.</summary>
        public static Vector512<int> HighHalves
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => Vector512.Create(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
        }
    }

    /// <summary>
    /// The same exact form on 8 lanes with AVX2 instructions only (VPMULDQ, VPSRLQ, VPBLENDD, VPSRAVD), for the
    /// 8-channel rest of an op on AVX-512 machines.
    /// </summary>
    public readonly struct RightRequantizer256
    {
        private readonly Vector256<int> _m, _mOdd;
        private readonly Vector256<long> _biasEven, _biasOdd;
        private readonly Vector256<uint> _right;

        /// <summary>The 8 channels from <paramref name="from"/> (a multiple of 8) of <paramref name="table"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer256(RightRequantTable table, int from)
        {
            _m = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.M), (nuint)from);
            _mOdd = Avx2.ShiftRightLogical(_m.AsInt64(), 32).AsInt32();
            _biasEven = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasEven), (nuint)(from / 2));
            _biasOdd = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasOdd), (nuint)(from / 2));
            _right = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.Right), (nuint)from);
        }

        internal RightRequantizer256(Vector256<int> m, Vector256<int> mOdd, Vector256<long> biasEven, Vector256<long> biasOdd, Vector256<uint> right)
        {
            _m = m;
            _mOdd = mOdd;
            _biasEven = biasEven;
            _biasOdd = biasOdd;
            _right = right;
        }

        /// <summary>
        /// This requantizer with <paramref name="doubledStart"/> x M added to its 64-bit constants, as
        /// <see cref="RightRequantizer.WithStart"/>: <see cref="Apply(Vector256{int}, bool)"/> with clamped (no sign term) then
        /// takes the doubled sum without the start. Only for the clamped form: the sign term needs the whole accumulator.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer256 WithStart(Vector256<int> doubledStart)
            => new(_m, _mOdd, Avx2.Multiply(doubledStart, _m) + _biasEven,
                Avx2.Multiply(Avx2.ShiftRightLogical(doubledStart.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd, _right);

        /// <summary>As <see cref="RightRequantizer.Apply(Vector512{int})"/> for 8 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Apply(Vector256<int> doubled) => Apply(doubled, clamped: false);

        /// <summary><see cref="Apply(Vector256{int})"/>, without the sign term when <paramref name="clamped"/> (activationMin &gt;= outputOffset: remark 5).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Apply(Vector256<int> doubled, bool clamped)
        {
            var even = Avx2.ShiftRightLogical(Avx2.Multiply(doubled, _m) + _biasEven, 32).AsInt32();
            var odd = (Avx2.Multiply(Avx2.ShiftRightLogical(doubled.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd).AsInt32();
            var u = Avx2.Blend(even, odd, 0b1010_1010);
            return Avx2.ShiftRightArithmeticVariable(clamped ? u : u + Vector256.ShiftRightArithmetic(doubled, 31), _right);
        }
    }

    /// <summary>
    /// The same exact form on 4 lanes (128-bit VPMULDQ, VPSRLQ, VPBLENDD, VPSRAVD), for a last block of 1-4 real channels
    /// on AVX2 machines: where 256-bit operations run as two halves (Zen 1), half the work of <see cref="RightRequantizer256"/>.
    /// </summary>
    public readonly struct RightRequantizer128
    {
        private readonly Vector128<int> _m, _mOdd;
        private readonly Vector128<long> _biasEven, _biasOdd;
        private readonly Vector128<uint> _right;

        /// <summary>The 4 channels from <paramref name="from"/> (a multiple of 4) of <paramref name="table"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer128(RightRequantTable table, int from)
        {
            _m = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.M), (nuint)from);
            _mOdd = Sse2.ShiftRightLogical(_m.AsInt64(), 32).AsInt32();
            _biasEven = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasEven), (nuint)(from / 2));
            _biasOdd = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.BiasOdd), (nuint)(from / 2));
            _right = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(table.Right), (nuint)from);
        }

        private RightRequantizer128(Vector128<int> m, Vector128<int> mOdd, Vector128<long> biasEven, Vector128<long> biasOdd, Vector128<uint> right)
        {
            _m = m;
            _mOdd = mOdd;
            _biasEven = biasEven;
            _biasOdd = biasOdd;
            _right = right;
        }

        /// <summary>
        /// These 4 channels in both 128-bit halves of a <see cref="RightRequantizer256"/>: for two rows of 4 channels in one
        /// vector (row one in lanes 0-3, row two in lanes 4-7).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer256 Twice()
            => new(Vector256.Create(_m, _m), Vector256.Create(_mOdd, _mOdd), Vector256.Create(_biasEven, _biasEven),
                Vector256.Create(_biasOdd, _biasOdd), Vector256.Create(_right, _right));

        /// <summary>As <see cref="RightRequantizer256.WithStart"/> for 4 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public RightRequantizer128 WithStart(Vector128<int> doubledStart)
            => new(_m, _mOdd, Sse41.Multiply(doubledStart, _m) + _biasEven,
                Sse41.Multiply(Sse2.ShiftRightLogical(doubledStart.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd, _right);

        /// <summary>As <see cref="RightRequantizer256.Apply(Vector256{int}, bool)"/> for 4 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<int> Apply(Vector128<int> doubled, bool clamped)
        {
            var even = Sse2.ShiftRightLogical(Sse41.Multiply(doubled, _m) + _biasEven, 32).AsInt32();
            var odd = (Sse41.Multiply(Sse2.ShiftRightLogical(doubled.AsInt64(), 32).AsInt32(), _mOdd) + _biasOdd).AsInt32();
            var u = Avx2.Blend(even, odd, 0b1010);
            return Avx2.ShiftRightArithmeticVariable(clamped ? u : u + Vector128.ShiftRightArithmetic(doubled, 31), _right);
        }
    }

    /// <summary>16 int32 to int8 with signed saturation (VPMOVSDB), then clamped to [min, max] (int8 bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> NarrowClamp(Vector512<int> v, Vector128<sbyte> min, Vector128<sbyte> max)
        => Vector128.Min(Vector128.Max(Avx512F.ConvertToVector128SByteWithSaturation(v), min), max);

    /// <summary>
    /// Two pixels of 1-8 channels in one vector (lanes 0-7 and 8-15, narrowed): the first <paramref name="channels"/> bytes of
    /// each half at <paramref name="first"/> and, when <paramref name="both"/>, at <paramref name="second"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreHalves(Vector128<sbyte> v, ref sbyte first, ref sbyte second, bool both, int channels)
    {
        if (channels == 8)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref first), v.AsInt64().ToScalar());
            if (both)
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref second), v.AsInt64().GetElement(1));
            return;
        }
        Store(v, ref first, channels);
        if (both)
            Store(Sse2.UnpackHigh(v.AsInt64(), v.AsInt64()).AsSByte(), ref second, channels);
    }

    /// <summary>The first <paramref name="channels"/> (1..16) bytes of <paramref name="v"/> at o: one 16-byte store, or 8/4/2/1-byte pieces.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<sbyte> v, ref sbyte o, int channels)
    {
        ref byte b = ref Unsafe.As<sbyte, byte>(ref o);
        if (channels == 16)
        {
            v.AsByte().StoreUnsafe(ref b);
            return;
        }
        long bytes = v.AsInt64().ToScalar();
        if ((channels & 8) != 0)
        {
            Unsafe.WriteUnaligned(ref b, bytes);
            b = ref Unsafe.Add(ref b, 8);
            bytes = v.AsInt64().GetElement(1);
        }
        if ((channels & 4) != 0)
        {
            Unsafe.WriteUnaligned(ref b, (int)bytes);
            b = ref Unsafe.Add(ref b, 4);
            bytes >>= 32;
        }
        SimdOps.StoreBytes((uint)bytes, ref Unsafe.As<byte, sbyte>(ref b), channels & 3);
    }
}

/// <summary>
/// One op's operands of <see cref="SimdOps512.RightRequantizer"/>, per block of 16 channels (the last block padded
/// with multiplier 0, right shift 1, never stored), built once per op and its requantization parameters and kept in
/// the op's <see cref="PackedFilter"/> (<see cref="Get"/>).
/// </summary>
internal sealed class RightRequantTable
{
    private readonly int[] _multipliers, _shifts;
    private readonly int _outputOffset, _min, _max;

    /// <summary>Whether every channel meets the conditions of the exact form (<see cref="SimdOps512"/> remarks).</summary>
    public bool Covered { get; }

    /// <summary>activationMin &gt;= outputOffset: the sign term may be dropped (<see cref="SimdOps512"/> remark 5).</summary>
    public bool ClampsNegatives => _min >= _outputOffset;

    /// <summary>Multipliers, per channel (padded to a multiple of 16).</summary>
    public int[] M { get; }

    /// <summary>Right shifts r = -shift, per channel (padded to a multiple of 16).</summary>
    public uint[] Right { get; }

    /// <summary>2B = 2^31 + 2^(31+r) + outputOffset x 2^(32+r) of the even (odd) channels: channel c's at c / 2.</summary>
    public long[] BiasEven { get; }

    /// <inheritdoc cref="BiasEven"/>
    public long[] BiasOdd { get; }

    private RightRequantTable(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int min, int max, long maxAccumulator)
    {
        _multipliers = multipliers.ToArray();
        _shifts = shifts.ToArray();
        _outputOffset = outputOffset;
        _min = min;
        _max = max;
        Covered = Covers(multipliers, shifts, outputOffset, min, max, maxAccumulator);
        int blocks = (multipliers.Length + 15) / 16;
        M = new int[16 * blocks];
        Right = new uint[16 * blocks];
        BiasEven = new long[8 * blocks];
        BiasOdd = new long[8 * blocks];
        if (!Covered)
            return;
        for (int c = 0; c < 16 * blocks; c++)
        {
            bool real = c < multipliers.Length;
            int r = real ? -shifts[c] : 1;
            M[c] = real ? multipliers[c] : 0;
            Right[c] = (uint)r;
            long bias = (1L << 31) + (1L << (31 + r)) + (real ? (long)outputOffset << (32 + r) : 0);
            if ((c & 1) == 0) BiasEven[c / 2] = bias;
            else BiasOdd[c / 2] = bias;
        }
    }

    /// <summary>
    /// Whether the exact 16-lane form applies to every channel: multiplier &gt;= 0, shift in [-31, -1], maxAccumulator &lt; 2^30,
    /// maxAccumulator + 2^(r-1) + |outputOffset| x 2^r + 1 &lt;= 2^31 - 1, and int8 activation bounds with min &lt;= max.
    /// </summary>
    public static bool Covers(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int min, int max, long maxAccumulator)
    {
        if (min < -128 || max > 127 || min > max || multipliers.Length != shifts.Length || maxAccumulator < 0 || maxAccumulator >= 1L << 30)
            return false;
        long offset = System.Math.Abs((long)outputOffset);
        for (int c = 0; c < multipliers.Length; c++)
        {
            int s = shifts[c];
            if (multipliers[c] < 0 || s > -1 || s < -31)
                return false;
            int r = -s;
            // offset x 2^r is compared first, so that it cannot overflow a long.
            if (offset >= (1L << (31 - r)) || maxAccumulator + (1L << (r - 1)) + (offset << r) + 1 > int.MaxValue)
                return false;
        }
        return true;
    }

    private FloatRequantTable? _float, _floatFolded;
    private bool _floatBuilt, _floatFoldedBuilt;

    /// <summary>Whether <see cref="FloatForm"/> has been asked for (by a kernel: the tests check that the kernel took it).</summary>
    internal bool FloatFormAsked => Volatile.Read(ref _floatBuilt);

    /// <summary>Whether <see cref="FloatFormFolded"/> has been asked for.</summary>
    internal bool FloatFormFoldedAsked => Volatile.Read(ref _floatFoldedBuilt);

    /// <summary>What <see cref="FloatForm"/> returned, null before it was asked for (for kernels past the op's entry, which asks).</summary>
    internal FloatRequantTable? BuiltFloatForm => _float;

    /// <summary>What <see cref="FloatFormFolded"/> returned, null before it was asked for.</summary>
    internal FloatRequantTable? BuiltFloatFormFolded => _floatFolded;

    /// <summary>
    /// The float form (<see cref="FloatRequantTable"/>) of this table's parameters over the per-channel accumulator bounds
    /// <paramref name="bounds"/> (the filter's <see cref="PackedFilter.ChannelBounds"/>; the table is kept per filter), built
    /// on the first call and kept with the table, so a kernel whose table <see cref="Get"/> has found pays no second check of
    /// the parameters; null where FMA is missing, the bounds do not match, or no channel has the form.
    /// </summary>
    public FloatRequantTable? FloatForm(ReadOnlySpan<long> bounds) => Kept(ref _float, ref _floatBuilt, bounds, default);

    /// <summary>
    /// As <see cref="FloatForm"/>, for sums without the channels' start values <paramref name="starts"/> (the AVX2 depthwise 3x3
    /// body's folded form, <see cref="FloatRequantTable.Folded"/>).
    /// </summary>
    public FloatRequantTable? FloatFormFolded(ReadOnlySpan<long> bounds, ReadOnlySpan<int> starts)
        => Kept(ref _floatFolded, ref _floatFoldedBuilt, bounds, starts);

    /// <summary>The float table kept in <paramref name="slot"/>, built on the first call (<paramref name="built"/> is then set after it).</summary>
    private FloatRequantTable? Kept(ref FloatRequantTable? slot, ref bool built, ReadOnlySpan<long> bounds, ReadOnlySpan<int> starts)
    {
        if (Volatile.Read(ref built))
            return slot;
        FloatRequantTable? f = null;
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported && bounds.Length == _multipliers.Length)
        {
            f = FloatRequantTable.Build(_multipliers, _shifts, _outputOffset, _min, _max, bounds, starts);
            if (!f.Any)
                f = null;
        }
        slot = f;
        Volatile.Write(ref built, true);
        return f;
    }

    /// <summary>
    /// The table for these parameters: the one kept in <paramref name="slot"/> when it was built from the same values,
    /// else a new one, kept there (built once per op: an op's parameters do not change between calls; concurrent
    /// first calls may each build one, all equal).
    /// </summary>
    public static RightRequantTable Get(ref RightRequantTable? slot, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputOffset, int min, int max, long maxAccumulator)
    {
        var t = Volatile.Read(ref slot);
        if (t is not null && t._outputOffset == outputOffset && t._min == min && t._max == max
            && multipliers.SequenceEqual(t._multipliers) && shifts.SequenceEqual(t._shifts))
            return t;
        t = new RightRequantTable(multipliers, shifts, outputOffset, min, max, maxAccumulator);
        Volatile.Write(ref slot, t);
        return t;
    }
}
