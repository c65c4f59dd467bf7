using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Packing;

/// <summary>Writes a quantized graph as an .eqm blob (see docs/format.md).</summary>
public static class Packer
{
    /// <summary>Serialises <paramref name="q"/>; <paramref name="tensorIndex"/> receives the blob tensor index of every IR activation.</summary>
    public static byte[] Pack(QuantizedGraph q, IReadOnlyDictionary<string, string> metadata, out Dictionary<IrTensor, int> tensorIndex)
    {
        // Compressed conversions (ops 55-57) align scales and per-channel records to 4 bytes, as the format allows;
        // int8 blobs keep the 16-byte layout they have always had.
        var w = new ModelWriter { SmallDataAlignment = q.Options.Weights == WeightEncoding.Int8 ? ModelFormat.Alignment : 4 };
        var index = new Dictionary<IrTensor, int>();
        var shared = new SharedRecords();
        int Tensor(IrTensor t)
        {
            if (index.TryGetValue(t, out int i)) return i;
            if (t.IsConstant)
            {
                var (data, cq) = q.Constants[t];
                int qi = w.AddQuantization([cq.Scale], cq.ZeroPoint);
                i = w.AddConstant<sbyte>(TensorType.Int8, t.Shape, data, qi);
            }
            else
            {
                var aq = q.Activations[t];
                int qi = w.AddQuantization([aq.Scale], aq.ZeroPoint);
                i = w.AddActivation(TensorType.Int8, t.Shape, qi);
            }
            index[t] = i;
            return i;
        }

        foreach (var t in q.Graph.Inputs) Tensor(t);
        foreach (var op in q.Graph.Ops)
        {
            int x = Tensor(op.Inputs[0]);
            int y = Tensor(op.Output);
            AddInt8Op(w, q, op, x, y, Tensor, shared);
        }
        foreach (var t in q.Graph.Inputs) w.AddInput(q.Graph.IoNames[t], index[t], q.Graph.Layouts[t]);
        foreach (var t in q.Graph.Outputs) w.AddOutput(q.Graph.IoNames[t], index[t], q.Graph.Layouts[t]);
        foreach (var (k, v) in metadata) w.SetMetadata(k, v);
        tensorIndex = index;
        return w.Build();
    }

    /// <summary>Records one blob shares between ops.</summary>
    internal sealed class SharedRecords
    {
        /// <summary>One per-tensor quantization record (scale 1, zero point 0) shared by every codebook of ops 55-57.</summary>
        public int? CodebookQuant;
    }

