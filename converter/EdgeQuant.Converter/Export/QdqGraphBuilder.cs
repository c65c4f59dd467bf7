using System.Runtime.InteropServices;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Google.Protobuf;

namespace EdgeQuant.Converter.Export;

/// <summary>
/// Builds the QDQ ONNX graph of one model (see <see cref="OnnxExporter"/>). Every blob tensor
/// may exist in the ONNX graph in up to three forms, created on demand and reused:
/// <list type="bullet">
/// <item>AsIs: the blob's own shape and element order (NHWC for rank 4);</item>
/// <item>Nchw: a rank-4 tensor permuted to [N, C, H, W];</item>
/// <item>FlatNchw: a rank-2 Reshape output [N, H x W x C] whose elements are in the order of
/// the NCHW flatten of its rank-4 source (consumed only by FullyConnected, whose weight columns
/// are permuted to match).</item>
/// </list>
/// Activations stay quantized codes (int8, or uint8 = code + 128) between ops; every op reads
/// them through DequantizeLinear and writes them with QuantizeLinear: the QDQ pattern
/// onnxruntime fuses.
/// </summary>
internal sealed partial class QdqGraphBuilder
{
    private enum Layout { AsIs, Nchw }

    private sealed class Forms
    {
        public string? AsIs;
        public string? Nchw;
        public string? FlatNchw;
        /// <summary>NHWC dims of the rank-4 tensor a FlatNchw form flattens.</summary>
        public int[]? FlatSource;
    }

    // NHWC dims permuted to NCHW, and back: nchw[i] = nhwc[ToNchw[i]], nhwc[i] = nchw[ToNhwc[i]].
    private static readonly int[] ToNchw = [0, 3, 1, 2];
    private static readonly int[] ToNhwc = [0, 2, 3, 1];

    private const string BatchParam = "N";

    private readonly Model _m;
    private readonly OnnxExportOptions _options;
    private readonly OnnxGraphWriter _w = new();
    private readonly Forms[] _forms;
    private readonly List<(int Op, int Slot)>[] _consumers;
    private readonly HashSet<int> _graphOutputs = [];
    private readonly Dictionary<int, (string Scale, string ZeroPoint)> _quantNames = [];
    private readonly Dictionary<(int Tensor, Layout Layout), string> _constants = [];
    private readonly SortedDictionary<int, OnnxTensorValue> _values = [];
    private readonly bool _u8;
    private bool _dynamic;
    private int _opIndex;

    public QdqGraphBuilder(Model model, OnnxExportOptions options)
    {
        _m = model;
        _options = options;
        _u8 = options.Activations == OnnxActivationType.UInt8;
        int n = model.Tensors.Count;
        _forms = new Forms[n];
        _consumers = new List<(int, int)>[n];
        for (int t = 0; t < n; t++) { _forms[t] = new Forms(); _consumers[t] = []; }
        for (int i = 0; i < model.Ops.Count; i++)
        {
            var op = model.Ops[i];
            for (int k = 0; k < op.InputCount; k++) _consumers[op.Input(k)].Add((i, k));
        }
        foreach (var io in model.Outputs) _graphOutputs.Add(io.TensorIndex);
    }

