using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter;

/// <summary>Import, simplification and shape inference (batch 1) of an ONNX model, ready for lowering.</summary>
public static class OnnxFrontend
{
    public static OnnxGraph Prepare(byte[] bytes, string path)
    {
        var graph = OnnxImporter.Load(bytes, path);
        GraphPasses.Simplify(graph);
        GraphPasses.InferShapes(graph, 1);
        return graph;
    }
}
