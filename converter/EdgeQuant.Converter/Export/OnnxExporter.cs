using EdgeQuant.Runtime;

namespace EdgeQuant.Converter.Export;

/// <summary>Options of <see cref="OnnxExporter.Export"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>
    /// Make dimension 0 of every input and output symbolic ("N") so the exported model runs any
    /// batch size. Applied only when the graph allows it (every activation has batch 1 in
    /// dimension 0 and no op moves, concatenates or pads along it); otherwise the batch stays 1.
    /// Default true.
    /// </summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>Element type of the quantized activations in the ONNX graph. Default <see cref="OnnxActivationType.Int8"/>.</summary>
    public OnnxActivationType Activations { get; init; } = OnnxActivationType.Int8;
}

/// <summary>How the exported graph stores quantized activations. Weights are int8 either way.</summary>
public enum OnnxActivationType
{
    /// <summary>int8 codes and zero points exactly as in the blob (onnxruntime's native form on ARM).</summary>
    Int8,
    /// <summary>
    /// uint8 codes: code + 128 with zero point + 128, the same real values. onnxruntime's x86
    /// kernels are uint8 x int8; it rewrites int8 QDQ pairs to uint8 itself, but not a
    /// QuantizeLinear read by several consumers (a residual branch), so an int8 export runs those
    /// ops in float on x86. Use this form to benchmark against onnxruntime on x86.
    /// </summary>
    UInt8,
}

/// <summary>One input or output of an exported model.</summary>
/// <param name="Name">The ONNX value name (the .eqm IO name).</param>
/// <param name="Shape">Float32 shape; dimension 0 is -1 when it is the symbolic batch "N".</param>
/// <param name="Layout">"NCHW" (rank-4 tensor in the source model's channel-first layout), "NHWC" (rank 4, the blob's own layout) or "as is" (other ranks).</param>
public sealed record OnnxExportIo(string Name, int[] Shape, string Layout);

/// <summary>
/// Where a blob tensor's codes are in the exported graph: the ONNX value holding them (int8, or
/// uint8 = code + 128) and its element order. "NHWC" / "as is": the blob's own order; "NCHW": a
/// rank-4 tensor permuted to [N, C, H, W]; "NCHW flatten": a rank-2 [N, K] tensor holding the NCHW
/// flatten of the rank-4 NHWC tensor of shape <paramref name="FlattenedFrom"/>.
/// </summary>
public sealed record OnnxTensorValue(int TensorIndex, string Name, string Layout, int[]? FlattenedFrom = null);

/// <summary>What <see cref="OnnxExporter.Export"/> produced.</summary>
public sealed class OnnxExportResult
{
    /// <summary>The serialized ONNX ModelProto.</summary>
    public required byte[] Bytes { get; init; }
    /// <summary>Whether dimension 0 of the inputs and outputs is the symbolic batch "N".</summary>
    public required bool DynamicBatch { get; init; }
    /// <summary>Element type of the quantized activations.</summary>
    public required OnnxActivationType Activations { get; init; }
    public required IReadOnlyList<OnnxExportIo> Inputs { get; init; }
    public required IReadOnlyList<OnnxExportIo> Outputs { get; init; }
    /// <summary>For every activation tensor of the blob, the ONNX value first created for it (for debugging and layer-by-layer comparisons).</summary>
    public required IReadOnlyList<OnnxTensorValue> TensorValues { get; init; }
    /// <summary>Number of ONNX nodes of each op type.</summary>
    public required IReadOnlyDictionary<string, int> OpCounts { get; init; }
}

/// <summary>
/// Writes a quantized <see cref="Model"/> as a standard ONNX model in QDQ form (opset 13, default
/// domain only) that onnxruntime runs with the same quantization: a float input, QuantizeLinear
/// with the blob's input scale and zero point, then for every op DequantizeLinear on its int8
/// inputs, the float op (per-axis DequantizeLinear on int8 weights and int32 biases), the fused
/// clamp where it is tighter than int8, and QuantizeLinear with the op's output quantization;
/// DequantizeLinear at each output. Data movement (Reshape, Transpose, Pad and the layout
/// transposes) is DQ -> op -> Q with one quantization on both sides, which is exact; a generic
/// 256-entry Lookup becomes a Gather of codes. Every QuantizeLinear is read only by
/// DequantizeLinear nodes (or the Lookup's Cast), the form onnxruntime fuses into its int8
/// kernels. Activations are int8 codes, or uint8 (code + 128, zero point + 128) with
/// <see cref="OnnxActivationType.UInt8"/>; weights are always int8.
/// <para>
/// The graph is emitted channel-first: rank-4 activations, which are NHWC in the blob, are NCHW
/// in the ONNX graph, so Conv, pooling and GlobalAveragePool run in ONNX's own layout. An input
/// whose IO record says the source model was NCHW is taken as NCHW (exactly what the source
/// ONNX model took; no Transpose is needed); an NHWC rank-4 input stays NHWC and is transposed
/// once, in int8, after quantization. Outputs follow the same rule. Where a layout change is
/// needed it is an int8 Transpose, or a Reshape when it does not reorder memory (C or H x W is 1);
/// a Reshape that flattens NHWC into FullyConnected layers is exported as the NCHW flatten with
/// the FC weight columns permuted to match, so no Transpose is needed there either.
/// </para>
/// <para>
/// Rounding: onnxruntime requantizes in float and rounds half to even, EdgeQuant uses
/// fixed-point multipliers rounding half away from zero, so an element may differ by one step.
/// </para>
/// </summary>
public static class OnnxExporter
{
    /// <summary>Exports <paramref name="model"/>. An op or tensor that has no QDQ equivalent is a <see cref="ConversionException"/> naming it.</summary>
    public static OnnxExportResult Export(Model model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new QdqGraphBuilder(model, options ?? new OnnxExportOptions()).Build();
    }

    /// <summary>Loads an .eqm file and exports it.</summary>
    public static OnnxExportResult ExportFile(string eqmPath, OnnxExportOptions? options = null) => Export(Model.LoadFile(eqmPath), options);
}