    public OnnxExportResult Build()
    {
        _dynamic = _options.DynamicBatch && BatchCanBeDynamic();
        foreach (var io in _m.Inputs) _w.Reserve(IoName(io, "input"));
        foreach (var io in _m.Outputs) _w.Reserve(IoName(io, "output"));

        var inputs = new List<OnnxExportIo>();
        foreach (var io in _m.Inputs) inputs.Add(AddInput(io));
        for (_opIndex = 0; _opIndex < _m.Ops.Count; _opIndex++) Emit(_m.Ops[_opIndex]);
        var outputs = new List<OnnxExportIo>();
        foreach (var io in _m.Outputs) outputs.Add(AddOutput(io));

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "edgequant",
            ProducerVersion = ModelConverter.Version,
            Graph = _w.Graph,
            DocString = DocString(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        _w.Graph.Name = _m.Metadata.TryGetValue("source_model", out var src) ? Path.GetFileNameWithoutExtension(src) + "_qdq" : "edgequant_qdq";
        return new OnnxExportResult
        {
            Bytes = model.ToByteArray(),
            DynamicBatch = _dynamic,
            Activations = _options.Activations,
            Inputs = inputs,
            Outputs = outputs,
            TensorValues = [.. _values.Values],
            OpCounts = new Dictionary<string, int>(_w.OpCounts),
        };
    }

    private string DocString()
    {
        var parts = new List<string> { "EdgeQuant int8 model exported as QDQ ONNX by edgequant export-onnx; same scales, zero points, int8 weights and int32 biases as the .eqm" };
        foreach (var key in new[] { "source_model", "source_sha256", "calibration", "weights" })
            if (_m.Metadata.TryGetValue(key, out var v)) parts.Add($"{key}: {v}");
        return string.Join("\n", parts);
    }

    private static string IoName(ModelIo io, string fallback) => io.Name.Length > 0 ? io.Name : fallback;

    // ---- inputs and outputs ---------------------------------------------------------------

    private OnnxExportIo AddInput(ModelIo io)
    {
        var t = _m.Tensors[io.TensorIndex];
        string name = IoName(io, "input");
        bool nchw = io.Layout == SourceLayout.Nchw && t.Rank == 4;
        int[] dims = nchw ? Permute(t.Dims(), ToNchw) : t.Dims();
        _w.Graph.Input.Add(OnnxGraphWriter.ValueInfo(name, OnnxElementType.Float, dims, _dynamic ? BatchParam : null));
        string value = name;
        if (t.Type == TensorType.Int8) value = Quantize(name, io.TensorIndex);
        else if (t.Type != TensorType.Float32) throw new ConversionException($"input '{name}' (tensor {io.TensorIndex}) is {t.Type}; only int8 and float32 inputs can be exported");
        Set(io.TensorIndex, nchw ? Layout.Nchw : Layout.AsIs, value);
        return new OnnxExportIo(name, WithBatch(dims), LayoutName(t.Rank, nchw));
    }

    private OnnxExportIo AddOutput(ModelIo io)
    {
        var t = _m.Tensors[io.TensorIndex];
        string name = IoName(io, "output");
        bool nchw = io.Layout == SourceLayout.Nchw && t.Rank == 4;
        string v = Get(io.TensorIndex, nchw ? Layout.Nchw : Layout.AsIs);
        if (t.Type == TensorType.Int8)
        {
            var (s, z) = QuantNames(io.TensorIndex);
            _w.Node("DequantizeLinear", [v, s, z], name, output: name);
        }
        else if (t.Type == TensorType.Float32) _w.Node("Identity", [v], name, output: name);
        else throw new ConversionException($"output '{name}' (tensor {io.TensorIndex}) is {t.Type}; only int8 and float32 outputs can be exported");
        int[] dims = nchw ? Permute(t.Dims(), ToNchw) : t.Dims();
        _w.Graph.Output.Add(OnnxGraphWriter.ValueInfo(name, OnnxElementType.Float, dims, _dynamic ? BatchParam : null));
        return new OnnxExportIo(name, WithBatch(dims), LayoutName(t.Rank, nchw));
    }

    private static string LayoutName(int rank, bool nchw) => rank != 4 ? "as is" : nchw ? "NCHW" : "NHWC";

    private int[] WithBatch(int[] dims)
    {
        var r = (int[])dims.Clone();
        if (_dynamic) r[0] = -1;
        return r;
    }

    /// <summary>
    /// Dimension 0 can be the batch when every activation has it as a leading 1 and no op mixes
    /// it with other dimensions (a Transpose moving it, a Concat or Pad along it).
    /// </summary>
    private bool BatchCanBeDynamic()
    {
        foreach (var t in _m.Tensors)
            if (t.Storage == TensorStorage.Arena && (t.Rank < 2 || t.Shape.D0 != 1)) return false;
        foreach (var op in _m.Ops)
        {
            switch (op.Type)
            {
                case OpType.Transpose when _m.ReadParams<TransposeParams>(op).Perm0 != 0:
                case OpType.Concatenation when _m.ReadParams<ConcatParams>(op).Axis == 0:
                    return false;
                case OpType.Pad:
                {
                    var p = _m.ReadParams<PadParams>(op);
                    if (p.Before0 != 0 || p.After0 != 0) return false;
                    break;
                }
                case OpType.IndexSelect:
                {
                    // The batch stays dynamic only if dimension 0 is copied through ([0]).
                    var p = _m.ReadParams<IndexSelectParams>(op);
                    if (System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(_m.ConstantData.Slice(p.Table0Offset, 4)) != 0) return false;
                    break;
                }
            }
        }
        return true;
    }

    // ---- forms of a tensor ----------------------------------------------------------------

    /// <summary>The ONNX value holding tensor <paramref name="t"/> in <paramref name="want"/> (rank-4 tensors only have an Nchw form).</summary>
    private string Get(int t, Layout want)
    {
        var info = _m.Tensors[t];
        if (info.Rank != 4) want = Layout.AsIs;
        if (info.Storage == TensorStorage.Constant) return Constant(t, want);
        var f = _forms[t];
        int[] dims = info.Dims();
        if (want == Layout.Nchw)
        {
            if (f.Nchw is not null) return f.Nchw;
            return f.Nchw = PermuteValue(Get(t, Layout.AsIs), t, dims, ToNchw, $"t{t}_nchw");
        }
        if (f.AsIs is not null) return f.AsIs;
        if (f.Nchw is not null) return f.AsIs = PermuteValue(f.Nchw, t, Permute(dims, ToNchw), ToNhwc, $"t{t}_nhwc");
        if (f.FlatNchw is not null)
        {
            int[] src = f.FlatSource!;
            int[] nchwDims = Permute(src, ToNchw);
            string nchw = Reshape(f.FlatNchw, t, nchwDims, $"t{t}_unflat");
            string nhwc = PermuteValue(nchw, t, nchwDims, ToNhwc, $"t{t}_unflat_nhwc");
            return f.AsIs = Reshape(nhwc, t, dims, $"t{t}");
        }
        throw new InvalidOperationException($"tensor {t} is read before it is computed");
    }

    /// <summary>The form that exists already, preferring NCHW for rank-4 tensors (for layout-agnostic element-wise ops).</summary>
    private Layout Preferred(int t)
    {
        var info = _m.Tensors[t];
        if (info.Rank != 4) return Layout.AsIs;
        if (info.Storage == TensorStorage.Constant) return Layout.AsIs;
        var f = _forms[t];
        return f.Nchw is not null || f.AsIs is null ? Layout.Nchw : Layout.AsIs;
    }

    private void Set(int t, Layout layout, string value)
    {
        var info = _m.Tensors[t];
        if (info.Type == TensorType.Int8) _values.TryAdd(t, new OnnxTensorValue(t, value, LayoutName(info.Rank, layout == Layout.Nchw && info.Rank == 4)));
        if (layout == Layout.Nchw && info.Rank == 4) _forms[t].Nchw = value;
        else _forms[t].AsIs = value;
    }

    /// <summary>A constant blob tensor as an initializer in the requested form.</summary>
    private string Constant(int t, Layout want)
    {
        if (_constants.TryGetValue((t, want), out var name)) return name;
        var info = _m.Tensors[t];
        int[] dims = info.Dims();
        var bytes = _m.GetConstantBytes(t);
        switch (info.Type)
        {
            case TensorType.Int8:
            {
                var data = MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray();
                if (want == Layout.Nchw) { data = PermuteData(data, dims, ToNchw); dims = Permute(dims, ToNchw); }
                name = Codes($"c{t}", Longs(dims), data);
                break;
            }
            case TensorType.Int32:
                name = _w.Int32s($"c{t}", Longs(dims), MemoryMarshal.Cast<byte, int>(bytes).ToArray());
                break;
            default:
            {
                var data = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
                if (want == Layout.Nchw) { data = PermuteData(data, dims, ToNchw); dims = Permute(dims, ToNchw); }
                name = _w.Floats($"c{t}", Longs(dims), data);
                break;
            }
        }
        return _constants[(t, want)] = name;
    }

    /// <summary>
    /// Transposes a value of tensor <paramref name="t"/>'s codes (shaped <paramref name="dims"/>) by
    /// <paramref name="perm"/>; a Reshape when the permutation keeps the memory order.
    /// </summary>
    private string PermuteValue(string value, int t, int[] dims, int[] perm, string hint)
    {
        if (IsIdentity(perm)) return value;
        if (KeepsOrder(dims, perm)) return Reshape(value, t, Permute(dims, perm), hint);
        return Move(value, t, hint, f => _w.Node("Transpose", [f], hint + "_f", [OnnxGraphWriter.Attr("perm", Longs(perm))]));
    }

    /// <summary>Reshapes a value of tensor <paramref name="t"/>'s codes to <paramref name="dims"/> (batch symbolic when dynamic).</summary>
    private string Reshape(string value, int t, int[] dims, string hint)
    {
        string shape = _w.Int64s(hint + "_shape", [dims.Length], ShapeTarget(dims));
        return Move(value, t, hint, f => _w.Node("Reshape", [f, shape], hint + "_f"));
    }

    /// <summary>
    /// A data-movement op on quantized codes in QDQ form: DequantizeLinear -> op -> QuantizeLinear
    /// with tensor <paramref name="t"/>'s scale and zero point on both sides. It is exact (every
    /// code maps back to itself) and keeps each QuantizeLinear read only by DequantizeLinear nodes,
    /// which onnxruntime needs to fuse the neighbouring groups and to drop these pairs again.
    /// Float tensors (around Quantize/Dequantize ops) are moved as they are.
    /// </summary>
    private string Move(string value, int t, string hint, Func<string, string> op)
    {
        if (_m.Tensors[t].Type != TensorType.Int8) return op(value);
        return Quantize(op(Dequantize(value, t)), t, hint);
    }

    /// <summary>A Reshape target: the dims, with -1 for the batch when it is dynamic.</summary>
    private long[] ShapeTarget(int[] dims)
    {
        var r = Longs(dims);
        if (_dynamic) r[0] = -1;
        return r;
    }

    /// <summary>True when permuting <paramref name="dims"/> by <paramref name="perm"/> keeps the row-major order of the elements (the dimensions larger than 1 keep their relative order).</summary>
    private static bool KeepsOrder(int[] dims, int[] perm)
    {
        int last = -1;
        foreach (int p in perm)
        {
            if (dims[p] == 1) continue;
            if (p < last) return false;
            last = p;
        }
        return true;
    }

    private static bool IsIdentity(int[] perm)
    {
        for (int i = 0; i < perm.Length; i++) if (perm[i] != i) return false;
        return true;
    }

    private static int[] Permute(int[] dims, int[] perm)
    {
        var r = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) r[i] = dims[perm[i]];
        return r;
    }

