using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// A 3x3 stride-1 Conv2D filter transformed for the Winograd kernels: U = G' g G'^T per output and input channel
/// (G' = 2G, G of Winograd's F(2x2, 3x3)). For the x64 kernels (<see cref="Conv2D.TryEvalS8WinogradAvx512"/>,
/// <see cref="Conv2D.TryEvalS8WinogradAvx2"/>) as int16 pairs of consecutive input channels, [16 positions, ceil(Cin / 2),
/// CoutW, 2] with CoutW = Cout rounded up to 16 (zero past Cout and past Cin): <see cref="U"/>. For the arm64 kernel
/// (<see cref="Conv2D.TryEvalS8WinogradLanes"/>) the same U per input channel: <see cref="ULanes"/>. Each layout is built
/// only where a kernel reads it. And the accumulator start values (<see cref="PackedFilter.Init"/>) padded to CoutW.
/// </summary>
internal sealed class WinogradFilter
{
    /// <summary>
    /// The transformed filter in the x64 kernels' pair layout (see the class summary) from <see cref="UStart"/>; null unless
    /// <see cref="Create"/> was asked for it. |U| &lt;= 9 x 128.
    /// </summary>
    public short[]? U { get; }

    /// <summary>Where the transformed filter starts in <see cref="U"/>: its first 64-byte boundary (the array is pinned).</summary>
    public int UStart { get; private init; }

    /// <summary><see cref="PackedFilter.Init"/>, CoutW long.</summary>
    public int[] Init { get; }

    /// <summary>Pairs of input channels.</summary>
    public int Pairs { get; }

    /// <summary>Output channels rounded up to 16: the channel stride of <see cref="U"/>.</summary>
    public int CoutW { get; }

    /// <summary>
    /// U per input channel for the arm64 kernel (SMLAL by lane): [16 positions, CinR8, CoutW8] with CinR8 and CoutW8 the
    /// channel counts rounded up to 8 (zero past Cin and Cout); null unless <see cref="Create"/> was asked for it.
    /// </summary>
    public short[]? ULanes { get; private init; }

    private WinogradFilter(short[]? u, int[] init, int pairs, int coutW)
    {
        U = u;
        Init = init;
        Pairs = pairs;
        CoutW = coutW;
    }

    /// <summary>
    /// Transforms a [Cout, 3, 3, Cin] filter: with <paramref name="pairs"/> into the pair layout of the x64 kernels
    /// (<see cref="U"/>), with <paramref name="lanes"/> into the per-channel one of the arm64 kernel (<see cref="ULanes"/>).
    /// </summary>
    public static WinogradFilter Create(ReadOnlySpan<sbyte> filter, int cout, int cin, int[] init, bool pairs, bool lanes)
    {
        int pairCount = (cin + 1) / 2, coutW = (cout + 15) & ~15;
        int cinR8 = (cin + 7) & ~7, coutW8 = (cout + 7) & ~7;
        short[]? uLanes = lanes ? new short[16 * cinR8 * coutW8] : null;
        // On the pinned object heap with 32 elements of slack, so that the kernel can start at a 64-byte boundary (UStart).
        short[]? u = pairs ? GC.AllocateArray<short>(16 * pairCount * coutW * 2 + 32, pinned: true) : null;
        Span<int> g = stackalloc int[9];
        Span<int> t = stackalloc int[12];
        for (int o = 0; o < cout; o++)
            for (int c = 0; c < cin; c++)
            {
                for (int k = 0; k < 9; k++)
                    g[k] = filter[(o * 9 + k) * cin + c];
                // t = G' g (4 x 3), then U = t G'^T (4 x 4); G' = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]].
                for (int x = 0; x < 3; x++)
                {
                    t[x] = 2 * g[x];
                    t[3 + x] = g[x] + g[3 + x] + g[6 + x];
                    t[6 + x] = g[x] - g[3 + x] + g[6 + x];
                    t[9 + x] = 2 * g[6 + x];
                }
                for (int i = 0; i < 4; i++)
                {
                    int t0 = t[3 * i], t1 = t[3 * i + 1], t2 = t[3 * i + 2];
                    Set(u, uLanes, 4 * i, c, o, pairCount, coutW, cinR8, coutW8, 2 * t0);
                    Set(u, uLanes, 4 * i + 1, c, o, pairCount, coutW, cinR8, coutW8, t0 + t1 + t2);
                    Set(u, uLanes, 4 * i + 2, c, o, pairCount, coutW, cinR8, coutW8, t0 - t1 + t2);
                    Set(u, uLanes, 4 * i + 3, c, o, pairCount, coutW, cinR8, coutW8, 2 * t2);
                }
            }
        var init16 = new int[coutW];
        init.AsSpan(0, cout).CopyTo(init16);
        int start = 0;
        if (u is not null)
        {
            unsafe
            {
                start = (int)((-(nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(u)) & 63) / 2);
            }
            if (start != 0)
            {
                u.AsSpan(0, u.Length - 32).CopyTo(u.AsSpan(start));
                u.AsSpan(0, start).Clear();
            }
        }
        return new WinogradFilter(u, init16, pairCount, coutW) { UStart = start, ULanes = uLanes };

        static void Set(short[]? u, short[]? uLanes, int xi, int c, int o, int pairs, int coutW, int cinR8, int coutW8, int v)
        {
            if (u is not null)
                u[((xi * pairs + (c >> 1)) * coutW + o) * 2 + (c & 1)] = (short)v;
            if (uLanes is not null)
                uLanes[(xi * cinR8 + c) * coutW8 + o] = (short)v;
        }
    }
}

