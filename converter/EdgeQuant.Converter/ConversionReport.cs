using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter;

/// <summary>One row of the conversion report: a runtime op.</summary>
public sealed record LayerReport(
    int Index, string Name, string Op, int[] InputShape, int[] OutputShape, long Macs, int WeightBytes,
    float Scale, int ZeroPoint, double SqnrDb);

/// <summary>What a conversion produced: per layer and in total. Serialised by <see cref="ToJson"/>.</summary>
public sealed class ConversionReport
{
    public required string Model { get; init; }
    public required List<LayerReport> Layers { get; init; }
    public required int BlobBytes { get; init; }
    public required long OnnxBytes { get; init; }
    public double CompressionRatio => BlobBytes == 0 ? 0 : (double)OnnxBytes / BlobBytes;
    public required int ArenaBytes { get; init; }
    public required int ArenaLowerBoundBytes { get; init; }
    public required long Macs { get; init; }
    public required long Parameters { get; init; }
    public required int SqnrSamples { get; init; }
    /// <summary>SQNR of the model output (int8 runtime against float), dB.</summary>
    public double OutputSqnrDb => Layers.Count == 0 ? 0 : Layers[^1].SqnrDb;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Runs float and int8 side by side on <paramref name="samples"/> (physical order) and measures each op's output SQNR.</summary>
    public static ConversionReport Build(LoadedModel model, QuantizedGraph q, byte[] blob, Dictionary<IrTensor, int> index, List<float[]> samples)
    {
        var m = EdgeQuant.Runtime.Model.Load(blob);
        var interp = new Interpreter(m);
        var exec = new IrExecutor(model.Ir);
        var ops = model.Ir.Ops;
        var signal = new double[ops.Count];
        var noise = new double[ops.Count];
        foreach (var s in samples)
        {
            var f = exec.Run(s);
            int offset = 0;
            for (int k = 0; k < model.Ir.Inputs.Count; k++)
            {
                int size = model.Ir.Inputs[k].ElementCount;
                interp.SetInput(s.AsSpan(offset, size), k);
                offset += size;
            }
            for (int i = 0; i < ops.Count; i++)
            {
                interp.InvokeOp(i);
                var t = ops[i].Output;
                var codes = interp.GetTensorS8(index[t]);
                var aq = q.Activations[t];
                var fv = f[t];
                for (int k = 0; k < fv.Length; k++)
                {
                    double d = fv[k] - aq.Dequantize(codes[k]);
                    signal[i] += (double)fv[k] * fv[k];
                    noise[i] += d * d;
                }
            }
        }
        var layers = new List<LayerReport>();
        long parameters = 0;
        for (int i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            var aq = q.Activations[op.Output];
            int wbytes = op.Weights is null ? 0 : op.Weights.Length + 4 * op.Bias!.Length;
            if (op.Weights is not null) parameters += op.Weights.Length + op.Bias!.Length;
            if (op.Recurrent is { } rnn)
            {
                wbytes = rnn.W.Length + rnn.R.Length + (4 * rnn.B.Length);
                parameters += rnn.W.Length + rnn.R.Length + rnn.B.Length;
            }
            double sqnr = samples.Count == 0 ? double.NaN : noise[i] == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal[i] / noise[i]);
            string name = op.Type.ToString() + (op.FusedActivation.Length > 0 ? "+" + op.FusedActivation : "") + (op.Type == OpType.Lookup ? "(" + op.UnaryName + ")" : "");
            layers.Add(new LayerReport(i, op.Name, name, op.Inputs[0].Shape, op.Output.Shape, op.Macs, wbytes, aq.Scale, aq.ZeroPoint, Math.Round(sqnr, 2)));
        }
        return new ConversionReport
        {
            Model = System.IO.Path.GetFileName(model.Path),
            Layers = layers,
            BlobBytes = blob.Length,
            OnnxBytes = model.Bytes.Length,
            ArenaBytes = m.ArenaBytes,
            ArenaLowerBoundBytes = m.ArenaLowerBoundBytes,
            Macs = model.Ir.TotalMacs,
            Parameters = parameters,
            SqnrSamples = samples.Count,
        };
    }

    /// <summary>A fixed-width table for the terminal.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"#",3}  {"op",-30} {"output",-16} {"MACs",10} {"weights",8} {"scale",10} {"zp",5} {"SQNR dB",8}");
        foreach (var l in Layers)
            sb.AppendLine($"{l.Index,3}  {Trim(l.Op, 30),-30} {"[" + string.Join(",", l.OutputShape) + "]",-16} {l.Macs,10:N0} {l.WeightBytes,8:N0} {l.Scale,10:G4} {l.ZeroPoint,5} {(double.IsInfinity(l.SqnrDb) ? "exact" : double.IsNaN(l.SqnrDb) ? "-" : l.SqnrDb.ToString("F1")),8}");
        sb.AppendLine($"blob {BlobBytes:N0} B (ONNX {OnnxBytes:N0} B, {CompressionRatio:F2}x smaller), arena {ArenaBytes:N0} B (lower bound {ArenaLowerBoundBytes:N0} B), {Macs:N0} MACs, {Parameters:N0} parameters");
        return sb.ToString();
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";
}