    /// <summary>
    /// Adds IR op <paramref name="op"/> as its int8 runtime op, reading blob tensor <paramref name="x"/> (its first
    /// input) and writing <paramref name="y"/>; <paramref name="tensor"/> gives the blob index of its other operands.
    /// </summary>
    internal static void AddInt8Op(ModelWriter w, QuantizedGraph q, IrOp op, int x, int y, Func<IrTensor, int> tensor, SharedRecords shared)
    {
        var Tensor = tensor;
        {
            var r = q.Ops[op];
            var inQ = q.Activations.TryGetValue(op.Inputs[0], out var a) ? a : default;
            var outQ = q.Activations[op.Output];
            switch (op.Type)
            {
                case OpType.Conv2D:
                case OpType.DepthwiseConv2D:
                case OpType.FullyConnected:
                {
                    if (r.Encoding != WeightEncoding.Int8)
                    {
                        shared.CodebookQuant ??= w.AddQuantization([1f], 0);
                        CompressedPacking.AddPackedOp(w, op, r, x, y, inQ, outQ, shared.CodebookQuant.Value);
                        break;
                    }
                    int cout = r.Bias!.Length;
                    bool dw = op.Type == OpType.DepthwiseConv2D;
                    int wq = w.AddQuantization(r.WeightScales, 0, dw ? 3 : 0);
                    var (type, wt, codebook) = CompressedPacking.UsesPlainInt8(op, r, q.Options.Sparse)
                        ? (op.Type, w.AddConstant<sbyte>(TensorType.Int8, op.WeightShape, r.Weights, wq), -1)
                        : CompressedPacking.AddFilter(w, op, r, wq);
                    int bt = w.AddConstant<int>(TensorType.Int32, [cout], r.Bias, -1);
                    int mo = w.AddConstantData<int>(r.Multipliers);
                    int so = w.AddConstantData<int>(r.Shifts);
                    // Compressed and sparse kernels fold the bias themselves when the model is prepared.
                    int fo = type == op.Type ? w.AddConstantData<int>(FoldedBias(op, r, -inQ.ZeroPoint)) : -1;
                    int[] inputs = codebook >= 0 ? [x, wt, bt, codebook] : [x, wt, bt];
                    if (op.Type == OpType.FullyConnected)
                    {
                        var p = new FullyConnectedParams
                        {
                            InputOffset = -inQ.ZeroPoint, OutputOffset = outQ.ZeroPoint, ActivationMin = r.ActivationMin, ActivationMax = r.ActivationMax,
                            MultipliersOffset = mo, ShiftsOffset = so, FoldedBiasOffset = fo,
                        };
                        w.AddOp(type, inputs, [y], p);
                    }
                    else
                    {
                        var p = new Conv2DParams
                        {
                            StrideH = op.StrideH, StrideW = op.StrideW, DilationH = op.DilationH, DilationW = op.DilationW,
                            PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                            InputOffset = -inQ.ZeroPoint, OutputOffset = outQ.ZeroPoint, ActivationMin = r.ActivationMin, ActivationMax = r.ActivationMax,
                            MultipliersOffset = mo, ShiftsOffset = so, DepthMultiplier = op.DepthMultiplier, FoldedBiasOffset = fo,
                        };
                        // Conv2D's im2col path and the sparse Conv2D's staged planes need scratch; depthwise works in place.
                        int scratch = type == OpType.Conv2DSparse ? CompressedPacking.SparseScratchBytes(op)
                            : dw ? 0 : Runtime.Kernels.KernelScratch.Conv2DBytes(op.KernelH, op.KernelW, op.Inputs[0].Shape[^1], op.Output.Shape[2]);
                        w.AddOp(type, inputs, [y], p, scratch);
                    }
                    break;
                }
                case OpType.Add:
                case OpType.Sub:
                case OpType.Mul:
                    w.AddOp(op.Type, [x, Tensor(op.Inputs[1])], [y], r.Elementwise);
                    break;
                case OpType.MaxPool2D:
                case OpType.AveragePool2D:
                    w.AddOp(op.Type, [x], [y], new PoolParams
                    {
                        StrideH = op.StrideH, StrideW = op.StrideW, FilterH = op.KernelH, FilterW = op.KernelW,
                        PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                        ActivationMin = r.ActivationMin, ActivationMax = r.ActivationMax,
                    });
                    break;
                case OpType.Mean:
                    w.AddOp(OpType.Mean, [x], [y], r.Mean);
                    break;
                case OpType.Concatenation:
                {
                    var ins = op.Inputs.Select(Tensor).ToArray();
                    var p = new ConcatParams { Axis = op.Axis, InputCount = ins.Length, OutputOffset = outQ.ZeroPoint };
                    int[] o = r.ConcatOffsets!, m = r.ConcatMultipliers!, s = r.ConcatShifts!;
                    if (ins.Length > 0) { p.In0Offset = o[0]; p.In0Multiplier = m[0]; p.In0Shift = s[0]; }
                    if (ins.Length > 1) { p.In1Offset = o[1]; p.In1Multiplier = m[1]; p.In1Shift = s[1]; }
                    if (ins.Length > 2) { p.In2Offset = o[2]; p.In2Multiplier = m[2]; p.In2Shift = s[2]; }
                    if (ins.Length > 3) { p.In3Offset = o[3]; p.In3Multiplier = m[3]; p.In3Shift = s[3]; }
                    w.AddOp(OpType.Concatenation, ins, [y], p);
                    break;
                }
                case OpType.Pad:
                    w.AddOp(OpType.Pad, [x], [y], new PadParams
                    {
                        Before0 = op.PadBefore[0], Before1 = op.PadBefore[1], Before2 = op.PadBefore[2], Before3 = op.PadBefore[3],
                        After0 = op.PadAfter[0], After1 = op.PadAfter[1], After2 = op.PadAfter[2], After3 = op.PadAfter[3],
                        PadValue = r.PadValue,
                    });
                    break;
                case OpType.IndexSelect:
                {
                    var t = op.IndexTables!;
                    w.AddOp(OpType.IndexSelect, [x], [y], new IndexSelectParams
                    {
                        Table0Offset = w.AddConstantData<int>(t[0]), Table1Offset = w.AddConstantData<int>(t[1]),
                        Table2Offset = w.AddConstantData<int>(t[2]), Table3Offset = w.AddConstantData<int>(t[3]),
                        FillValue = r.PadValue,
                    });
                    break;
                }
                case OpType.BatchMatMul:
                    w.AddOp(OpType.BatchMatMul, [x, Tensor(op.Inputs[1])], [y], r.BatchMatMul);
                    break;
                case OpType.Lstm:
                case OpType.Gru:
                {
                    var rq = r.Recurrent!;
                    var spec = op.Recurrent!;
                    int dirs = spec.Direction == 2 ? 2 : 1, rows = rq.InputMultipliers.Length / dirs;
                    if (rq.Int4)
                    {
                        AddRecurrentInt4(w, op, rq, x, y);
                        break;
                    }
                    // W and R hold one scale per gate row in the multipliers; their records carry the largest, for tools.
                    int wt = w.AddConstant<sbyte>(TensorType.Int8, [dirs, rows, op.Inputs[0].Shape[2]], rq.W, w.AddQuantization([rq.WScale], 0));
                    int rt = w.AddConstant<sbyte>(TensorType.Int8, [dirs, rows, spec.Hidden], rq.R, w.AddQuantization([rq.RScale], 0));
                    int bt = w.AddConstant<int>(TensorType.Int32, [dirs, 2, rows], rq.Bias, -1);
                    var p = rq.Params;
                    p.InputMultipliersOffset = w.AddConstantData<int>(rq.InputMultipliers);
                    p.InputShiftsOffset = w.AddConstantData<int>(rq.InputShifts);
                    p.RecurrentMultipliersOffset = w.AddConstantData<int>(rq.RecurrentMultipliers);
                    p.RecurrentShiftsOffset = w.AddConstantData<int>(rq.RecurrentShifts);
                    w.AddOp(op.Type, [x, wt, rt, bt], [y], p, EdgeQuant.Runtime.Kernels.Recurrent.ScratchBytes(op.Type == OpType.Lstm ? 4 : 3, spec.Hidden));
                    break;
                }
                case OpType.ArgMax:
                    w.AddOp(OpType.ArgMax, [x], [y], new ArgMaxParams { Axis = op.Axis, SelectLastIndex = op.SelectLastIndex ? 1 : 0, OutputOffset = outQ.ZeroPoint });
                    break;
                case OpType.Reshape:
                    w.AddOp(OpType.Reshape, [x], [y]);
                    break;
                case OpType.Transpose:
                    w.AddOp(OpType.Transpose, [x], [y], new TransposeParams { Perm0 = op.Perm[0], Perm1 = op.Perm[1], Perm2 = op.Perm[2], Perm3 = op.Perm[3] });
                    break;
                case OpType.Softmax:
                    w.AddOp(OpType.Softmax, [x], [y], new SoftmaxParams { ExpTableOffset = w.AddConstantData<int>(r.ExpTable), OutputOffset = -128 });
                    break;
                case OpType.Logistic:
                case OpType.Tanh:
                case OpType.Lookup:
                    w.AddOp(op.Type, [x], [y], new LookupParams { TableOffset = w.AddConstantData<sbyte>(r.Table) });
                    break;
                default:
                    throw new ConversionException($"op {op.Type} ('{op.Name}') cannot be packed");
            }
        }
    }