public static partial class Conv2D
{
    /// <summary>Most input channels of <see cref="TryEvalS8WinogradAvx512"/>: its int32 sums stay exact up to about 400.</summary>
    internal const int WinogradMaxCin = 256;

    /// <summary>
    /// Fewest input channels for which the dispatcher takes Winograd: below, its transforms are not repaid. With AVX-512
    /// (<see cref="TryEvalS8WinogradAvx512"/>) 16: mnist_cnn's 3x3 8→16 on 14x14 measured 1.95-2.19 us against the direct
    /// kernel's 1.57 on Zen 5. With AVX2 only (<see cref="TryEvalS8WinogradAvx2"/>) 8: on Zen 1, whose one multiply pipe
    /// makes the products dearer against the transforms, 14x14 8→16 took 12.0 us against 15.4, 4→16 9.4 against 9.6 and
    /// 28x28 2→16 32.4 against 26.1. On arm64 without Dp (<see cref="TryEvalS8WinogradLanes"/>) 16: mnist_cnn's 8→16 took
    /// 937 instructions more per inference than the direct SMLAL tiles under qemu-aarch64 -cpu cortex-a72 (158,618 against
    /// 157,681), where fashion_resnet's 28→20 and 20→28 took 105,645 fewer.
    /// </summary>
    internal static int WinogradMinCin => Avx2.IsSupported && !Avx512BW.IsSupported ? 8 : 16;

    /// <summary>Whether a Conv2D of this shape may run a Winograd kernel (3x3, stride 1, no dilation, Cin in range).</summary>
    internal static bool WinogradShape(in Conv2DParams p, in Shape4 filterShape)
        => filterShape.D1 == 3 && filterShape.D2 == 3 && p.StrideH == 1 && p.StrideW == 1 && p.DilationH == 1 && p.DilationW == 1
            && filterShape.D3 >= 1 && filterShape.D3 <= WinogradMaxCin;

    /// <summary>Most bytes of staged input rows (on the stack) per band of tile rows in <see cref="TryEvalS8WinogradAvx512"/>.</summary>
    private const int WinogradStageBytes = 32768;

