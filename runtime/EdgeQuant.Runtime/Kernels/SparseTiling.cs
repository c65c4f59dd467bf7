using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// The plan of the pixel-tiled sparse Conv2D (op 53's fast path), built once per model from the sparse
/// filter and the op's shapes. The input is staged once per Invoke as int16 planes in the op's scratch,
/// channel-major and pre-padded with the input zero point:
/// <code>
/// stage[ic][phase][row][j]      phase = kx·Dw mod Sw, row over Rows, j over RowLength
///   stride 1 (vertical): row r is input row r − PadTop; output row oy, tap ky read row oy + ky·Dh
///   stride > 1:          row ky·OutH + oy is input row oy·Sh + ky·Dh − PadTop
///   column j of phase φ is input column j·Sw + φ − PadLeft
/// </code>
/// so that output pixel (oy, ox) reads tap (ky, kx, ic) at <c>stage[oy·RowLength + ox + offset]</c> with an
/// offset that depends on the tap only. Consecutive "flat" pixels q = oy·RowLength + ox are consecutive
/// elements for every tap: one vector load gives a weight's inputs for 16 pixels (the columns
/// ox ≥ OutW of a row are computed and discarded). Each output channel's stored weights are kept as
/// pairs (offset_a, offset_b, w_a | w_b &lt;&lt; 16), the last one padded with a zero weight, so that one
/// PMADDWD multiplies two weights by two staged rows interleaved. Sizes are O(Cout + stored weights).
/// </summary>
internal sealed class SparseTiling
{
    /// <summary>Pixels of one tile: one 256-bit vector of int16 staged inputs.</summary>
    public const int TilePixels = 16;

    public int Cin, InH, InW, OutH, OutW, Rows, RowLength, Phases, PhaseStride, PlaneStride;
    public int StrideH, StrideW, DilationH, DilationW, PadTop, PadLeft;
    /// <summary>
    /// Staged elements (int16): Cin planes plus slack that the discarded lanes of the last tile may read
    /// (a tile past the last row, shifted by at most a row length).
    /// </summary>
    public int StagedElements;
    /// <summary>Output channel oc's pairs are [PairStarts[oc], PairStarts[oc + 1]).</summary>
    public int[] PairStarts = [];
    /// <summary>Staged-element offsets of each pair's two weights (2 per pair).</summary>
    public int[] PairOffsets = [];
    /// <summary>Each pair's two weights as int16 halves of one int32 (low: first).</summary>
    public int[] PairWeights = [];

    /// <summary>Scratch bytes the tiled path needs (the staged planes), or 0 when it does not apply.</summary>
    public int ScratchBytes => 2 * StagedElements;

    /// <summary>
    /// Scratch bytes of op 53 for these shapes: the converter declares them so that the planner places the
    /// staged planes in the arena; a blob whose op 53 declares less runs the window-offset path instead.
    /// </summary>
    public static int ScratchBytesFor(in Shape4 inShape, in Shape4 filterShape, in Shape4 outShape, int strideH, int strideW, int dilationH, int dilationW)
    {
        Geometry(inShape, filterShape, outShape, strideH, strideW, dilationH, dilationW, out int rows, out int rowLength, out int phases);
        long elements = (long)inShape.D3 * phases * rows * rowLength + TilePixels + rowLength;
        return elements * 2 > int.MaxValue / 2 ? 0 : (int)(elements * 2 + 15) / 16 * 16;
    }

    private static void Geometry(in Shape4 inShape, in Shape4 filterShape, in Shape4 outShape, int strideH, int strideW, int dilationH, int dilationW,
        out int rows, out int rowLength, out int phases)
    {
        int kh = filterShape.D1, kw = filterShape.D2, outH = outShape.D1, outW = outShape.D2;
        rows = strideH == 1 ? outH + (kh - 1) * dilationH : kh * outH;
        phases = strideW;
        rowLength = outW + (kw - 1) * dilationW / strideW;
    }

    public static SparseTiling Create(SparseFilter f, in Shape4 inShape, in Shape4 filterShape, in Shape4 outShape,
        int strideH, int strideW, int dilationH, int dilationW, int padTop, int padLeft)
    {
        int cout = filterShape.D0, kw = filterShape.D2, cin = filterShape.D3;
        Geometry(inShape, filterShape, outShape, strideH, strideW, dilationH, dilationW, out int rows, out int rowLength, out int phases);
        var t = new SparseTiling
        {
            Cin = cin, InH = inShape.D1, InW = inShape.D2, OutH = outShape.D1, OutW = outShape.D2,
            Rows = rows, RowLength = rowLength, Phases = phases, PhaseStride = rows * rowLength, PlaneStride = phases * rows * rowLength,
            StrideH = strideH, StrideW = strideW, DilationH = dilationH, DilationW = dilationW, PadTop = padTop, PadLeft = padLeft,
        };
        t.StagedElements = cin * t.PlaneStride + TilePixels + rowLength;
        t.PairStarts = new int[cout + 1];
        int pairs = 0;
        for (int oc = 0; oc < cout; oc++)
        {
            t.PairStarts[oc] = pairs;
            pairs += (f.RowStarts[oc + 1] - f.RowStarts[oc] + 1) / 2;
        }
        t.PairStarts[cout] = pairs;
        t.PairOffsets = new int[2 * pairs];
        t.PairWeights = new int[pairs];
        for (int oc = 0; oc < cout; oc++)
        {
            int pair = t.PairStarts[oc];
            for (int i = f.RowStarts[oc], e = f.RowStarts[oc + 1]; i < e; i += 2, pair++)
            {
                int wa = f.Values[i], wb = i + 1 < e ? f.Values[i + 1] : 0;
                t.PairOffsets[2 * pair] = t.Offset(f.Columns[i], kw, cin);
                // A padding partner reads a valid element (the first's) and multiplies it by 0.
                t.PairOffsets[2 * pair + 1] = i + 1 < e ? t.Offset(f.Columns[i + 1], kw, cin) : t.PairOffsets[2 * pair];
                t.PairWeights[pair] = (ushort)(short)wa | (wb << 16);
            }
        }
        return t;
    }

    /// <summary>Staged-element offset of filter column c = (ky·Kw + kx)·Cin + ic.</summary>
    private int Offset(int c, int kw, int cin)
    {
        int tap = c / cin, ic = c - tap * cin;
        int ky = tap / kw, kx = tap - ky * kw;
        int row = StrideH == 1 ? ky * DilationH : ky * OutH;
        int x = kx * DilationW;
        return ic * PlaneStride + x % StrideW * PhaseStride + row * RowLength + x / StrideW;
    }
}
