using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>M's position stride in <see cref="TryEvalS8WinogradAvx2"/>'s scratch: four tiles x two 8-channel blocks.</summary>
    private const int WinogradM256Position = 64;

    /// <summary>
    /// <see cref="TryEvalS8WinogradAvx512"/>'s F(2x2, 3x3) for CPUs with AVX2 and no AVX-512 (16 vector registers): the same
    /// transforms, the same exact integers (see there and docs/winograd-x64.md), so the same bytes as the reference.
    /// Input transform 16 channels per vector; products per position and input-channel pair as four dword broadcasts
    /// (one per tile of the group) against one or two 8-channel weight vectors, so 4 x 2 accumulators, the broadcasts and
    /// the weights stay within the 16 registers; output transform, requantization (<see cref="SimdOps512.RightRequantizer256"/>,
    /// the exact one-rounding form on the doubled accumulators) and stores per tile and 8-channel block. A last block of
    /// 1-4 real channels (Cout = 20, 28, 36 ...) runs in 128-bit vectors, products and output side (Zen 1 splits 256-bit
    /// operations in two, so that is half their cost); one of 5-7 computes its padding lanes against zero weights; either
    /// stores only the real channels.
    /// On a core whose only int8 multiplier is VPMADDWD on one pipe (Zen 1: one 256-bit VPMADDWD every two cycles), the
    /// 16 products per tile and channel pair instead of 36 are what counts.
    /// Returns false (having written nothing) when the case is not covered, or when one tile row's four staged input rows
    /// would pass <see cref="WinogradStageBytes"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool TryEvalS8WinogradAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
        => TryEvalS8WinogradAvx2Tiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, 0, int.MaxValue);

    /// <summary>The requantization table of a convolution <see cref="TryEvalS8WinogradAvx2"/> takes; null for the others.</summary>
    private static RightRequantTable? WinogradAvx2Table(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, in Shape4 outShape)
    {
        var wf = packed.Winograd;
        int cin = inShape.D3, cout = outShape.D3;
        if (!Avx2.IsSupported || wf?.U is null || !WinogradShape(p, filterShape) || filterShape.D3 != cin || packed.Cout != cout
            || multipliers.Length != cout || outShape.D1 < 1 || outShape.D2 < 1)
            return null;
        if (!WinogradRowsFit(outShape.D2, cin, 32))
            return null;
        var table = RightRequantTable.Get(ref packed.RightRequant, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        return table.Covered ? table : null;
    }

    /// <summary>
    /// <see cref="TryEvalS8WinogradAvx2"/> for the tiles [<paramref name="tileFrom"/>, <paramref name="tileTo"/>) of a batch-1 output
    /// (<see cref="TryEvalS8WinogradAvx512Tiles"/>): only their pixels are written. False (nothing written) for a range
    /// over a batch or outside the tiles.
    /// </summary>
    [SkipLocalsInit] // staged slack and stale tiles are read only into lanes that meet zero weights or are never stored
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool TryEvalS8WinogradAvx2Tiles(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int tileFrom, int tileTo)
    {
        if (WinogradAvx2Table(p, inShape, filterShape, packed, multipliers, shifts, outShape) is not { } table)
            return false;
        var wf = packed.Winograd!;
        int cin = inShape.D3, cout = outShape.D3;
        int inH = inShape.D1, inW = inShape.D2, ho = outShape.D1, wo = outShape.D2;
        int th = (ho + 1) / 2, tw = (wo + 1) / 2;
        if (!WinogradTileRange(inShape.D0, th, tw, ref tileFrom, ref tileTo))
            return false;
        int blocks = (cout + 7) / 8;
        int cinR = (cin + 15) & ~15;
        int span = 2 * tw + 2; // staged input columns
        int rowBytes = span * cin + 32;
        int bandRows = System.Math.Clamp((WinogradStageBytes / rowBytes - 2) / 2, 1, th);
        Span<sbyte> staged = stackalloc sbyte[(2 * bandRows + 2) * rowBytes + 64];
        Span<short> v = stackalloc short[16 * 4 * cinR + 32];
        Span<int> m = stackalloc int[16 * WinogradM256Position + 16];
        ref sbyte st = ref SimdOps.Align64(ref MemoryMarshal.GetReference(staged));
        ref short vr = ref SimdOps.Align64(ref MemoryMarshal.GetReference(v));
        ref int mr = ref SimdOps.Align64(ref MemoryMarshal.GetReference(m));
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        sbyte zp = (sbyte)(-p.InputOffset);
        int lo = System.Math.Min(p.PadLeft, span), hi = System.Math.Clamp(inW + p.PadLeft, lo, span);
        var o = new WinogradOut256(table, wf, p.ActivationMin, p.ActivationMax, cout, ho, wo, tw);
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
                for (int g = g0; g < nt; g += 4)
                {
                    int n = System.Math.Min(4, nt - g);
                    WinogradInput256(ref st, rowBytes, g, n, tw, cin, cinR, ref vr);
                    for (int k = 0; k < blocks; k += 2)
                    {
                        bool two = k + 1 < blocks;
                        // A last block of 1-4 real channels takes 128-bit vectors (Zen 1: half the multiply-adds of that block).
                        bool half = cout - 8 * (two ? k + 1 : k) <= 4;
                        if (two && half)
                            WinogradProductsGroup256<Blocks2, HalfLast>(n, ref vr, cinR, wf, 8 * k, ref mr);
                        else if (two)
                            WinogradProductsGroup256<Blocks2, WholeLast>(n, ref vr, cinR, wf, 8 * k, ref mr);
                        else if (half)
                            WinogradProductsGroup256<Blocks1, HalfLast>(n, ref vr, cinR, wf, 8 * k, ref mr);
                        else
                            WinogradProductsGroup256<Blocks1, WholeLast>(n, ref vr, cinR, wf, 8 * k, ref mr);
                        if (two || !half)
                            o.Tiles<WinogradOut8, Vector256<int>, SimdOps512.RightRequantizer256>(ref mr, n, ty0, g, 8 * k, ref ob);
                        else
                            o.Tiles<WinogradOut4, Vector128<int>, SimdOps512.RightRequantizer128>(ref mr, n, ty0, g, 8 * k, ref ob);
                        if (two && half)
                            o.Tiles<WinogradOut4, Vector128<int>, SimdOps512.RightRequantizer128>(ref Unsafe.Add(ref mr, 8), n, ty0, g, 8 * (k + 1), ref ob);
                        else if (two)
                            o.Tiles<WinogradOut8, Vector256<int>, SimdOps512.RightRequantizer256>(ref Unsafe.Add(ref mr, 8), n, ty0, g, 8 * (k + 1), ref ob);
                    }
                }
            }
        }
        return true;
    }

    /// <summary>
    /// <see cref="WinogradInput"/> with 16 channels per vector: V = B^T d B of the n tiles from tile g, widened to int16,
    /// position xi of tile t at v[(4 xi + t) x cinR].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradInput256(ref sbyte st, int rowBytes, int g, int n, int tw, int cin, int cinR, ref short v)
    {
        nint step = 4 * (nint)cinR;
        for (int t = 0; t < n; t++)
        {
            int q = g + t;
            ref sbyte window = ref Unsafe.Add(ref st, 2 * (q / tw) * rowBytes + 2 * (q % tw) * cin);
            for (int c = 0; c < cinR; c += 16)
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
        static void Column(ref sbyte at, int rowBytes, out Vector256<short> r0, out Vector256<short> r1, out Vector256<short> r2, out Vector256<short> r3)
        {
            var d0 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref at));
            var d1 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref Unsafe.Add(ref at, rowBytes)));
            var d2 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref Unsafe.Add(ref at, 2 * rowBytes)));
            var d3 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref Unsafe.Add(ref at, 3 * rowBytes)));
            r0 = d0 - d2;
            r1 = d1 + d2;
            r2 = d2 - d1;
            r3 = d1 - d3;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Row(Vector256<short> x0, Vector256<short> x1, Vector256<short> x2, Vector256<short> x3, ref short vt, nint step, int xi)
        {
            (x0 - x2).StoreUnsafe(ref Unsafe.Add(ref vt, xi * step));
            (x1 + x2).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 1) * step));
            (x2 - x1).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 2) * step));
            (x1 - x3).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 3) * step));
        }
    }

    /// <summary>
    /// M[xi, t, 8 bi + lane] = sum over input-channel pairs of V[xi, t] x U[xi] for the TBlocks (1 or 2) x 8 output
    /// channels from j and the four tiles of the group: per pair four broadcasts, TBlocks weight loads, 4 x TBlocks
    /// VPMADDWD; the last block in 128-bit vectors (its first 4 lanes) where TLast says so. M's tile stride is 16, its
    /// position stride <see cref="WinogradM256Position"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradProductsGroup256<TBlocks, TLast>(int n, ref short v, int cinR, WinogradFilter wf, int j, ref int m)
        where TBlocks : struct, IWinogradBlocks where TLast : struct, IWinogradLast
    {
        if (n == 4 || Avx512BW.IsSupported)
        {
            WinogradProducts256<TBlocks, TLast>(ref v, cinR, wf, j, ref m);
            return;
        }
        // A last group of 1-3 tiles, tile by tile: with AVX2 alone (Zen 1) the products of one tile cost about a quarter
        // of the four-tile loop's, which would compute the missing tiles from stale inputs.
        for (int t = 0; t < n; t++)
            WinogradProducts256One<TBlocks, TLast>(ref Unsafe.Add(ref v, t * cinR), cinR, wf, j, ref Unsafe.Add(ref m, 16 * t));
    }

    /// <summary>
    /// <see cref="WinogradProducts256{TBlocks, TLast}"/> for one tile (its V at <paramref name="v"/>, position stride 4 x cinR;
    /// its M at <paramref name="m"/>): per pair one broadcast, TBlocks weight loads and TBlocks VPMADDWD.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WinogradProducts256One<TBlocks, TLast>(ref short v, int cinR, WinogradFilter wf, int j, ref int m)
        where TBlocks : struct, IWinogradBlocks where TLast : struct, IWinogradLast
    {
        int pairs = wf.Pairs;
        nint uStride = 2 * wf.CoutW;
        bool firstWhole = TBlocks.Value > 1 || !TLast.Half;
        bool secondWhole = TBlocks.Value > 1 && !TLast.Half;
        bool secondHalf = TBlocks.Value > 1 && TLast.Half;
        ref short u0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wf.U!), wf.UStart + 2 * j);
        for (int xi = 0; xi < 16; xi++)
        {
            ref short w = ref Unsafe.Add(ref u0, xi * pairs * uStride);
            ref int x = ref Unsafe.As<short, int>(ref Unsafe.Add(ref v, 4 * xi * cinR));
            Vector256<int> c0 = default, c1 = default;
            Vector128<int> h = default;
            for (int q = 0; q < pairs; q++)
            {
                if (firstWhole)
                {
                    var p = Vector256.Create(Unsafe.Add(ref x, q)).AsInt16();
                    c0 += Avx2.MultiplyAddAdjacent(p, Vector256.LoadUnsafe(ref w));
                    if (secondWhole)
                        c1 += Avx2.MultiplyAddAdjacent(p, Vector256.LoadUnsafe(ref w, 16));
                    else if (secondHalf)
                        h += Sse2.MultiplyAddAdjacent(p.GetLower(), Vector128.LoadUnsafe(ref w, 16));
                }
                else
                    h += Sse2.MultiplyAddAdjacent(Vector128.Create(Unsafe.Add(ref x, q)).AsInt16(), Vector128.LoadUnsafe(ref w));
                w = ref Unsafe.Add(ref w, uStride);
            }
            ref int mx = ref Unsafe.Add(ref m, WinogradM256Position * xi);
            if (firstWhole)
                c0.StoreUnsafe(ref mx);
            if (secondWhole)
                c1.StoreUnsafe(ref mx, 8);
            else if (TLast.Half)
                h.StoreUnsafe(ref mx, TBlocks.Value > 1 ? 8u : 0u);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradProducts256<TBlocks, TLast>(ref short v, int cinR, WinogradFilter wf, int j, ref int m)
        where TBlocks : struct, IWinogradBlocks where TLast : struct, IWinogradLast
    {
        int pairs = wf.Pairs;
        nint uStride = 2 * wf.CoutW;
        // The first block is whole unless it is the only one and half; the second (TBlocks 2) whole or half.
        bool firstWhole = TBlocks.Value > 1 || !TLast.Half;
        bool secondWhole = TBlocks.Value > 1 && !TLast.Half;
        bool secondHalf = TBlocks.Value > 1 && TLast.Half;
        ref short u0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wf.U!), wf.UStart + 2 * j);
        for (int xi = 0; xi < 16; xi++)
        {
            ref short w = ref Unsafe.Add(ref u0, xi * pairs * uStride);
            ref int x0 = ref Unsafe.As<short, int>(ref Unsafe.Add(ref v, 4 * xi * cinR));
            ref int x1 = ref Unsafe.As<short, int>(ref Unsafe.Add(ref v, (4 * xi + 1) * cinR));
            ref int x2 = ref Unsafe.As<short, int>(ref Unsafe.Add(ref v, (4 * xi + 2) * cinR));
            ref int x3 = ref Unsafe.As<short, int>(ref Unsafe.Add(ref v, (4 * xi + 3) * cinR));
            Vector256<int> c00 = default, c10 = default, c20 = default, c30 = default;
            Vector256<int> c01 = default, c11 = default, c21 = default, c31 = default;
            Vector128<int> h0 = default, h1 = default, h2 = default, h3 = default;
            if (firstWhole)
            {
                for (int q = 0; q < pairs; q++)
                {
                    var p0 = Vector256.Create(Unsafe.Add(ref x0, q)).AsInt16();
                    var p1 = Vector256.Create(Unsafe.Add(ref x1, q)).AsInt16();
                    var p2 = Vector256.Create(Unsafe.Add(ref x2, q)).AsInt16();
                    var p3 = Vector256.Create(Unsafe.Add(ref x3, q)).AsInt16();
                    var w0 = Vector256.LoadUnsafe(ref w);
                    c00 += Avx2.MultiplyAddAdjacent(p0, w0);
                    c10 += Avx2.MultiplyAddAdjacent(p1, w0);
                    c20 += Avx2.MultiplyAddAdjacent(p2, w0);
                    c30 += Avx2.MultiplyAddAdjacent(p3, w0);
                    if (secondWhole)
                    {
                        var w1 = Vector256.LoadUnsafe(ref w, 16);
                        c01 += Avx2.MultiplyAddAdjacent(p0, w1);
                        c11 += Avx2.MultiplyAddAdjacent(p1, w1);
                        c21 += Avx2.MultiplyAddAdjacent(p2, w1);
                        c31 += Avx2.MultiplyAddAdjacent(p3, w1);
                    }
                    else if (secondHalf)
                    {
                        var w1 = Vector128.LoadUnsafe(ref w, 16);
                        h0 += Sse2.MultiplyAddAdjacent(p0.GetLower(), w1);
                        h1 += Sse2.MultiplyAddAdjacent(p1.GetLower(), w1);
                        h2 += Sse2.MultiplyAddAdjacent(p2.GetLower(), w1);
                        h3 += Sse2.MultiplyAddAdjacent(p3.GetLower(), w1);
                    }
                    w = ref Unsafe.Add(ref w, uStride);
                }
            }
            else
            {
                for (int q = 0; q < pairs; q++)
                {
                    var w0 = Vector128.LoadUnsafe(ref w);
                    h0 += Sse2.MultiplyAddAdjacent(Vector128.Create(Unsafe.Add(ref x0, q)).AsInt16(), w0);
                    h1 += Sse2.MultiplyAddAdjacent(Vector128.Create(Unsafe.Add(ref x1, q)).AsInt16(), w0);
                    h2 += Sse2.MultiplyAddAdjacent(Vector128.Create(Unsafe.Add(ref x2, q)).AsInt16(), w0);
                    h3 += Sse2.MultiplyAddAdjacent(Vector128.Create(Unsafe.Add(ref x3, q)).AsInt16(), w0);
                    w = ref Unsafe.Add(ref w, uStride);
                }
            }
            ref int mx = ref Unsafe.Add(ref m, WinogradM256Position * xi);
            if (firstWhole)
            {
                c00.StoreUnsafe(ref mx);
                c10.StoreUnsafe(ref mx, 16);
                c20.StoreUnsafe(ref mx, 32);
                c30.StoreUnsafe(ref mx, 48);
            }
            if (secondWhole)
            {
                c01.StoreUnsafe(ref mx, 8);
                c11.StoreUnsafe(ref mx, 24);
                c21.StoreUnsafe(ref mx, 40);
                c31.StoreUnsafe(ref mx, 56);
            }
            else if (TLast.Half)
            {
                nuint at = TBlocks.Value > 1 ? 8u : 0u;
                h0.StoreUnsafe(ref mx, at);
                h1.StoreUnsafe(ref mx, at + 16);
                h2.StoreUnsafe(ref mx, at + 32);
                h3.StoreUnsafe(ref mx, at + 48);
            }
        }
    }

    /// <summary>Whether the last 8-channel block of a products pass holds 1-4 real channels and takes 128-bit vectors.</summary>
    private interface IWinogradLast
    {
        static abstract bool Half { get; }
    }

    private struct WholeLast : IWinogradLast { public static bool Half => false; }
    private struct HalfLast : IWinogradLast { public static bool Half => true; }

    /// <summary>The output side of <see cref="TryEvalS8WinogradAvx2"/>: Y' = A^T M A per tile and 8-channel block, requantized and stored.</summary>
    private readonly ref struct WinogradOut256
    {
        private readonly RightRequantTable _table;
        private readonly WinogradFilter _wf;
        private readonly Vector128<sbyte> _min, _max;
        private readonly bool _clamp, _clampsNegatives;
        private readonly int _cout, _ho, _wo, _tw;

        public WinogradOut256(RightRequantTable table, WinogradFilter wf, int activationMin, int activationMax, int cout, int ho, int wo, int tw)
        {
            _table = table;
            _wf = wf;
            _min = Vector128.Create((sbyte)activationMin);
            _max = Vector128.Create((sbyte)activationMax);
            _clamp = activationMin != sbyte.MinValue || activationMax != sbyte.MaxValue;
            _clampsNegatives = table.ClampsNegatives; // the sign term dropped under a fused ReLU (SimdOps512 remark 5)
            _cout = cout;
            _ho = ho;
            _wo = wo;
            _tw = tw;
        }

        /// <summary>
        /// The n tiles from tile g of the band from tile row ty0, for the channels at j (M of that block at
        /// <paramref name="m"/>: tile stride 16, position stride <see cref="WinogradM256Position"/>), TWidth's lanes of them.
        /// A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]; Y' / 2 is 2 x the products.
        /// </summary>
        public void Tiles<TWidth, TInt, TRequant>(ref int m, int n, int ty0, int g, int j, ref sbyte output)
            where TWidth : struct, IWinogradOutWidth<TInt, TRequant> where TInt : struct where TRequant : struct
        {
            int channels = System.Math.Min(TWidth.Lanes, _cout - j);
            var rq = TWidth.Requantizer(_table, j);
            var start = TWidth.Load(ref MemoryMarshal.GetArrayDataReference(_wf.Init), (nuint)j);
            start = TWidth.Add(start, start);
            for (int t = 0; t < n; t++)
            {
                ref int mt = ref Unsafe.Add(ref m, 16 * t);
                int q = g + t, y = 2 * (ty0 + q / _tw), x = 2 * (q % _tw);
                ref sbyte at = ref Unsafe.Add(ref output, (y * _wo + x) * _cout + j);
                bool right = x + 1 < _wo;
                Vertical<TWidth, TInt, TRequant>(ref mt, 0, out var r00, out var r10);
                Vertical<TWidth, TInt, TRequant>(ref mt, 1, out var r01, out var r11);
                Vertical<TWidth, TInt, TRequant>(ref mt, 2, out var r02, out var r12);
                Vertical<TWidth, TInt, TRequant>(ref mt, 3, out var r03, out var r13);
                Store<TWidth, TInt, TRequant>(TWidth.Narrow(TWidth.Add(TWidth.Add(r00, r01), r02), TWidth.Subtract(TWidth.Subtract(r01, r02), r03),
                    rq, start, _clampsNegatives), ref at, right, channels);
                if (y + 1 < _ho)
                    Store<TWidth, TInt, TRequant>(TWidth.Narrow(TWidth.Add(TWidth.Add(r10, r11), r12), TWidth.Subtract(TWidth.Subtract(r11, r12), r13),
                        rq, start, _clampsNegatives), ref Unsafe.Add(ref at, _wo * _cout), right, channels);
            }
        }

        /// <summary>Column k of the 4x4 M: r0 = m0k + m1k + m2k, r1 = m1k - m2k - m3k.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Vertical<TWidth, TInt, TRequant>(ref int mt, int k, out TInt r0, out TInt r1)
            where TWidth : struct, IWinogradOutWidth<TInt, TRequant> where TInt : struct where TRequant : struct
        {
            var m0 = TWidth.Load(ref mt, (nuint)(WinogradM256Position * k));
            var m1 = TWidth.Load(ref mt, (nuint)(WinogradM256Position * (4 + k)));
            var m2 = TWidth.Load(ref mt, (nuint)(WinogradM256Position * (8 + k)));
            var m3 = TWidth.Load(ref mt, (nuint)(WinogradM256Position * (12 + k)));
            r0 = TWidth.Add(TWidth.Add(m0, m1), m2);
            r1 = TWidth.Subtract(TWidth.Subtract(m1, m2), m3);
        }

        /// <summary>Two pixels' bytes (<see cref="IWinogradOutWidth{TInt, TRequant}.Narrow"/>): the first's, and the second's where it lies in the image.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store<TWidth, TInt, TRequant>(Vector128<sbyte> v, ref sbyte at, bool right, int channels)
            where TWidth : struct, IWinogradOutWidth<TInt, TRequant> where TInt : struct where TRequant : struct
        {
            if (_clamp)
                v = Vector128.Min(Vector128.Max(v, _min), _max);
            if (TWidth.Lanes == 8 && channels == 8)
            {
                // A whole block: each pixel's 8 bytes straight from the vector (VMOVQ, VMOVHPD), no shuffle and no move to a
                // general register.
                SimdOps.StoreTwo8(v.AsInt64(), ref at, right ? _cout : -1);
                return;
            }
            SimdOps512.Store(v, ref at, channels);
            if (right)
                SimdOps512.Store(TWidth.Second(v), ref Unsafe.Add(ref at, _cout), channels);
        }
    }
}

