using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Tiles transformed and multiplied together in <see cref="TryEvalS8WinogradLanes"/>.</summary>
    private const int WinogradLanesGroup = 8;

    /// <summary>M's position stride in <see cref="TryEvalS8WinogradLanes"/>'s scratch: a group's tiles x 8 channels.</summary>
    private const int WinogradMLanesPosition = 8 * WinogradLanesGroup;

    /// <summary>Most 8-channel blocks whose requantization <see cref="TryEvalS8WinogradLanes"/> sets up once per call (on the stack).</summary>
    private const int WinogradLanesHeldBlocks = 16;

    /// <summary>
    /// Winograd's F(2x2, 3x3) for arm64 without Dp (Raspberry Pi 4 class: SMLAL is its int8 multiplier, 4 products per
    /// instruction, where the Pi 5's SDOT does 16 and keeps the direct kernels): the transforms and exact integers of
    /// <see cref="TryEvalS8WinogradAvx512"/> (docs/winograd-x64.md), 16 products per 2x2 output pixels and input channel where
    /// the direct convolution has 36. Input transform 8 channels per int16 vector; products as in the direct Pi 4 tiles
    /// (<see cref="TryEvalS8RowsLanes"/>) with tiles for pixels and input channels for taps: per position, input channel
    /// and 8 output channels one weight load of U (<see cref="WinogradFilter.ULanes"/>) and SMLAL/SMLAL2 by lane against
    /// the transformed inputs of a group of eight tiles (four for a last group of 1-4; a block of 1-4 real channels skips
    /// SMLAL2); the output transform gives Y' = 4 x the products exactly, so Y' / 4 + <see cref="PackedFilter.Init"/> is the
    /// reference's accumulator, requantized per block (<see cref="BlockRequantization"/>). On x64 the same kernel runs
    /// through the emulated primitives (tests only). Returns false (having written nothing) when the case is not covered,
    /// or when one tile row's four staged input rows would pass <see cref="WinogradStageBytes"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool TryEvalS8WinogradLanes(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
        => TryEvalS8WinogradLanesTiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, 0, int.MaxValue);

    /// <summary>Whether <see cref="TryEvalS8WinogradLanes"/> takes this convolution (it returns false for exactly the others).</summary>
    private static bool WinogradLanesTakes(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, in Shape4 outShape)
    {
        var wf = packed.Winograd;
        int cin = inShape.D3, cout = outShape.D3;
        if (!Vector128.IsHardwareAccelerated || wf?.ULanes is null || !WinogradShape(p, filterShape) || filterShape.D3 != cin || packed.Cout != cout
            || multipliers.Length != cout || shifts.Length != cout || outShape.D1 < 1 || outShape.D2 < 1
            || p.ActivationMin < sbyte.MinValue || p.ActivationMax > sbyte.MaxValue || p.ActivationMin > p.ActivationMax)
            return false;
        return WinogradRowsFit(outShape.D2, cin, 16);
    }

    /// <summary>
    /// <see cref="TryEvalS8WinogradLanes"/> for the tiles [<paramref name="tileFrom"/>, <paramref name="tileTo"/>) of a batch-1 output
    /// (<see cref="TryEvalS8WinogradAvx512Tiles"/>): only their pixels are written. False (nothing written) for a range
    /// over a batch or outside the tiles.
    /// </summary>
    [SkipLocalsInit] // staged slack and stale tiles are read only into lanes that meet zero weights or are never stored
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool TryEvalS8WinogradLanesTiles(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int tileFrom, int tileTo)
    {
        if (!WinogradLanesTakes(p, inShape, filterShape, packed, multipliers, shifts, outShape))
            return false;
        var wf = packed.Winograd!;
        int cin = inShape.D3, cout = outShape.D3;
        int inH = inShape.D1, inW = inShape.D2, ho = outShape.D1, wo = outShape.D2;
        int th = (ho + 1) / 2, tw = (wo + 1) / 2;
        if (!WinogradTileRange(inShape.D0, th, tw, ref tileFrom, ref tileTo))
            return false;
        int cinR = (cin + 7) & ~7, coutW8 = (cout + 7) & ~7;
        int span = 2 * tw + 2; // staged input columns
        int rowBytes = span * cin + 16;
        int bandRows = System.Math.Clamp((WinogradStageBytes / rowBytes - 2) / 2, 1, th);
        Span<sbyte> staged = stackalloc sbyte[(2 * bandRows + 2) * rowBytes + 16];
        // V of one group of tiles: 16 positions x 8 tiles x cinR int16 (64 KB at the largest Cin, 256).
        Span<short> v = stackalloc short[16 * WinogradLanesGroup * cinR];
        Span<int> m = stackalloc int[16 * WinogradMLanesPosition];
        ref sbyte st = ref MemoryMarshal.GetReference(staged);
        ref short vr = ref MemoryMarshal.GetReference(v);
        ref int mr = ref MemoryMarshal.GetReference(m);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        ref short u = ref MemoryMarshal.GetArrayDataReference(wf.ULanes!);
        ref int init = ref MemoryMarshal.GetArrayDataReference(wf.Init);
        sbyte zp = (sbyte)(-p.InputOffset);
        int lo = System.Math.Min(p.PadLeft, span), hi = System.Math.Clamp(inW + p.PadLeft, lo, span);
        // The blocks' requantizations set up once per call where up to 16 blocks fit on the stack (Cout <= 128), not per
        // group of tiles: 1.9% of the op's instructions on fashion_resnet's layers under qemu -cpu cortex-a72.
        int blocks = (cout + 7) / 8;
        Span<BlockRequantization> rqs = blocks <= WinogradLanesHeldBlocks ? stackalloc BlockRequantization[blocks] : default;
        for (int k = 0; k < rqs.Length; k++)
            rqs[k] = new BlockRequantization(multipliers, shifts, 8 * k, p.OutputOffset, p.ActivationMin, p.ActivationMax);
        for (int b = 0; b < inShape.D0; b++)
        {
            ref sbyte ob = ref Unsafe.Add(ref dst, b * ho * wo * cout);
            // The tile rows holding tiles [tileFrom, tileTo) (every tile of every image without a range).
            int tyEnd = (tileTo - 1) / tw + 1;
            for (int ty0 = tileFrom / tw; ty0 < tyEnd; ty0 += bandRows)
            {
                int ty1 = System.Math.Min(tyEnd, ty0 + bandRows);
                for (int r = 0; r < 2 * (ty1 - ty0) + 2; r++)
                    StageRowS8(ref src, b, 2 * ty0 - p.PadTop + r, inH, inW, cin, span, lo, hi, p.PadLeft, zp, ref Unsafe.Add(ref st, r * rowBytes));
                // The band's tiles, counted from its first tile row, within the range.
                int g0 = System.Math.Max(0, tileFrom - ty0 * tw), nt = System.Math.Min((ty1 - ty0) * tw, tileTo - ty0 * tw);
                for (int g = g0; g < nt; g += WinogradLanesGroup)
                {
                    int n = System.Math.Min(WinogradLanesGroup, nt - g);
                    WinogradInputLanes(ref st, rowBytes, g, n, tw, cin, cinR, ref vr);
                    for (int j = 0; j < cout; j += 8)
                    {
                        // Eight tiles share each weight load; a last group of 1-4 tiles computes four.
                        if (n > 4 && cout - j > 4)
                            WinogradProductsLanes8<Yes>(ref vr, cin, cinR, ref Unsafe.Add(ref u, j), coutW8, ref mr);
                        else if (n > 4)
                            WinogradProductsLanes8<No>(ref vr, cin, cinR, ref Unsafe.Add(ref u, j), coutW8, ref mr);
                        else if (cout - j > 4)
                            WinogradProductsLanes4<Yes>(ref vr, cin, cinR, ref Unsafe.Add(ref u, j), coutW8, ref mr);
                        else
                            WinogradProductsLanes4<No>(ref vr, cin, cinR, ref Unsafe.Add(ref u, j), coutW8, ref mr);
                        var i0 = Vector128.LoadUnsafe(ref init, (nuint)j);
                        var i1 = Vector128.LoadUnsafe(ref init, (nuint)j + 4);
                        if (rqs.Length != 0)
                            WinogradOutLanes(ref mr, n, ty0, g, tw, ho, wo, cout, j, i0, i1, rqs[j >> 3], ref ob);
                        else
                            WinogradOutLanes(ref mr, n, ty0, g, tw, ho, wo, cout, j, i0, i1,
                                new BlockRequantization(multipliers, shifts, j, p.OutputOffset, p.ActivationMin, p.ActivationMax), ref ob);
                    }
                }
            }
        }
        return true;
    }

    /// <summary>
    /// <see cref="WinogradInput"/> with 8 channels per int16 vector: V = B^T d B of the n tiles from tile g, position xi of
    /// tile t at v[(<see cref="WinogradLanesGroup"/> xi + t) x cinR].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradInputLanes(ref sbyte st, int rowBytes, int g, int n, int tw, int cin, int cinR, ref short v)
    {
        nint step = WinogradLanesGroup * (nint)cinR;
        for (int t = 0; t < n; t++)
        {
            int q = g + t;
            ref sbyte window = ref Unsafe.Add(ref st, 2 * (q / tw) * rowBytes + 2 * (q % tw) * cin);
            for (int c = 0; c < cinR; c += 8)
            {
                ref sbyte at = ref Unsafe.Add(ref window, c);
                ref short vt = ref Unsafe.Add(ref v, t * cinR + c);
                Column(ref at, rowBytes, out var a00, out var a10, out var a20, out var a30);
                Column(ref Unsafe.Add(ref at, cin), rowBytes, out var a01, out var a11, out var a21, out var a31);
                Column(ref Unsafe.Add(ref at, 2 * cin), rowBytes, out var a02, out var a12, out var a22, out var a32);
                Column(ref Unsafe.Add(ref at, 3 * cin), rowBytes, out var a03, out var a13, out var a23, out var a33);
                Row(a00, a01, a02, a03, ref vt, step, 0);
                Row(a10, a11, a12, a13, ref vt, step, 4);
                Row(a20, a21, a22, a23, ref vt, step, 8);
                Row(a30, a31, a32, a33, ref vt, step, 12);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<short> Widen(ref sbyte at)
            => AdvSimd.IsSupported
                ? AdvSimd.SignExtendWideningLower(Vector64.LoadUnsafe(ref at))
                : Vector128.WidenLower(Vector64.LoadUnsafe(ref at).ToVector128Unsafe());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Column(ref sbyte at, int rowBytes, out Vector128<short> r0, out Vector128<short> r1, out Vector128<short> r2, out Vector128<short> r3)
        {
            var d0 = Widen(ref at);
            var d1 = Widen(ref Unsafe.Add(ref at, rowBytes));
            var d2 = Widen(ref Unsafe.Add(ref at, 2 * rowBytes));
            var d3 = Widen(ref Unsafe.Add(ref at, 3 * rowBytes));
            r0 = d0 - d2;
            r1 = d1 + d2;
            r2 = d2 - d1;
            r3 = d1 - d3;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Row(Vector128<short> x0, Vector128<short> x1, Vector128<short> x2, Vector128<short> x3, ref short vt, nint step, int xi)
        {
            (x0 - x2).StoreUnsafe(ref Unsafe.Add(ref vt, xi * step));
            (x1 + x2).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 1) * step));
            (x2 - x1).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 2) * step));
            (x1 - x3).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 3) * step));
        }
    }

    /// <summary>
    /// M[xi, t, lane] = sum over the input channels c of V[xi, t, c] x U[xi, c] for the 8 output channels whose U starts at
    /// <paramref name="w"/> (<see cref="WinogradFilter.ULanes"/>, channel stride <paramref name="coutW8"/>) and the first four
    /// tiles of the group (a group of 1-4 tiles): per position and input channel one weight load and SMLAL (SMLAL2 too when
    /// TUpper: more than 4 real channels) by lane, 8 input channels per group of four transformed-input loads. V's position
    /// stride is <see cref="WinogradLanesGroup"/> x cinR; M's tile stride is 8, its position stride <see cref="WinogradMLanesPosition"/>.
    /// </summary>
    private static void WinogradProductsLanes4<TUpper>(ref short v, int cin, int cinR, ref short w, nint coutW8, ref int m) where TUpper : struct, IFlag
    {
        int groups = cin / 8, rem = cin % 8;
        // Every offset in bytes, computed once: the loads use register offsets, the loops step three pointers.
        nint w1 = coutW8 * sizeof(short), w2 = 2 * w1, w3 = 3 * w1, w4 = 4 * w1;
        nint c1 = (nint)cinR * sizeof(short), c2 = 2 * c1, c3 = 3 * c1;
        nint xStep = WinogradLanesGroup * (nint)cinR, wStep = (nint)cinR * coutW8;
        ref short xp = ref v;
        ref short wp = ref w;
        ref int mx = ref m;
        for (int xi = 0; xi < 16; xi++)
        {
            ref short x = ref xp;
            ref short wt = ref wp;
            Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            Vector128<short> wv;
            for (int gi = 0; gi < groups; gi++)
            {
                var v0 = Vector128.LoadUnsafe(ref x);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c3));
                ref short wt4 = ref Unsafe.AddByteOffset(ref wt, w4);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 0, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w1));
                Lane4<TUpper>(wv, 1, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w2));
                Lane4<TUpper>(wv, 2, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w3));
                Lane4<TUpper>(wv, 3, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref wt4);
                Lane4<TUpper>(wv, 4, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w1));
                Lane4<TUpper>(wv, 5, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w2));
                Lane4<TUpper>(wv, 6, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w3));
                Lane4<TUpper>(wv, 7, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt4, w4);
                x = ref Unsafe.Add(ref x, 8);
            }
            if (rem > 0)
            {
                var v0 = Vector128.LoadUnsafe(ref x);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c3));
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 0, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                if (rem > 1)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w1));
                    Lane4<TUpper>(wv, 1, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                }
                if (rem > 2)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w2));
                    Lane4<TUpper>(wv, 2, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                }
                if (rem > 3)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w3));
                    Lane4<TUpper>(wv, 3, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                }
                if (rem > 4)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w4));
                    Lane4<TUpper>(wv, 4, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                }
                if (rem > 5)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w4 + w1));
                    Lane4<TUpper>(wv, 5, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                }
                if (rem > 6)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w4 + w2));
                    Lane4<TUpper>(wv, 6, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                }
            }
            a00.StoreUnsafe(ref mx, 0);
            a01.StoreUnsafe(ref mx, 4);
            a10.StoreUnsafe(ref mx, 8);
            a11.StoreUnsafe(ref mx, 12);
            a20.StoreUnsafe(ref mx, 16);
            a21.StoreUnsafe(ref mx, 20);
            a30.StoreUnsafe(ref mx, 24);
            a31.StoreUnsafe(ref mx, 28);
            xp = ref Unsafe.Add(ref xp, xStep);
            wp = ref Unsafe.Add(ref wp, wStep);
            mx = ref Unsafe.Add(ref mx, WinogradMLanesPosition);
        }
    }

    /// <summary>
    /// <see cref="WinogradProductsLanes4{TUpper}"/> for a group of 5-8 tiles, all eight computed: 16 accumulators, so each
    /// weight vector serves 8 tiles (16 SMLAL per load, where the four-tile kernel does 8), as the direct kernel's
    /// <see cref="LanesTile8{TUpper}"/>.
    /// </summary>
    private static void WinogradProductsLanes8<TUpper>(ref short v, int cin, int cinR, ref short w, nint coutW8, ref int m) where TUpper : struct, IFlag
    {
        int groups = cin / 8, rem = cin % 8;
        // Every offset in bytes, computed once: the loads use register offsets, the loops step three pointers.
        nint w1 = coutW8 * sizeof(short), w2 = 2 * w1, w3 = 3 * w1, w4 = 4 * w1;
        nint c1 = (nint)cinR * sizeof(short), c2 = 2 * c1, c3 = 3 * c1, c4 = 4 * c1, c5 = 5 * c1, c6 = 6 * c1, c7 = 7 * c1;
        nint xStep = WinogradLanesGroup * (nint)cinR, wStep = (nint)cinR * coutW8;
        ref short xp = ref v;
        ref short wp = ref w;
        ref int mx = ref m;
        for (int xi = 0; xi < 16; xi++)
        {
            ref short x = ref xp;
            ref short wt = ref wp;
            Vector128<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
            Vector128<short> wv;
            Vector64<short> wl;
            for (int gi = 0; gi < groups; gi++)
            {
                var v0 = Vector128.LoadUnsafe(ref x);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c3));
                var v4 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c4));
                var v5 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c5));
                var v6 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c6));
                var v7 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c7));
                ref short wt4 = ref Unsafe.AddByteOffset(ref wt, w4);
                wv = Vector128.LoadUnsafe(ref wt);
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 0);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 0);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 0);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 0);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 0);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 0);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 0);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 0);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 0);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 0);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 0);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 0);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 0);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 0);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 0);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 0);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w1));
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 1);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 1);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 1);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 1);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 1);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 1);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 1);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 1);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 1);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 1);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 1);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 1);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 1);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 1);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 1);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 1);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w2));
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 2);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 2);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 2);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 2);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 2);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 2);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 2);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 2);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 2);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 2);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 2);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 2);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 2);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 2);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 2);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 2);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w3));
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 3);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 3);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 3);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 3);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 3);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 3);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 3);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 3);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 3);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 3);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 3);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 3);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 3);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 3);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 3);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 3);
                wv = Vector128.LoadUnsafe(ref wt4);
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 4);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 4);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 4);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 4);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 4);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 4);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 4);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 4);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 4);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 4);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 4);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 4);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 4);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 4);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 4);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 4);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w1));
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 5);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 5);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 5);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 5);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 5);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 5);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 5);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 5);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 5);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 5);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 5);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 5);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 5);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 5);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 5);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 5);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w2));
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 6);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 6);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 6);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 6);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 6);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 6);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 6);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 6);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 6);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 6);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 6);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 6);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 6);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 6);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 6);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 6);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w3));
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 7);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 7);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 7);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 7);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 7);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 7);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 7);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 7);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 7);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 7);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 7);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 7);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 7);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 7);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 7);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 7);
                wt = ref Unsafe.AddByteOffset(ref wt4, w4);
                x = ref Unsafe.Add(ref x, 8);
            }
            if (rem > 0)
            {
                var v0 = Vector128.LoadUnsafe(ref x);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c3));
                var v4 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c4));
                var v5 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c5));
                var v6 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c6));
                var v7 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref x, c7));
                wv = Vector128.LoadUnsafe(ref wt);
                if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 0);
                if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 0);
                if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 0);
                if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 0);
                if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 0);
                if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 0);
                if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 0);
                if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 0);
                wl = wv.GetLower();
                a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 0);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 0);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 0);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 0);
                a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 0);
                a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 0);
                a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 0);
                a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 0);
                if (rem > 1)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w1));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 1);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 1);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 1);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 1);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 1);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 1);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 1);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 1);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 1);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 1);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 1);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 1);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 1);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 1);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 1);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 1);
                }
                if (rem > 2)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w2));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 2);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 2);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 2);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 2);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 2);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 2);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 2);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 2);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 2);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 2);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 2);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 2);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 2);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 2);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 2);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 2);
                }
                if (rem > 3)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w3));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 3);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 3);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 3);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 3);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 3);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 3);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 3);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 3);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 3);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 3);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 3);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 3);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 3);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 3);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 3);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 3);
                }
                if (rem > 4)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w4));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 4);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 4);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 4);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 4);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 4);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 4);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 4);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 4);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 4);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 4);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 4);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 4);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 4);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 4);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 4);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 4);
                }
                if (rem > 5)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w4 + w1));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 5);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 5);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 5);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 5);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 5);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 5);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 5);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 5);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 5);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 5);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 5);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 5);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 5);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 5);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 5);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 5);
                }
                if (rem > 6)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w4 + w2));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 6);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 6);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 6);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 6);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 6);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 6);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 6);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 6);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 6);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 6);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 6);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 6);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 6);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 6);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 6);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 6);
                }
            }
            a00.StoreUnsafe(ref mx, 0);
            a01.StoreUnsafe(ref mx, 4);
            a10.StoreUnsafe(ref mx, 8);
            a11.StoreUnsafe(ref mx, 12);
            a20.StoreUnsafe(ref mx, 16);
            a21.StoreUnsafe(ref mx, 20);
            a30.StoreUnsafe(ref mx, 24);
            a31.StoreUnsafe(ref mx, 28);
            a40.StoreUnsafe(ref mx, 32);
            a41.StoreUnsafe(ref mx, 36);
            a50.StoreUnsafe(ref mx, 40);
            a51.StoreUnsafe(ref mx, 44);
            a60.StoreUnsafe(ref mx, 48);
            a61.StoreUnsafe(ref mx, 52);
            a70.StoreUnsafe(ref mx, 56);
            a71.StoreUnsafe(ref mx, 60);
            xp = ref Unsafe.Add(ref xp, xStep);
            wp = ref Unsafe.Add(ref wp, wStep);
            mx = ref Unsafe.Add(ref mx, WinogradMLanesPosition);
        }
    }

    /// <summary>
    /// The n tiles from tile g of the band from tile row ty0, for the 8 channels at j: Y' = A^T M A per tile
    /// (A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]), Y' / 4 + the folded bias (exact: Y' is 4 x the products), requantized two
    /// pixels at a time and stored (only the real channels, only the pixels inside the output).
    /// </summary>
    private static void WinogradOutLanes(ref int m, int n, int ty0, int g, int tw, int ho, int wo, int cout, int j, Vector128<int> i0, Vector128<int> i1,
        in BlockRequantization rq, ref sbyte output)
    {
        // The group's first tile's row and column, then stepped per tile (no division per tile).
        int ty = g / tw, tx = g - ty * tw;
        for (int t = 0; t < n; t++)
        {
            ref int mt = ref Unsafe.Add(ref m, 8 * t);
            Vertical(ref mt, 0, out var r00, out var r10);
            Vertical(ref mt, 1, out var r01, out var r11);
            Vertical(ref mt, 2, out var r02, out var r12);
            Vertical(ref mt, 3, out var r03, out var r13);
            Vertical(ref mt, 4, out var s00, out var s10);
            Vertical(ref mt, 5, out var s01, out var s11);
            Vertical(ref mt, 6, out var s02, out var s12);
            Vertical(ref mt, 7, out var s03, out var s13);
            int y = 2 * (ty0 + ty), x = 2 * tx;
            if (++tx == tw)
            {
                tx = 0;
                ty++;
            }
            ref sbyte at = ref Unsafe.Add(ref output, (y * wo + x) * cout + j);
            bool right = x + 1 < wo;
            // Lanes 0-3 of the block from the r vectors, 4-7 from the s vectors (M's columns k and 4 + k are one position's
            // halves). Both output rows requantized with one branch (a bottom row past the output is not stored).
            rq.Pixels4(Acc(r00 + r01 + r02, i0), Acc(s00 + s01 + s02, i1), Acc(r01 - r02 - r03, i0), Acc(s01 - s02 - s03, i1),
                Acc(r10 + r11 + r12, i0), Acc(s10 + s11 + s12, i1), Acc(r11 - r12 - r13, i0), Acc(s11 - s12 - s13, i1), out var top, out var bottom);
            rq.Store(top, 0, ref at);
            if (right)
                rq.Store(top, 1, ref Unsafe.Add(ref at, cout));
            if (y + 1 < ho)
            {
                ref sbyte below = ref Unsafe.Add(ref at, wo * cout);
                rq.Store(bottom, 0, ref below);
                if (right)
                    rq.Store(bottom, 1, ref Unsafe.Add(ref below, cout));
            }
        }

        // Column k of the 4x4 M for lanes 0-3 (k < 4) or 4-7 (k - 4): r0 = m0k + m1k + m2k, r1 = m1k - m2k - m3k.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Vertical(ref int mt, int k, out Vector128<int> r0, out Vector128<int> r1)
        {
            int half = k & 4, col = k & 3;
            var m0 = Vector128.LoadUnsafe(ref mt, (nuint)(WinogradMLanesPosition * col + half));
            var m1 = Vector128.LoadUnsafe(ref mt, (nuint)(WinogradMLanesPosition * (4 + col) + half));
            var m2 = Vector128.LoadUnsafe(ref mt, (nuint)(WinogradMLanesPosition * (8 + col) + half));
            var m3 = Vector128.LoadUnsafe(ref mt, (nuint)(WinogradMLanesPosition * (12 + col) + half));
            r0 = m0 + m1 + m2;
            r1 = m1 - m2 - m3;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<int> Acc(Vector128<int> y4, Vector128<int> init) => Vector128.ShiftRightArithmetic(y4, 2) + init;
    }
}