    /// <summary>
    /// An Lstm / Gru with int4 weights as op 25 or 26: W and R as int4 tensors [D·G·H, I] and [D·G·H, H] (one gate row
    /// per tensor row, no quantization record: the multipliers carry the scales) and the packed per-row record.
    /// </summary>
    private static void AddRecurrentInt4(ModelWriter w, IrOp op, RecurrentQuant rq, int x, int y)
    {
        var spec = op.Recurrent!;
        int total = rq.InputMultipliers.Length, inputs = op.Inputs[0].Shape[2];
        int wt = w.AddConstantEncoded(TensorType.Int4, [total, inputs], Int4Grid.Pack(ToInts(rq.W), total), -1);
        int rt = w.AddConstantEncoded(TensorType.Int4, [total, spec.Hidden], Int4Grid.Pack(ToInts(rq.R), total), -1);
        var p = rq.Params;
        int record = w.AddSmallConstantData(PackedRecurrent.Encode(rq.PostBias!, rq.InputMultipliers, rq.InputShifts, rq.RecurrentMultipliers, rq.RecurrentShifts));
        // The quantizer rounded the output multiplier to 16 bits, so this is exact.
        var packed = new RecurrentPackedParams
        {
            HiddenSize = checked((short)p.HiddenSize), Direction = checked((byte)p.Direction), LinearBeforeReset = checked((byte)p.LinearBeforeReset),
            InputOffset = checked((short)p.InputOffset), OutputOffset = checked((short)p.OutputOffset),
            OutputMultiplier16 = checked((ushort)(p.OutputMultiplier >> 15)), OutputShift = checked((sbyte)p.OutputShift), CellShift = checked((sbyte)p.CellShift),
            RequantOffset = record,
        };
        bool lstm = op.Type == OpType.Lstm;
        w.AddOp(lstm ? OpType.LstmPacked : OpType.GruPacked, [x, wt, rt], [y], packed, Runtime.Kernels.Recurrent.ScratchBytes(lstm ? 4 : 3, spec.Hidden));

        static int[] ToInts(sbyte[] v)
        {
            var r = new int[v.Length];
            for (int i = 0; i < v.Length; i++) r[i] = v[i];
            return r;
        }
    }

    /// <summary>
    /// bias[oc] + inputOffset x sum(weights of oc): the zero-point correction fast kernels use, wrapped to
    /// int32 as the reference accumulator wraps (the readers reject any other value).
    /// </summary>
    internal static int[] FoldedBias(IrOp op, OpQuant r, int inputOffset)
    {
        int cout = r.Bias!.Length;
        var sums = new long[cout];
        int per = r.Weights!.Length / cout;
        for (int k = 0; k < r.Weights.Length; k++)
            sums[op.Type == OpType.DepthwiseConv2D ? k % cout : k / per] += r.Weights[k];
        var f = new int[cout];
        for (int c = 0; c < cout; c++) f[c] = unchecked((int)(r.Bias[c] + inputOffset * sums[c]));
        return f;
    }
}
