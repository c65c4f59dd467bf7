using System.Runtime.CompilerServices;

namespace EdgeQuant.Converter.Onnx;

/// <summary>
/// The fixed quantization of one activation value of a QDQ model, in EdgeQuant's int8 terms:
/// uint8 zero points are mapped to int8 by subtracting 128 (code u stands for the same real
/// number as code u − 128 with zero point z − 128, so the mapping is exact).
/// </summary>
/// <param name="Scale">The QuantizeLinear scale (float32, positive, finite).</param>
/// <param name="ZeroPoint">The int8 zero point, −128 to 127.</param>
/// <param name="Node">The QuantizeLinear node that defined it (for messages).</param>
public sealed record QdqActivation(float Scale, int ZeroPoint, string Node);

/// <summary>
/// A constant that a QDQ model stores quantized (DequantizeLinear of an integer initializer, or
/// QuantizeLinear + DequantizeLinear of a float initializer as PyTorch exports weight fake-quant).
/// The graph holds its dequantized float values under the same name; this keeps the codes and
/// the parameters so the converter can use them as they are.
/// </summary>
public sealed class QdqConstant
{
    /// <summary>The integer codes, row-major in the initializer's ONNX shape.</summary>
    public required long[] Codes { get; init; }
    public required int[] Shape { get; init; }
    /// <summary>ONNX element type of the codes (INT8, UINT8 or INT32).</summary>
    public required OnnxDataType Type { get; init; }
    /// <summary>One scale per tensor, or one per index along <see cref="Axis"/>.</summary>
    public required float[] Scales { get; init; }
    /// <summary>Zero points in the codes' own type, as many as <see cref="Scales"/>.</summary>
    public required long[] ZeroPoints { get; init; }
    /// <summary>The quantized axis, or −1 for one scale per tensor.</summary>
    public required int Axis { get; init; }
    /// <summary>The DequantizeLinear node (for messages).</summary>
    public required string Node { get; init; }
}

/// <summary>What <see cref="QdqPatterns.Strip"/> found in a model.</summary>
public sealed class QdqAnnotations
{
    /// <summary>Activation values (ONNX names, after stripping) with the quantization their Q/DQ pair gave them.</summary>
    public Dictionary<string, QdqActivation> Activations { get; } = new(StringComparer.Ordinal);

    /// <summary>Float initializers (ONNX names) that were dequantized from integer codes.</summary>
    public Dictionary<string, QdqConstant> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>QuantizeLinear and DequantizeLinear nodes removed.</summary>
    public int RemovedNodes { get; set; }

    /// <summary>True when the model had any QuantizeLinear / DequantizeLinear.</summary>
    public bool IsQdq => RemovedNodes > 0;
}

/// <summary>
/// Recognises the QuantizeLinear / DequantizeLinear (QDQ) patterns of quantization-aware-trained
/// and statically quantized ONNX models (PyTorch fake-quant export, onnxruntime's
/// <c>quantize_static</c> QDQ format, <c>edgequant export-onnx</c>) and removes them, leaving the
/// float graph the converter already handles plus <see cref="QdqAnnotations"/> that fix every
/// quantization parameter:
/// <list type="bullet">
/// <item>QuantizeLinear(x) read only by DequantizeLinear nodes with the same scale and zero point:
/// the pair goes, x keeps (scale, zero point);</item>
/// <item>DequantizeLinear of an integer initializer (int8, uint8, int32; per tensor or per axis):
/// replaced by its float values, the codes are kept;</item>
/// <item>QuantizeLinear of a float initializer (weight fake-quant): folded to codes first, with
/// ONNX's rounding (half to even) and saturation.</item>
/// </list>
/// Anything else (a DequantizeLinear of a computed value without its QuantizeLinear, a
/// QuantizeLinear read by another op or a graph output, per-axis activation scales, 16-bit types,
/// mismatched pairs) is a <see cref="ConversionException"/> naming the node.
/// </summary>
public static class QdqPatterns
{
    private static readonly ConditionalWeakTable<OnnxGraph, QdqAnnotations> Found = new();

