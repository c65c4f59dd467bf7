using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using static EdgeQuant.Converter.Export.OnnxGraphWriter;

namespace EdgeQuant.Converter.Export;

// The QDQ mapping of the ops added for issue 12 (IndexSelect, BatchMatMul, ArgMax).
internal sealed partial class QdqGraphBuilder
{
    /// <summary>
    /// ArgMax -> DQ -> ArgMax (keepdims, the blob's select_last_index) -> Cast to float -> Q with the
    /// output's scale 1 and zero point: the index is exact in both. Dequantizing is monotone, so ONNX's
    /// float argmax picks the index the int8 comparisons pick.
    /// </summary>
    private void EmitArgMax(in OpInfo op)
    {
        var p = _m.ReadParams<ArgMaxParams>(op);
        var inT = _m.Tensors[op.Input0];
        if (p.Axis >= inT.Rank)
            throw new ConversionException($"op {_opIndex} (ArgMax): axis {p.Axis} is beyond the input's rank {inT.Rank}; cannot export");
        string x = Dequantize(Get(op.Input0, Layout.AsIs), op.Input0);
        string index = _w.Node("ArgMax", [x], $"op{_opIndex}_argmax",
            [Attr("axis", (long)p.Axis), Attr("keepdims", 1L), Attr("select_last_index", (long)p.SelectLastIndex)]);
        string real = _w.Node("Cast", [index], $"op{_opIndex}_float", [Attr("to", (long)OnnxElementType.Float)]);
        Set(op.Output0, Layout.AsIs, Quantize(real, op.Output0));
    }

    /// <summary>
    /// IndexSelect -> DQ -> one Gather per dimension whose table is not the identity -> Q, in blob
    /// order. A table with -1 entries first gets a Pad of one fill element in front of that axis
    /// (the fill code's real value) and gathers index + 1. Exact: codes only move.
    /// </summary>
    private void EmitIndexSelect(in OpInfo op)
    {
        var p = _m.ReadParams<IndexSelectParams>(op);
        var inT = _m.Tensors[op.Input0];
        var oT = _m.Tensors[op.Output0];
        int[] offsets = [p.Table0Offset, p.Table1Offset, p.Table2Offset, p.Table3Offset];
        var (scale, zero) = QuantOf(op.Input0);
        float fill = (p.FillValue - zero) * scale;
        int index = _opIndex;
        string x = Get(op.Input0, Layout.AsIs);
        Set(op.Output0, Layout.AsIs, Move(x, op.Input0, $"t{op.Output0}", f =>
        {
            string v = f;
            for (int d = 0; d < 4; d++)
            {
                var table = MemoryMarshal.Cast<byte, int>(_m.ConstantData.Slice(offsets[d], 4 * oT.Shape[d])).ToArray();
                bool identity = table.Length == inT.Shape[d];
                for (int i = 0; identity && i < table.Length; i++) identity = table[i] == i;
                if (identity) continue;
                bool hasFill = Array.IndexOf(table, -1) >= 0;
                if (hasFill)
                {
                    var pads = new long[8];
                    pads[d] = 1;
                    string padsName = _w.Int64s($"op{index}_pads{d}", [8], pads);
                    string value = _w.FloatScalar($"op{index}_fill{d}", fill);
                    v = _w.Node("Pad", [v, padsName, value], $"op{index}_pad{d}");
                }
                var idx = table.Select(i => (long)(hasFill ? i + 1 : i)).ToArray();
                string indices = _w.Int64s($"op{index}_indices{d}", [idx.Length], idx);
                v = _w.Node("Gather", [v, indices], $"op{index}_gather{d}", [Attr("axis", (long)d)]);
            }
            return v;
        }));
    }

    /// <summary>
    /// BatchMatMul -> DQ both inputs -> Transpose of the second ([.., N, K] -> [.., K, N]) -> MatMul
    /// (-> Mul by the factor the requantization holds beyond the scales, e.g. Gemm's alpha) -> clamp -> Q.
    /// </summary>
    private void EmitBatchMatMul(in OpInfo op)
    {
        var p = _m.ReadParams<BatchMatMulParams>(op);
        var (aScale, _) = QuantOf(op.Input0);
        var (bScale, _) = QuantOf(op.Input1);
        var (oScale, _) = QuantOf(op.Output0);
        CheckOffsets(p.Input1Offset, op.Input0, p.OutputOffset, op.Output0);
        CheckOffsets(p.Input2Offset, op.Input1, p.OutputOffset, op.Output0);
        double alpha = Effective(p.OutputMultiplier, p.OutputShift) * oScale / ((double)aScale * bScale);
        string a = Dequantize(Get(op.Input0, Layout.AsIs), op.Input0);
        string b = Dequantize(Get(op.Input1, Layout.AsIs), op.Input1);
        string bt = _w.Node("Transpose", [b], $"op{_opIndex}_bt", [Attr("perm", 0L, 1L, 3L, 2L)]);
        string y = _w.Node("MatMul", [a, bt], $"op{_opIndex}_matmul");
        if (Math.Abs(alpha - 1) > 1e-6) y = _w.Node("Mul", [y, _w.FloatScalar($"op{_opIndex}_alpha", (float)alpha)], $"op{_opIndex}_alpha");
        y = Clamp(y, p.ActivationMin, p.ActivationMax, op.Output0);
        Set(op.Output0, Layout.AsIs, Quantize(y, op.Output0));
    }
}