    /// <summary>
    /// 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) in exact integer arithmetic (AVX-512BW). Each 2x2 block of
    /// output pixels (a tile) reads a 4x4 input window d (padding holds the input zero point, as in the reference); its
    /// transform V = B^T d B (sums of four int8 values, |V| &lt;= 512) is multiplied position by position with the
    /// filter's U = G' g G'^T (<see cref="WinogradFilter"/>, G' = 2G so U is an integer, |U| &lt;= 1152) and summed over
    /// the input channels by VPMADDWD (int16 pairs, int32 sums, exact); Y' = A^T M A is then exactly 4 x sum(w x d) over
    /// the 3x3 taps of each of the four pixels (the identity holds over the rationals, and every term is an integer far
    /// inside int32 for Cin &lt;= 256), so Y' / 2 is 2 x the reference's products and, with <see cref="PackedFilter.Init"/>,
    /// 2 x its accumulator: the doubled form the exact 16-lane requantization takes (<see cref="SimdOps512"/>).
    /// 16 products per tile and channel pair instead of 36.
    /// The input rows of a band of tile rows are staged (with the padding) once; tiles are taken four at a time across
    /// the band, each group transformed, multiplied against up to 64 output channels at once (each broadcast pair of
    /// transformed inputs meets 1-4 weight vectors; the weights are loaded once per group) and transformed back, all in
    /// L1. The last 1-8 output channels past whole 16-channel blocks run packed, four or two tiles per vector
    /// (<see cref="WinogradTailWidth"/>; measured on 14x14 from 28 channels, Zen 5: 28→4 3.2 → 2.7 us, 28→20 4.7 → 4.4,
    /// 28→40 6.9 → 6.3). A last group of fewer than four tiles computes the missing ones from stale values and stores nothing of them.
    /// Returns false (having written nothing) when the case is not covered, or when one tile row's four staged input rows
    /// would pass <see cref="WinogradStageBytes"/> (a very wide map: the direct kernels take it).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool TryEvalS8WinogradAvx512(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
        => TryEvalS8WinogradAvx512Tiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, 0, int.MaxValue);

    /// <summary>The requantization table of a convolution <see cref="TryEvalS8WinogradAvx512"/> takes; null for the others.</summary>
    private static RightRequantTable? WinogradAvx512Table(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, in Shape4 outShape)
    {
        var wf = packed.Winograd;
        int cin = inShape.D3, cout = outShape.D3;
        if (!Avx512BW.IsSupported || wf?.U is null || !WinogradShape(p, filterShape) || filterShape.D3 != cin || packed.Cout != cout
            || multipliers.Length != cout || outShape.D1 < 1 || outShape.D2 < 1)
            return null;
        if (!WinogradRowsFit(outShape.D2, cin, 64))
            return null;
        var table = RightRequantTable.Get(ref packed.RightRequant, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        return table.Covered ? table : null;
    }

    /// <summary>
    /// Whether the Winograd kernel this machine's dispatcher (Conv2D.EvalS8) runs takes this convolution: AVX-512,
    /// else AVX2, else the 128-bit lanes (arm64). The interpreter then splits it between threads by ranges of tiles
    /// (<see cref="TryEvalS8WinogradTiles"/>).
    /// </summary>
    internal static bool WinogradTakes(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, in Shape4 outShape)
        => packed.Winograd is not null
            && (Avx512BW.IsSupported ? WinogradAvx512Table(p, inShape, filterShape, packed, multipliers, shifts, outShape) is not null
                : Avx2.IsSupported ? WinogradAvx2Table(p, inShape, filterShape, packed, multipliers, shifts, outShape) is not null
                : WinogradLanesTakes(p, inShape, filterShape, packed, multipliers, shifts, outShape));

    /// <summary>
    /// Tiles [<paramref name="tileFrom"/>, <paramref name="tileTo"/>) of a batch-1 output (0 and int.MaxValue: the whole
    /// op, any batch) by the kernel <see cref="WinogradTakes"/> names; the dispatcher's Winograd step.
    /// </summary>
    internal static bool TryEvalS8WinogradTiles(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int tileFrom, int tileTo)
        => packed.Winograd is not null
            && (Avx512BW.IsSupported ? TryEvalS8WinogradAvx512Tiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, tileFrom, tileTo)
                : Avx2.IsSupported ? TryEvalS8WinogradAvx2Tiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, tileFrom, tileTo)
                : TryEvalS8WinogradLanesTiles(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, tileFrom, tileTo));

    /// <summary>
    /// Whether one tile row's four staged input rows (each <paramref name="slack"/> bytes longer, as the kernel stages them)
    /// fit <see cref="WinogradStageBytes"/>; beyond it (very wide maps) the direct kernels take the op.
    /// </summary>
    private static bool WinogradRowsFit(int outW, int cin, int slack) => 4 * ((2 * ((outW + 1) / 2) + 2) * cin + slack) <= WinogradStageBytes;

    /// <summary>
    /// Checks a kernel's range of tiles against its th x tw tiles per image: 0 and int.MaxValue (the whole op, any batch)
    /// become [0, th x tw); otherwise the range must be non-empty, within the tiles, and of a batch-1 output.
    /// </summary>
    private static bool WinogradTileRange(int batch, int th, int tw, ref int tileFrom, ref int tileTo)
    {
        if (tileFrom == 0 && tileTo == int.MaxValue)
        {
            tileTo = th * tw;
            return true;
        }
        return batch == 1 && tileFrom >= 0 && tileTo <= th * tw && tileFrom < tileTo;
    }

    /// <summary>The 2x2 tiles of an output of <paramref name="outH"/> x <paramref name="outW"/> pixels (per image): tile rows x tiles per row.</summary>
    internal static int WinogradTiles(int outH, int outW, out int tilesPerRow)
    {
        tilesPerRow = (outW + 1) / 2;
        return (outH + 1) / 2 * tilesPerRow;
    }

    /// <summary>
    /// <see cref="TryEvalS8WinogradAvx512"/> for the tiles [<paramref name="tileFrom"/>, <paramref name="tileTo"/>) of a
    /// batch-1 output, in raster order (tile q: tile row q / tiles per row, column q % tiles per row; see
    /// <see cref="WinogradTiles"/>): only their pixels are written, each as the whole convolution writes it. The interpreter's
    /// threads split a Winograd convolution this way, 25/24 tiles of a 14x14 map, where bands of 7 output rows computed
    /// 4 tile rows each.
    /// </summary>
    [SkipLocalsInit] // staged slack and stale tiles are read only into lanes that meet zero weights or are never stored
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool TryEvalS8WinogradAvx512Tiles(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int tileFrom, int tileTo)
    {
        if (WinogradAvx512Table(p, inShape, filterShape, packed, multipliers, shifts, outShape) is not { } table)
            return false;
        var wf = packed.Winograd!;
        int cin = inShape.D3, cout = outShape.D3;
        int inH = inShape.D1, inW = inShape.D2, ho = outShape.D1, wo = outShape.D2;
        int th = (ho + 1) / 2, tw = (wo + 1) / 2;
        if (!WinogradTileRange(inShape.D0, th, tw, ref tileFrom, ref tileTo))
            return false;
        // The last 1-8 channels past whole 16-channel blocks run packed (WinogradTailWidth); 9-15 take a whole block.
        int tailWidth = WinogradTailWidth(cout), full = tailWidth == 0 ? (cout + 15) / 16 : cout / 16;
        int cinR = (cin + 31) & ~31;
        int span = 2 * tw + 2; // staged input columns
        int rowBytes = span * cin + 64;
        int bandRows = System.Math.Clamp((WinogradStageBytes / rowBytes - 2) / 2, 1, th);
        // The scratch on the stack, each start rounded up to 64 bytes: a 512-bit access that crosses a cache line costs
        // two (the stack offset, so the alignment, differs between processes and threads).
        Span<sbyte> staged = stackalloc sbyte[(2 * bandRows + 2) * rowBytes + 64];
        Span<short> v = stackalloc short[16 * 4 * cinR + 32];
        // M of up to four 16-channel blocks (16 positions x 4 tiles x 64), then of the packed tail (16 positions x 32).
        Span<int> m = stackalloc int[16 * 4 * 64 + 16 * 32 + 16];
        Span<sbyte> tailBytes = stackalloc sbyte[4 * 16 + 16];
        ref sbyte st = ref SimdOps.Align64(ref MemoryMarshal.GetReference(staged));
        ref short vr = ref SimdOps.Align64(ref MemoryMarshal.GetReference(v));
        ref int mr = ref SimdOps.Align64(ref MemoryMarshal.GetReference(m));
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        sbyte zp = (sbyte)(-p.InputOffset);
        // Staged column x holds input column x - PadLeft: the image's columns are [lo, hi).
        int lo = System.Math.Min(p.PadLeft, span), hi = System.Math.Clamp(inW + p.PadLeft, lo, span);
        var o = new WinogradOut(table, wf, p.ActivationMin, p.ActivationMax, cout, ho, wo, tw);
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
                    WinogradInput(ref st, rowBytes, g, n, tw, cin, cinR, ref vr);
                    for (int j0 = 0; ; j0 += 4)
                    {
                        // Groups of up to four whole blocks; the last group also computes the packed tail.
                        int nb = System.Math.Min(4, full - j0), tail = j0 + 4 >= full ? tailWidth : 0;
                        switch (nb)
                        {
                            case 0: WinogradProducts<Blocks0>(ref vr, cinR, wf, 16 * j0, tail, n, ref mr); break;
                            case 1: WinogradProducts<Blocks1>(ref vr, cinR, wf, 16 * j0, tail, n, ref mr); break;
                            case 2: WinogradProducts<Blocks2>(ref vr, cinR, wf, 16 * j0, tail, n, ref mr); break;
                            case 3: WinogradProducts<Blocks3>(ref vr, cinR, wf, 16 * j0, tail, n, ref mr); break;
                            default: WinogradProducts<Blocks4>(ref vr, cinR, wf, 16 * j0, tail, n, ref mr); break;
                        }
                        for (int bi = 0; bi < nb; bi++)
                            o.Tiles(ref Unsafe.Add(ref mr, 16 * bi), n, ty0, g, 16 * (j0 + bi), ref ob);
                        if (tail != 0)
                            o.TailTiles(ref Unsafe.Add(ref mr, WinogradTailM), tail, n, ty0, g, 16 * full, ref ob, ref MemoryMarshal.GetReference(tailBytes));
                        if (j0 + 4 >= full)
                            break;
                    }
                }
            }
        }
        return true;
    }

    /// <summary>
    /// V = B^T d B of the n tiles from tile g of the staged band (tile q: tile row q / tw, tile column q % tw), widened
    /// to int16, 32 channels per vector: position xi of tile t at v[(4 xi + t) x cinR].
    /// B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradInput(ref sbyte st, int rowBytes, int g, int n, int tw, int cin, int cinR, ref short v)
    {
        nint step = 4 * (nint)cinR;
        for (int t = 0; t < n; t++)
        {
            int q = g + t;
            ref sbyte window = ref Unsafe.Add(ref st, 2 * (q / tw) * rowBytes + 2 * (q % tw) * cin);
            for (int c = 0; c < cinR; c += 32)
            {
                ref sbyte at = ref Unsafe.Add(ref window, c);
                ref short vt = ref Unsafe.Add(ref v, t * cinR + c);
                // The vertical transform of each of the window's four columns, then the horizontal one of each row.
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
        static void Column(ref sbyte at, int rowBytes, out Vector512<short> r0, out Vector512<short> r1, out Vector512<short> r2, out Vector512<short> r3)
        {
            var d0 = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref at));
            var d1 = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, rowBytes)));
            var d2 = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 2 * rowBytes)));
            var d3 = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 3 * rowBytes)));
            r0 = d0 - d2;
            r1 = d1 + d2;
            r2 = d2 - d1;
            r3 = d1 - d3;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Row(Vector512<short> x0, Vector512<short> x1, Vector512<short> x2, Vector512<short> x3, ref short vt, nint step, int xi)
        {
            (x0 - x2).StoreUnsafe(ref Unsafe.Add(ref vt, xi * step));
            (x1 + x2).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 1) * step));
            (x2 - x1).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 2) * step));
            (x1 - x3).StoreUnsafe(ref Unsafe.Add(ref vt, (xi + 3) * step));
        }
    }

    /// <summary>A count of 16-channel blocks known to the JIT.</summary>
    private interface IWinogradBlocks
    {
        static abstract int Value { get; }
    }

    private struct Blocks0 : IWinogradBlocks { public static int Value => 0; }
    private struct Blocks1 : IWinogradBlocks { public static int Value => 1; }
    private struct Blocks2 : IWinogradBlocks { public static int Value => 2; }
    private struct Blocks3 : IWinogradBlocks { public static int Value => 3; }
    private struct Blocks4 : IWinogradBlocks { public static int Value => 4; }

    /// <summary>Where the packed tail's M starts in the products' scratch: past the four blocks' (16 positions x 256).</summary>
    private const int WinogradTailM = 16 * 256;

    /// <summary>
    /// Lanes per tile of the packed tail for <paramref name="cout"/> output channels: 4 for a last 1-4 channels past whole
    /// 16-channel blocks (four tiles in one vector), 8 for 5-8 (two tiles per vector, two vectors), 0 otherwise (a whole
    /// block: 9-15 channels, or none).
    /// </summary>
    internal static int WinogradTailWidth(int cout) => (cout & 15) switch { 0 => 0, <= 4 => 4, <= 8 => 8, _ => 0 };

    /// <inheritdoc cref="WinogradProducts{TBlocks, TTail, TOne}"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradProducts<TBlocks>(ref short v, int cinR, WinogradFilter wf, int j, int tail, int tiles, ref int m) where TBlocks : struct, IWinogradBlocks
    {
        // A group of one tile (a range's or an image's last, 49 tiles = 12 x 4 + 1) computes one tile's products, not four:
        // 0.29 us for the one tile of fashion_resnet's 14x14 20 -> 28 layer, as long as a group of four.
        if (tiles == 1) WinogradProductsTail<TBlocks, Yes>(ref v, cinR, wf, j, tail, ref m);
        else WinogradProductsTail<TBlocks, No>(ref v, cinR, wf, j, tail, ref m);
    }

    /// <summary><see cref="WinogradProducts{TBlocks, TTail, TOne}"/> for a tail width known at run time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WinogradProductsTail<TBlocks, TOne>(ref short v, int cinR, WinogradFilter wf, int j, int tail, ref int m)
        where TBlocks : struct, IWinogradBlocks where TOne : struct, IFlag
    {
        switch (tail)
        {
            case 4: WinogradProducts<TBlocks, Tail4, TOne>(ref v, cinR, wf, j, ref m); break;
            case 8: WinogradProducts<TBlocks, Tail8, TOne>(ref v, cinR, wf, j, ref m); break;
            default: WinogradProducts<TBlocks, Tail0, TOne>(ref v, cinR, wf, j, ref m); break;
        }
    }

    /// <summary>Lanes per tile of a packed tail known to the JIT: 0 (none), 4 or 8.</summary>
    private interface IWinogradTail
    {
        static abstract int Width { get; }
    }

    private struct Tail0 : IWinogradTail { public static int Width => 0; }
    private struct Tail4 : IWinogradTail { public static int Width => 4; }
    private struct Tail8 : IWinogradTail { public static int Width => 8; }

    /// <summary>
    /// M[xi, t, 16 bi + lane] = sum over input-channel pairs of V[xi, t] x U[xi] for the TBlocks x 16 output channels
    /// from j and the four tiles of the group: per pair four broadcasts, TBlocks weight loads, 4 x TBlocks VPMADDWD.
    /// M's tile stride is 64, its position stride 256.
    /// <para>
    /// With a tail (TTail.Width 4 or 8), also the Width channels after those blocks, packed: lane Width x t + c holds
    /// tile t and channel c, so the last 1-4 channels take one VPMADDWD per pair instead of four (a whole block), and
    /// 5-8 two. The four tiles' broadcast pairs are merged by lane (VPTERNLOGD), and the channels' weights, Width pairs,
    /// are broadcast to every tile's lanes straight from the block layout. The tail's M is at
    /// <see cref="WinogradTailM"/>, position stride 32 (two vectors for Width 8: tiles 0-1, then 2-3).
    /// </para>
    /// <para>TOne: tile 0 alone (its M as above; the other tiles' M and the tail's lanes of tiles 1-3 are not written).</para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void WinogradProducts<TBlocks, TTail, TOne>(ref short v, int cinR, WinogradFilter wf, int j, ref int m)
        where TBlocks : struct, IWinogradBlocks where TTail : struct, IWinogradTail where TOne : struct, IFlag
    {
        int pairs = wf.Pairs;
        nint uStride = 2 * wf.CoutW;
        ref short u0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wf.U!), wf.UStart + 2 * j);
        // Int16 masks: the odd 4-lane quarters' int32 lanes (4-7, 12-15) and the upper 8 int32 lanes.
        var odd4 = Vector512.Create(0L, 0, -1, -1, 0, 0, -1, -1).AsInt16();
        var high8 = Vector512.Create(0L, 0, 0, 0, -1, -1, -1, -1).AsInt16();
        for (int xi = 0; xi < 16; xi++)
        {
            ref short w = ref Unsafe.Add(ref u0, xi * pairs * uStride);
            ref short x0 = ref Unsafe.Add(ref v, 4 * xi * cinR);
            ref short x1 = ref Unsafe.Add(ref x0, cinR);
            ref short x2 = ref Unsafe.Add(ref x1, cinR);
            ref short x3 = ref Unsafe.Add(ref x2, cinR);
            Vector512<int> c00 = default, c10 = default, c20 = default, c30 = default;
            Vector512<int> c01 = default, c11 = default, c21 = default, c31 = default;
            Vector512<int> c02 = default, c12 = default, c22 = default, c32 = default;
            Vector512<int> c03 = default, c13 = default, c23 = default, c33 = default;
            Vector512<int> ct0 = default, ct1 = default;
            for (int q = 0; q < pairs; q++)
            {
                var p0 = Pair(ref x0, q);
                var p1 = TOne.Value ? p0 : Pair(ref x1, q);
                var p2 = TOne.Value ? p0 : Pair(ref x2, q);
                var p3 = TOne.Value ? p0 : Pair(ref x3, q);
                if (TTail.Width == 4)
                {
                    // Lanes 0-3: tile 0's pair, 4-7: tile 1's, 8-11: tile 2's, 12-15: tile 3's; the 4 channels' pairs in each quarter.
                    var wt = Avx512F.BroadcastVector128ToVector512((int*)Unsafe.AsPointer(ref Unsafe.Add(ref w, 32 * TBlocks.Value))).AsInt16();
                    if (TOne.Value)
                        ct0 += Avx512BW.MultiplyAddAdjacent(p0, wt);
                    else
                    {
                        var t01 = Vector512.ConditionalSelect(odd4, p1, p0);
                        var t23 = Vector512.ConditionalSelect(odd4, p3, p2);
                        ct0 += Avx512BW.MultiplyAddAdjacent(Vector512.ConditionalSelect(high8, t23, t01), wt);
                    }
                }
                else if (TTail.Width == 8)
                {
                    // Lanes 0-7: tile 0 (tile 2), 8-15: tile 1 (tile 3); the 8 channels' pairs in each half.
                    var wt = SimdOps512.Broadcast256(Unsafe.AsPointer(ref Unsafe.Add(ref w, 32 * TBlocks.Value))).AsInt16();
                    if (TOne.Value)
                        ct0 += Avx512BW.MultiplyAddAdjacent(p0, wt);
                    else
                    {
                        ct0 += Avx512BW.MultiplyAddAdjacent(Vector512.ConditionalSelect(high8, p1, p0), wt);
                        ct1 += Avx512BW.MultiplyAddAdjacent(Vector512.ConditionalSelect(high8, p3, p2), wt);
                    }
                }
                if (TBlocks.Value > 0)
                {
                    var w0 = Vector512.LoadUnsafe(ref w);
                    c00 += Avx512BW.MultiplyAddAdjacent(p0, w0);
                    if (!TOne.Value) c10 += Avx512BW.MultiplyAddAdjacent(p1, w0);
                    if (!TOne.Value) c20 += Avx512BW.MultiplyAddAdjacent(p2, w0);
                    if (!TOne.Value) c30 += Avx512BW.MultiplyAddAdjacent(p3, w0);
                }
                if (TBlocks.Value > 1)
                {
                    var w1 = Vector512.LoadUnsafe(ref w, 32);
                    c01 += Avx512BW.MultiplyAddAdjacent(p0, w1);
                    if (!TOne.Value) c11 += Avx512BW.MultiplyAddAdjacent(p1, w1);
                    if (!TOne.Value) c21 += Avx512BW.MultiplyAddAdjacent(p2, w1);
                    if (!TOne.Value) c31 += Avx512BW.MultiplyAddAdjacent(p3, w1);
                }
                if (TBlocks.Value > 2)
                {
                    var w2 = Vector512.LoadUnsafe(ref w, 64);
                    c02 += Avx512BW.MultiplyAddAdjacent(p0, w2);
                    if (!TOne.Value) c12 += Avx512BW.MultiplyAddAdjacent(p1, w2);
                    if (!TOne.Value) c22 += Avx512BW.MultiplyAddAdjacent(p2, w2);
                    if (!TOne.Value) c32 += Avx512BW.MultiplyAddAdjacent(p3, w2);
                }
                if (TBlocks.Value > 3)
                {
                    var w3 = Vector512.LoadUnsafe(ref w, 96);
                    c03 += Avx512BW.MultiplyAddAdjacent(p0, w3);
                    if (!TOne.Value) c13 += Avx512BW.MultiplyAddAdjacent(p1, w3);
                    if (!TOne.Value) c23 += Avx512BW.MultiplyAddAdjacent(p2, w3);
                    if (!TOne.Value) c33 += Avx512BW.MultiplyAddAdjacent(p3, w3);
                }
                w = ref Unsafe.Add(ref w, uStride);
            }
            ref int mx = ref Unsafe.Add(ref m, 256 * xi);
            if (TTail.Width != 0)
            {
                ref int mt = ref Unsafe.Add(ref m, WinogradTailM + 32 * xi);
                ct0.StoreUnsafe(ref mt);
                if (TTail.Width == 8 && !TOne.Value)
                    ct1.StoreUnsafe(ref mt, 16);
            }
            if (TBlocks.Value > 0)
            {
                c00.StoreUnsafe(ref mx);
                if (!TOne.Value) c10.StoreUnsafe(ref mx, 64);
                if (!TOne.Value) c20.StoreUnsafe(ref mx, 128);
                if (!TOne.Value) c30.StoreUnsafe(ref mx, 192);
            }
            if (TBlocks.Value > 1)
            {
                c01.StoreUnsafe(ref mx, 16);
                if (!TOne.Value) c11.StoreUnsafe(ref mx, 80);
                if (!TOne.Value) c21.StoreUnsafe(ref mx, 144);
                if (!TOne.Value) c31.StoreUnsafe(ref mx, 208);
            }
            if (TBlocks.Value > 2)
            {
                c02.StoreUnsafe(ref mx, 32);
                if (!TOne.Value) c12.StoreUnsafe(ref mx, 96);
                if (!TOne.Value) c22.StoreUnsafe(ref mx, 160);
                if (!TOne.Value) c32.StoreUnsafe(ref mx, 224);
            }
            if (TBlocks.Value > 3)
            {
                c03.StoreUnsafe(ref mx, 48);
                if (!TOne.Value) c13.StoreUnsafe(ref mx, 112);
                if (!TOne.Value) c23.StoreUnsafe(ref mx, 176);
                if (!TOne.Value) c33.StoreUnsafe(ref mx, 240);
            }
        }
    }

    /// <summary>The output side of <see cref="TryEvalS8WinogradAvx512"/>: Y' = A^T M A per tile, requantized and stored.</summary>
    private readonly ref struct WinogradOut
    {
        private readonly RightRequantTable _table;
        private readonly WinogradFilter _wf;
        private readonly Vector128<sbyte> _min, _max;
        private readonly bool _clamp, _folded;
        private readonly int _cout, _ho, _wo, _tw;

        public WinogradOut(RightRequantTable table, WinogradFilter wf, int activationMin, int activationMax, int cout, int ho, int wo, int tw)
        {
            _table = table;
            _wf = wf;
            _min = Vector128.Create((sbyte)activationMin);
            _max = Vector128.Create((sbyte)activationMax);
            _clamp = activationMin != sbyte.MinValue || activationMax != sbyte.MaxValue;
            _folded = table.ClampsNegatives;
            _cout = cout;
            _ho = ho;
            _wo = wo;
            _tw = tw;
        }

        /// <summary>
        /// The n tiles from tile g of the band from tile row ty0, for the 16 channels at j (M of that block at
        /// <paramref name="m"/>: tile stride 64, position stride 256). A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]; Y' / 2 is 2 x the products.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Tiles(ref int m, int n, int ty0, int g, int j, ref sbyte output)
        {
            int channels = System.Math.Min(16, _cout - j);
            var rq = new SimdOps512.RightRequantizer(_table, j);
            var start = Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_wf.Init), (nuint)j);
            start += start;
            if (_folded)
            {
                rq = rq.WithStart(start);
                start = default;
            }
            var perm = SimdOps512.RightRequantizer.HighHalves;
            for (int t = 0; t < n; t++)
            {
                ref int mt = ref Unsafe.Add(ref m, 64 * t);
                Vertical(ref mt, 0, 256, out var r00, out var r10);
                Vertical(ref mt, 1, 256, out var r01, out var r11);
                Vertical(ref mt, 2, 256, out var r02, out var r12);
                Vertical(ref mt, 3, 256, out var r03, out var r13);
                TileAt(g + t, ty0, out int y, out int x);
                ref sbyte at = ref Unsafe.Add(ref output, (y * _wo + x) * _cout + j);
                bool right = x + 1 < _wo;
                Pixel(r00 + r01 + r02, rq, start, perm, channels, ref at);
                if (right) Pixel(r01 - r02 - r03, rq, start, perm, channels, ref Unsafe.Add(ref at, _cout));
                if (y + 1 < _ho)
                {
                    ref sbyte below = ref Unsafe.Add(ref at, _wo * _cout);
                    Pixel(r10 + r11 + r12, rq, start, perm, channels, ref below);
                    if (right) Pixel(r11 - r12 - r13, rq, start, perm, channels, ref Unsafe.Add(ref below, _cout));
                }
            }
        }

        /// <summary>
        /// The packed tail (<see cref="WinogradProducts{TBlocks, TTail, TOne}"/>): the last 1-<paramref name="width"/> channels from
        /// <paramref name="j"/> of the n tiles from tile g, M at <paramref name="m"/> (position stride 32). The back transform
        /// is per lane, so it runs on the packed vectors as they are: per vector four pixels' requantizations for all of its
        /// tiles (instead of one per pixel and tile), the requantization operands laid out like the lanes
        /// (<see cref="SimdOps512.RightRequantizer.Four4"/>, <see cref="SimdOps512.RightRequantizer.Twice8"/>). A vector's
        /// four pixels' bytes go to <paramref name="scratch"/> (64 bytes and 16 of slack), each tile's stored from there.
        /// </summary>
        public void TailTiles(ref int m, int width, int n, int ty0, int g, int j, ref sbyte output, ref sbyte scratch)
        {
            int channels = _cout - j;
            var rq = width == 4 ? SimdOps512.RightRequantizer.Four4(_table, j) : SimdOps512.RightRequantizer.Twice8(_table, j);
            var start = Start(width, j);
            start += start;
            if (_folded)
            {
                rq = rq.WithStart(start);
                start = default;
            }
            var perm = SimdOps512.RightRequantizer.HighHalves;
            for (int vi = 0; vi < width / 4; vi++)
            {
                ref int mv = ref Unsafe.Add(ref m, 16 * vi);
                Vertical(ref mv, 0, 32, out var r00, out var r10);
                Vertical(ref mv, 1, 32, out var r01, out var r11);
                Vertical(ref mv, 2, 32, out var r02, out var r12);
                Vertical(ref mv, 3, 32, out var r03, out var r13);
                var b00 = Narrow(r00 + r01 + r02, rq, start, perm);
                var b01 = Narrow(r01 - r02 - r03, rq, start, perm);
                var b10 = Narrow(r10 + r11 + r12, rq, start, perm);
                var b11 = Narrow(r11 - r12 - r13, rq, start, perm);
                b00.StoreUnsafe(ref scratch);
                b01.StoreUnsafe(ref scratch, 16);
                b10.StoreUnsafe(ref scratch, 32);
                b11.StoreUnsafe(ref scratch, 48);
                // This vector's tiles, 16 / width of them: tile t's bytes at width x (t - first) in each pixel's 16.
                int first = vi * 16 / width, last = System.Math.Min(n, first + 16 / width);
                for (int t = first; t < last; t++)
                {
                    TileAt(g + t, ty0, out int y, out int x);
                    ref sbyte at = ref Unsafe.Add(ref output, (y * _wo + x) * _cout + j);
                    ref sbyte from = ref Unsafe.Add(ref scratch, width * (t - first));
                    bool right = x + 1 < _wo;
                    SimdOps512.Store(Vector128.LoadUnsafe(ref from), ref at, channels);
                    if (right) SimdOps512.Store(Vector128.LoadUnsafe(ref from, 16), ref Unsafe.Add(ref at, _cout), channels);
                    if (y + 1 < _ho)
                    {
                        ref sbyte below = ref Unsafe.Add(ref at, _wo * _cout);
                        SimdOps512.Store(Vector128.LoadUnsafe(ref from, 32), ref below, channels);
                        if (right) SimdOps512.Store(Vector128.LoadUnsafe(ref from, 48), ref Unsafe.Add(ref below, _cout), channels);
                    }
                }
            }
        }

        /// <summary>The top-left output pixel (y, x) of tile q of the band from tile row ty0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void TileAt(int q, int ty0, out int y, out int x)
        {
            y = 2 * (ty0 + q / _tw);
            x = 2 * (q % _tw);
        }

        /// <summary>The accumulator start values of the tail's lanes: channel j + (lane mod width).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private unsafe Vector512<int> Start(int width, int j)
        {
            // Init is CoutW long (a multiple of 16), so the width values from j are there.
            fixed (int* init = &_wf.Init[j])
                return width == 4 ? Avx512F.BroadcastVector128ToVector512(init) : SimdOps512.Broadcast256(init);
        }

        /// <summary>Column k of the 4x4 M (position stride <paramref name="stride"/>): r0 = m0k + m1k + m2k, r1 = m1k - m2k - m3k.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Vertical(ref int mt, int k, int stride, out Vector512<int> r0, out Vector512<int> r1)
        {
            var m0 = Vector512.LoadUnsafe(ref mt, (nuint)(stride * k));
            var m1 = Vector512.LoadUnsafe(ref mt, (nuint)(stride * (4 + k)));
            var m2 = Vector512.LoadUnsafe(ref mt, (nuint)(stride * (8 + k)));
            var m3 = Vector512.LoadUnsafe(ref mt, (nuint)(stride * (12 + k)));
            r0 = m0 + m1 + m2;
            r1 = m1 - m2 - m3;
        }

        /// <summary>Y' of 16 lanes requantized, narrowed and clamped.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector128<sbyte> Narrow(Vector512<int> y4, in SimdOps512.RightRequantizer rq, Vector512<int> start, Vector512<int> perm)
        {
            var doubled = Vector512.ShiftRightArithmetic(y4, 1) + start;
            var bytes = Avx512F.ConvertToVector128SByteWithSaturation(_folded ? rq.ApplyClamped(doubled, perm) : rq.Apply(doubled, perm));
            return _clamp ? Vector128.Min(Vector128.Max(bytes, _min), _max) : bytes;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Pixel(Vector512<int> y4, in SimdOps512.RightRequantizer rq, Vector512<int> start, Vector512<int> perm, int channels, ref sbyte to)
            => SimdOps512.Store(Narrow(y4, rq, start, perm), ref to, channels);
    }

    /// <summary>Pair q of a transformed row, broadcast to the 16 int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Pair(ref short row, int q)
        => Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref row, 2 * q)))).AsInt16();
}