    /// <summary>True for the two op types this class removes.</summary>
    public static bool IsQdqOp(string opType) => opType is "QuantizeLinear" or "DequantizeLinear";

    /// <summary>The annotations recorded for <paramref name="graph"/> by <see cref="Strip"/>, or null when it had no QDQ nodes.</summary>
    public static QdqAnnotations? Of(OnnxGraph graph) => Found.TryGetValue(graph, out var a) ? a : null;

    /// <summary>Removes every QDQ pattern from <paramref name="graph"/> (topologically sorted) and records what it fixed.</summary>
    public static QdqAnnotations Strip(OnnxGraph graph)
    {
        var a = new QdqAnnotations();
        if (!graph.Nodes.Exists(n => IsQdqOp(n.OpType))) return a;

        // 1. QuantizeLinear of float initializers becomes an integer initializer.
        foreach (var q in graph.Nodes.Where(n => n.OpType == "QuantizeLinear" && graph.IsConstant(n.InputOrEmpty(0))).ToList())
        {
            CheckArity(q);
            var x = graph.Initializers[q.Inputs[0]];
            if (!x.IsFloat) throw q.Error($"input '{q.Inputs[0]}' is not a float tensor");
            var (scales, zps, axis, type) = Parameters(graph, q, x.Shape, OnnxDataType.UInt8);
            var codes = new long[x.ElementCount];
            var (lo, hi) = Limits(q, type);
            var data = x.Floats!;
            for (int i = 0; i < codes.Length; i++)
            {
                int c = Channel(i, x.Shape, axis);
                float v = MathF.Round(data[i] / scales[c], MidpointRounding.ToEven);
                codes[i] = (long)Math.Clamp(v + zps[c], lo, hi);
            }
            graph.Initializers[q.Outputs[0]] = OnnxTensor.FromInt64s(x.Shape, codes, type);
            graph.Nodes.Remove(q);
            a.RemovedNodes++;
        }

        // 2. DequantizeLinear of integer initializers becomes a float initializer.
        foreach (var dq in graph.Nodes.Where(n => n.OpType == "DequantizeLinear" && graph.IsConstant(n.InputOrEmpty(0))).ToList())
        {
            CheckArity(dq);
            var x = graph.Initializers[dq.Inputs[0]];
            var type = x.DataType;
            if (type is not (OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Int32))
                throw dq.Error($"input '{dq.Inputs[0]}' is {OnnxDataTypes.Name(type)}; supported: INT8, UINT8, INT32");
            var (scales, zps, axis, _) = Parameters(graph, dq, x.Shape, type);
            var codes = x.ToInt64Array();
            var values = new float[codes.Length];
            for (int i = 0; i < codes.Length; i++)
            {
                int c = Channel(i, x.Shape, axis);
                values[i] = (float)(codes[i] - zps[c]) * scales[c];
            }
            string name = dq.Outputs[0];
            graph.Initializers[name] = OnnxTensor.FromFloats(x.Shape, values);
            a.Constants[name] = new QdqConstant { Codes = codes, Shape = x.Shape, Type = type, Scales = scales, ZeroPoints = zps, Axis = axis, Node = dq.Name };
            graph.Nodes.Remove(dq);
            a.RemovedNodes++;
        }

        // 3. QuantizeLinear -> DequantizeLinear pairs on activations.
        foreach (var q in graph.Nodes.Where(n => n.OpType == "QuantizeLinear").ToList())
        {
            CheckArity(q);
            string x = q.Inputs[0], codes = q.Outputs[0];
            if (graph.IsGraphOutput(codes))
                throw q.Error($"its quantized output '{codes}' is a graph output; supported: float graph outputs (end the graph with DequantizeLinear)");
            var consumers = graph.Consumers(codes);
            if (consumers.Count == 0) throw q.Error($"nothing reads its output '{codes}'");
            var (scales, zps, _, type) = Parameters(graph, q, graph.Shapes.GetValueOrDefault(x, []), OnnxDataType.UInt8);
            if (scales.Length != 1)
                throw q.Error($"it quantizes activation '{x}' per axis ({scales.Length} scales); supported: one scale and zero point per activation tensor");
            if (type is not (OnnxDataType.Int8 or OnnxDataType.UInt8))
                throw q.Error($"it quantizes to {OnnxDataTypes.Name(type)}; supported: INT8, UINT8 activations");
            int zp8 = (int)(type == OnnxDataType.UInt8 ? zps[0] - 128 : zps[0]);
            foreach (var dq in consumers)
            {
                if (dq.OpType != "DequantizeLinear" || dq.Inputs[0] != codes)
                    throw q.Error($"its quantized output '{codes}' is read by {dq.Description}; supported: only DequantizeLinear nodes read quantized values (QDQ format)");
                CheckArity(dq);
                var (s2, z2, _, t2) = Parameters(graph, dq, [], type);
                if (s2.Length != 1 || s2[0] != scales[0] || z2[0] != zps[0] || t2 != type)
                    throw dq.Error($"its scale/zero point ({string.Join(",", s2)}; {string.Join(",", z2)}) differ from those of {q.Description} ({scales[0]}; {zps[0]}); a QDQ pair must use the same parameters");
            }

            string target = x;
            var outputDq = consumers.FirstOrDefault(d => graph.IsGraphOutput(d.Outputs[0]));
            if (outputDq is not null)
            {
                // The graph output keeps its name: the quantized value is renamed to it.
                if (graph.IsGraphInput(x) || graph.IsConstant(x))
                    throw outputDq.Error($"graph output '{outputDq.Outputs[0]}' is the input '{x}' quantized and dequantized; nothing to run");
                target = outputDq.Outputs[0];
                var producer = graph.Producer(x) ?? throw q.Error($"value '{x}' has no producer");
                producer.Outputs[producer.Outputs.IndexOf(x)] = target;
                graph.ReplaceUses(x, target);
                if (graph.Shapes.Remove(x, out var shape)) graph.Shapes[target] = shape;
                if (a.Activations.Remove(x, out var earlier)) a.Activations[target] = earlier;
            }

            foreach (var dq in consumers)
            {
                graph.Nodes.Remove(dq);
                if (dq != outputDq) graph.ReplaceUses(dq.Outputs[0], target);
                a.RemovedNodes++;
            }
            graph.Nodes.Remove(q);
            a.RemovedNodes++;

            var fixedQuant = new QdqActivation(scales[0], zp8, q.Name);
            if (a.Activations.TryGetValue(target, out var other) && (other.Scale != fixedQuant.Scale || other.ZeroPoint != fixedQuant.ZeroPoint))
                throw q.Error($"value '{x}' is quantized twice with different parameters (here scale {fixedQuant.Scale}, zero point {fixedQuant.ZeroPoint}; node '{other.Node}': scale {other.Scale}, zero point {other.ZeroPoint})");
            a.Activations[target] = fixedQuant;
        }

        var left = graph.Nodes.FirstOrDefault(n => IsQdqOp(n.OpType));
        if (left is not null)
            throw left.Error($"input '{left.InputOrEmpty(0)}' is a computed value without a QuantizeLinear in front of it; supported: DequantizeLinear of a constant, or of a QuantizeLinear output (QDQ pairs)");
        Found.AddOrUpdate(graph, a);
        return a;
    }