    /// <summary>Row-major data of shape <paramref name="dims"/> transposed by <paramref name="perm"/> (rank 4).</summary>
    private static T[] PermuteData<T>(T[] data, int[] dims, int[] perm)
    {
        int[] od = Permute(dims, perm);
        int[] stride = [dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1];
        var r = new T[data.Length];
        int i = 0;
        for (int a = 0; a < od[0]; a++)
            for (int b = 0; b < od[1]; b++)
                for (int c = 0; c < od[2]; c++)
                    for (int d = 0; d < od[3]; d++)
                        r[i++] = data[a * stride[perm[0]] + b * stride[perm[1]] + c * stride[perm[2]] + d * stride[perm[3]]];
        return r;
    }

    private static long[] Longs(int[] v)
    {
        var r = new long[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = v[i];
        return r;
    }

    // ---- quantization ---------------------------------------------------------------------

    private (float Scale, int ZeroPoint) QuantOf(int t)
    {
        var info = _m.Tensors[t];
        if (info.QuantIndex < 0) throw new ConversionException($"tensor {t} has no quantization");
        var q = _m.Quantization[info.QuantIndex];
        if (q.ChannelCount != 1) throw new ConversionException($"tensor {t} is quantized per channel ({q.ChannelCount} channels); only weights can be, activations need one scale");
        return (_m.GetScale(info.QuantIndex), q.ZeroPoint);
    }

    /// <summary>The scale and zero-point initializers of a per-tensor quantized tensor (shared by all its Q/DQ nodes).</summary>
    private (string Scale, string ZeroPoint) QuantNames(int t)
    {
        if (_quantNames.TryGetValue(t, out var n)) return n;
        var (s, z) = QuantOf(t);
        return _quantNames[t] = (_w.FloatScalar($"t{t}_scale", s), ZeroPoint($"t{t}_zero_point", z));
    }

    /// <summary>An activation zero point (given as int8) as a scalar of the activation type.</summary>
    private string ZeroPoint(string hint, int zeroPoint) =>
        _u8 ? _w.UInt8s(hint, [], [(byte)(zeroPoint + 128)]) : _w.Int8Scalar(hint, zeroPoint);

    /// <summary>Int8 codes as an initializer of the activation type (uint8 codes are int8 codes + 128).</summary>
    private string Codes(string hint, long[] dims, sbyte[] codes)
    {
        if (!_u8) return _w.Int8s(hint, dims, codes);
        var u = new byte[codes.Length];
        for (int i = 0; i < u.Length; i++) u[i] = (byte)(codes[i] + 128);
        return _w.UInt8s(hint, dims, u);
    }

    /// <summary>A fresh DequantizeLinear of an int8 value with tensor <paramref name="t"/>'s quantization (one per consumer, as QDQ tools write them).</summary>
    private string Dequantize(string value, int t)
    {
        var (s, z) = QuantNames(t);
        return _w.Node("DequantizeLinear", [value, s, z], $"t{t}_dq");
    }

    /// <summary>QuantizeLinear of a float value to tensor <paramref name="t"/>'s quantization.</summary>
    private string Quantize(string value, int t, string? hint = null)
    {
        var (s, z) = QuantNames(t);
        return _w.Node("QuantizeLinear", [value, s, z], hint ?? $"t{t}");
    }

    /// <summary>
    /// The fused activation: an int8 clamp [min, max] of tensor <paramref name="t"/>'s codes. When
    /// it is the whole int8 range the output QuantizeLinear saturates by itself; otherwise a Relu
    /// (min is the zero point, no max) or a Clip at the dequantized bounds goes before it.
    /// </summary>
    private string Clamp(string value, int min, int max, int t)
    {
        if (min <= -128 && max >= 127) return value;
        var (s, z) = QuantOf(t);
        if (min == z && max >= 127) return _w.Node("Relu", [value], $"op{_opIndex}_relu");
        string lo = min > -128 ? _w.FloatScalar($"op{_opIndex}_clip_min", (min - z) * s) : "";
        string hi = max < 127 ? _w.FloatScalar($"op{_opIndex}_clip_max", (max - z) * s) : "";
        return _w.Node("Clip", hi.Length > 0 ? [value, lo, hi] : [value, lo], $"op{_opIndex}_clip");
    }

    /// <summary>
    /// Checks that a fixed-point requantization stored in the blob is the ratio of the scales the
    /// exported model will use, so onnxruntime computes the same function (up to rounding).
    /// </summary>
    private void CheckMultiplier(double multiplier, double real, string what)
    {
        if (real > 0 && Math.Abs(multiplier / real - 1) <= 1e-5) return;
        throw new ConversionException($"op {_opIndex} ({_m.Ops[_opIndex].Type}): the blob's {what} requantization factor {multiplier:G9} is not the ratio of its recorded scales ({real:G9}); a QDQ model cannot reproduce it");
    }

    private static double Effective(int multiplier, int shift) => multiplier * Math.Pow(2, shift - 31);
}