/// <summary>
/// The width of one block of <see cref="Conv2D.TryEvalS8WinogradAvx2"/>'s output side, its int32 vector TInt and its
/// requantizer (the exact one-rounding form): 8 channels, or the last 1-4 in 128-bit vectors.
/// </summary>
internal interface IWinogradOutWidth<TInt, TRequant>
{
    /// <summary>Channels per block.</summary>
    static abstract int Lanes { get; }

    static abstract TRequant Requantizer(RightRequantTable table, int j);

    static abstract TInt Load(ref int x, nuint elementOffset);

    static abstract TInt Add(TInt a, TInt b);

    static abstract TInt Subtract(TInt a, TInt b);

    /// <summary>
    /// Two pixels' Y' requantized (Y' / 2 is 2 x the products; <paramref name="start"/> the doubled start values) and
    /// narrowed, not yet clamped: the first pixel's bytes from byte 0, the second's where <see cref="Second"/> takes them.
    /// </summary>
    static abstract Vector128<sbyte> Narrow(TInt left, TInt right, in TRequant rq, TInt start, bool clampsNegatives);

    /// <summary>The second pixel's bytes moved to byte 0.</summary>
    static abstract Vector128<sbyte> Second(Vector128<sbyte> v);
}

/// <summary>8 channels per block (256-bit): the second pixel's bytes from byte 8.</summary>
internal struct WinogradOut8 : IWinogradOutWidth<Vector256<int>, SimdOps512.RightRequantizer256>
{
    public static int Lanes => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SimdOps512.RightRequantizer256 Requantizer(RightRequantTable table, int j) => new(table, j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(ref int x, nuint elementOffset) => Vector256.LoadUnsafe(ref x, elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Add(Vector256<int> a, Vector256<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Subtract(Vector256<int> a, Vector256<int> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Narrow(Vector256<int> left, Vector256<int> right, in SimdOps512.RightRequantizer256 rq, Vector256<int> start,
        bool clampsNegatives)
    {
        var a = rq.Apply(Vector256.ShiftRightArithmetic(left, 1) + start, clampsNegatives);
        var b = rq.Apply(Vector256.ShiftRightArithmetic(right, 1) + start, clampsNegatives);
        // VPACKSSDW works within 128-bit lanes: [a0-3 b0-3 | a4-7 b4-7]; the qword permute makes it [a0-7 | b0-7].
        var words = Avx2.Permute4x64(Avx2.PackSignedSaturate(a, b).AsInt64(), 0b11_01_10_00).AsInt16();
        return Sse2.PackSignedSaturate(words.GetLower(), words.GetUpper());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Second(Vector128<sbyte> v) => Sse2.UnpackHigh(v.AsInt64(), v.AsInt64()).AsSByte();
}

/// <summary>The last 1-4 channels (128-bit): the first pixel's bytes in bytes 0-3, the second's from byte 4.</summary>
internal struct WinogradOut4 : IWinogradOutWidth<Vector128<int>, SimdOps512.RightRequantizer128>
{
    public static int Lanes => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SimdOps512.RightRequantizer128 Requantizer(RightRequantTable table, int j) => new(table, j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load(ref int x, nuint elementOffset) => Vector128.LoadUnsafe(ref x, elementOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Add(Vector128<int> a, Vector128<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Subtract(Vector128<int> a, Vector128<int> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Narrow(Vector128<int> left, Vector128<int> right, in SimdOps512.RightRequantizer128 rq, Vector128<int> start,
        bool clampsNegatives)
    {
        var a = rq.Apply(Vector128.ShiftRightArithmetic(left, 1) + start, clampsNegatives);
        var b = rq.Apply(Vector128.ShiftRightArithmetic(right, 1) + start, clampsNegatives);
        var words = Sse2.PackSignedSaturate(a, b);
        return Sse2.PackSignedSaturate(words, words);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Second(Vector128<sbyte> v) => Sse2.ShiftRightLogical(v.AsInt64(), 32).AsSByte();
}
