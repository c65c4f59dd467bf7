using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Google.Protobuf;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Export;

/// <summary>
/// Op-by-op comparison of an exported model with the interpreter: onnxruntime runs the exported
/// graph with every activation made an output; then each interpreter op is run on onnxruntime's
/// values of its inputs (written into the arena) and its output is compared with onnxruntime's.
/// This isolates each op's own rounding from differences propagated from earlier layers.
/// </summary>
internal static class LayerByLayer
{
    /// <summary>Per-op agreement (index = op index) over the first <paramref name="samples"/> samples of <paramref name="inputNpy"/>.</summary>
    public static Agreement[] Compare(Model model, OnnxExportResult export, OnnxActivationType activations, string dir, string name,
        string inputNpy, int samples)
    {
        var proto = ModelProto.Parser.ParseFrom(export.Bytes);
        var existing = proto.Graph.Output.Select(o => o.Name).ToHashSet();
        int elemType = activations == OnnxActivationType.UInt8 ? 2 : 3;
        foreach (var v in export.TensorValues)
            if (existing.Add(v.Name))
                proto.Graph.Output.Add(new ValueInfoProto { Name = v.Name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType } } });
        string onnx = Path.Combine(dir, name + ".all_outputs.onnx");
        File.WriteAllBytes(onnx, proto.ToByteArray());
        string outDir = Path.Combine(dir, name + ".outputs");
        Directory.CreateDirectory(outDir);
        Ort.Run(onnx, inputNpy, samples, out _, opt: "disabled", outputsDir: outDir);

        // onnxruntime's codes of every tensor, per sample, in the blob's element order.
        var codes = new Dictionary<int, sbyte[][]>();
        foreach (var v in export.TensorValues)
        {
            var y = Npy.Read(Path.Combine(outDir, v.Name + ".npy")).Floats!;
            var info = model.Tensors[v.TensorIndex];
            int per = info.ElementCount;
            Assert.That(y.Length, Is.EqualTo(per * samples), $"{v.Name}: size");
            var perSample = new sbyte[samples][];
            for (int s = 0; s < samples; s++)
            {
                var blobOrder = ToBlobOrder(y.AsSpan(s * per, per), info.Dims(), v);
                perSample[s] = new sbyte[per];
                for (int i = 0; i < per; i++)
                    perSample[s][i] = (sbyte)((int)blobOrder[i] - (activations == OnnxActivationType.UInt8 ? 128 : 0));
            }
            codes[v.TensorIndex] = perSample;
        }

        var result = new Agreement[model.Ops.Count];
        for (int k = 0; k < result.Length; k++) result[k] = new Agreement();
        var arena = new byte[Math.Max(model.ArenaBytes, 16)];
        var interp = new Interpreter(model, arena);
        for (int s = 0; s < samples; s++)
        {
            for (int k = 0; k < model.Ops.Count; k++)
            {
                var op = model.Ops[k];
                for (int j = 0; j < op.InputCount; j++)
                {
                    var t = model.Tensors[op.Input(j)];
                    if (t.Storage != TensorStorage.Arena) continue;
                    Assert.That(codes.ContainsKey(op.Input(j)), Is.True, $"op {k} ({op.Type}) input tensor {op.Input(j)} has no value in the ONNX graph");
                    var src = codes[op.Input(j)][s];
                    for (int i = 0; i < src.Length; i++) arena[t.Offset + i] = unchecked((byte)src[i]);
                }
                interp.InvokeOp(k);
                var expected = codes[op.Output0][s];
                var (scale, zero) = (model.GetScale(model.Tensors[op.Output0].QuantIndex), model.Quantization[model.Tensors[op.Output0].QuantIndex].ZeroPoint);
                var asReal = new float[expected.Length];
                for (int i = 0; i < asReal.Length; i++) asReal[i] = (expected[i] - zero) * scale;
                result[k].Add(interp.GetTensorS8(op.Output0), asReal, scale, zero);
            }
        }
        return result;
    }

    private static float[] ToBlobOrder(ReadOnlySpan<float> v, int[] dims, OnnxTensorValue value)
    {
        var r = new float[v.Length];
        switch (value.Layout)
        {
            case "NCHW":
            {
                int h = dims[1], w = dims[2], c = dims[3];
                for (int ci = 0; ci < c; ci++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                            r[(y * w + x) * c + ci] = v[(ci * h + y) * w + x];
                return r;
            }
            case "NCHW flatten":
            {
                int[] src = value.FlattenedFrom!;
                int h = src[1], w = src[2], c = src[3];
                for (int ci = 0; ci < c; ci++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                            r[(y * w + x) * c + ci] = v[(ci * h + y) * w + x];
                return r;
            }
            default:
                v.CopyTo(r);
                return r;
        }
    }
}
