using System.Text.Json.Nodes;
using EdgeQuant.Converter.Export;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli;

public static partial class Commands
{
    /// <summary>
    /// edgequant export-onnx MODEL.eqm [-o OUT.onnx] [--batch dynamic|1] [--activations int8|uint8] [--json]: writes the
    /// quantized model as a QDQ ONNX model (see <see cref="OnnxExporter"/>).
    /// </summary>
    public static void ExportOnnx(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("-o", "--output", "--batch", "--activations", "--json");
        string path = a.Positional(0, "MODEL.eqm");
        string output = a.Get("-o", "--output") ?? DefaultExportPath(path);
        bool dynamic = (a.Get("--batch") ?? "dynamic") switch
        {
            "dynamic" => true,
            "1" => false,
            var s => throw new UsageException($"--batch '{s}' is not supported; use 'dynamic' (symbolic N when the graph allows it) or '1'"),
        };
        var activations = (a.Get("--activations") ?? "int8") switch
        {
            "int8" => OnnxActivationType.Int8,
            "uint8" => OnnxActivationType.UInt8,
            var s => throw new UsageException($"--activations '{s}' is not supported; use 'int8' (the blob's codes) or 'uint8' (codes + 128, onnxruntime's x86 form)"),
        };
        var model = Model.LoadFile(path);
        var result = OnnxExporter.Export(model, new OnnxExportOptions { DynamicBatch = dynamic, Activations = activations });
        File.WriteAllBytes(output, result.Bytes);
        if (c.Json)
        {
            var ops = new JsonObject();
            foreach (var (k, v) in result.OpCounts) ops[k] = v;
            c.Out.WriteLine(new JsonObject
            {
                ["model"] = path,
                ["output"] = output,
                ["bytes"] = result.Bytes.Length,
                ["opset"] = 13,
                ["dynamic_batch"] = result.DynamicBatch,
                ["activations"] = result.Activations == OnnxActivationType.UInt8 ? "uint8" : "int8",
                ["inputs"] = IoJson(result.Inputs),
                ["outputs"] = IoJson(result.Outputs),
                ["onnx_ops"] = ops,
            }.ToJsonString(Indented));
            return;
        }
        c.Out.WriteLine($"wrote {output} ({result.Bytes.Length:N0} bytes): QDQ ONNX, opset 13, {(result.Activations == OnnxActivationType.UInt8 ? "uint8" : "int8")} activations, {result.OpCounts.Values.Sum()} nodes");
        foreach (var io in result.Inputs) c.Out.WriteLine($"  input  '{io.Name}' float32 {ShapeText(io.Shape)} {io.Layout}");
        foreach (var io in result.Outputs) c.Out.WriteLine($"  output '{io.Name}' float32 {ShapeText(io.Shape)} {io.Layout}");
        c.Out.WriteLine($"  ops: {string.Join(", ", result.OpCounts.Select(kv => $"{kv.Key} {kv.Value}"))}");
    }

    private static string DefaultExportPath(string eqm) =>
        Path.Combine(Path.GetDirectoryName(eqm) ?? "", Path.GetFileNameWithoutExtension(eqm) + ".qdq.onnx");

    private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape.Select(d => d < 0 ? "N" : d.ToString())) + "]";

    private static JsonArray IoJson(IReadOnlyList<OnnxExportIo> ios) =>
        new(ios.Select(io => (JsonNode)new JsonObject
        {
            ["name"] = io.Name,
            ["shape"] = new JsonArray(io.Shape.Select(d => (JsonNode)d).ToArray()),
            ["layout"] = io.Layout,
        }).ToArray());
}