    private static void CheckArity(OnnxNode n)
    {
        if (n.Inputs.Count < 2 || n.Inputs.Count > 3 || !n.HasInput(0) || !n.HasInput(1))
            throw n.Error($"has {n.Inputs.Count} inputs; expected x, scale and an optional zero point");
        if (n.Outputs.Count != 1) throw n.Error($"has {n.Outputs.Count} outputs; expected 1");
    }

    /// <summary>Scales, zero points (in the quantized type), the normalised axis (−1 per tensor) and the quantized type.</summary>
    private static (float[] Scales, long[] ZeroPoints, int Axis, OnnxDataType Type) Parameters(OnnxGraph graph, OnnxNode n, int[] shape, OnnxDataType defaultType)
    {
        if (ConstantValue(graph, n.Inputs[1]) is not { } s)
            throw n.Error($"scale '{n.Inputs[1]}' is not a constant; supported: constant scales and zero points");
        if (!s.IsFloat || s.ElementCount == 0) throw n.Error($"scale '{n.Inputs[1]}' must be a non-empty float tensor");
        var scales = s.Floats!.ToArray();
        foreach (float v in scales)
            if (!(v > 0) || !float.IsFinite(v)) throw n.Error($"scale {v} is not positive and finite");
        OnnxDataType type = defaultType;
        long[] zps = new long[scales.Length];
        if (n.HasInput(2))
        {
            if (ConstantValue(graph, n.Inputs[2]) is not { } z)
                throw n.Error($"zero point '{n.Inputs[2]}' is not a constant; supported: constant scales and zero points");
            if (z.ElementCount != scales.Length) throw n.Error($"zero point has {z.ElementCount} elements, scale has {scales.Length}");
            type = z.DataType;
            if (z.IsFloat) throw n.Error($"zero point '{n.Inputs[2]}' is a float tensor; supported: INT8, UINT8, INT32");
            zps = z.ToInt64Array();
        }
        if (type is not (OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Int32))
            throw n.Error($"quantized type {OnnxDataTypes.Name(type)} is not supported; supported: INT8, UINT8 (and INT32 for a dequantized bias)");
        int axis = -1;
        if (s.Rank > 1) throw n.Error($"scale has rank {s.Rank}; supported: a scalar or a 1-D tensor (per axis)");
        if (s.Rank == 1 && (scales.Length > 1 || n.HasAttribute("axis")))
        {
            if (shape.Length > 0)
            {
                long ax = n.GetInt("axis", 1);
                if (ax < 0) ax += shape.Length;
                if (ax < 0 || ax >= shape.Length) throw n.Error($"axis {n.GetInt("axis", 1)} is outside rank {shape.Length}");
                if (shape[ax] != scales.Length) throw n.Error($"{scales.Length} scales for axis {ax} of size {shape[ax]}");
                axis = (int)ax;
            }
            else if (scales.Length > 1)
            {
                axis = (int)n.GetInt("axis", 1);
            }
        }
        if (axis < 0 && scales.Length > 1) throw n.Error($"{scales.Length} scales without an axis");
        return (scales, zps, axis, type);
    }

    /// <summary>
    /// An initializer, the value of a Constant node, or either through Identity nodes (exporters
    /// write scales and zero points all three ways; torch shares a zero point through an Identity).
    /// </summary>
    private static OnnxTensor? ConstantValue(OnnxGraph graph, string name)
    {
        for (int depth = 0; depth < 16; depth++)
        {
            if (graph.Initializers.TryGetValue(name, out var t)) return t;
            var producer = graph.Nodes.FirstOrDefault(n => n.Outputs.Count == 1 && n.Outputs[0] == name);
            if (producer is { OpType: "Constant" }) return producer.GetTensorOrNull("value");
            if (producer is not { OpType: "Identity" } || producer.Inputs.Count != 1) return null;
            name = producer.Inputs[0];
        }
        return null;
    }

    private static (long Lo, long Hi) Limits(OnnxNode n, OnnxDataType type) => type switch
    {
        OnnxDataType.Int8 => (-128, 127),
        OnnxDataType.UInt8 => (0, 255),
        _ => throw n.Error($"quantized type {OnnxDataTypes.Name(type)} is not supported; supported: INT8, UINT8"),
    };

    /// <summary>The index along <paramref name="axis"/> of row-major element <paramref name="i"/> (0 when per tensor).</summary>
    private static int Channel(int i, int[] shape, int axis)
    {
        if (axis < 0) return 0;
        int inner = 1;
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        return i / inner % shape[axis];
    }
}
