using EdgeQuant.Converter.IO;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Export;

/// <summary>
/// Runs ONNX models with ONNX Runtime in-process through its C# API (Microsoft.ML.OnnxRuntime):
/// one intra-op and one inter-op thread, sequential execution, as the benchmark runs it.
/// </summary>
internal static class Ort
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>The repository root (the folder holding EdgeQuant.sln).</summary>
    public static string RepoRoot => Root.Value ?? throw new AssertionException(
        $"repository root (EdgeQuant.sln) not found above {TestContext.CurrentContext.TestDirectory}");

    public static string Zoo => Path.Combine(RepoRoot, "tests", "zoo");

    /// <summary>The ONNX Runtime version the tests run against.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>
    /// Makes ORT's int8 matrix products exact on every x64 CPU. Without VNNI (AVX2 only, or AVX-512 without VNNI) ORT's
    /// default U8S8 kernels multiply by VPMADDUBSW, whose 16-bit pair sums saturate (a CI run on an AVX2-only Zen 1 found
    /// QDQ outputs up to 58 steps off and MatMulInteger results that differ); "session.x64quantprecision" = "1" makes
    /// it use its U8U8 kernels there, which do not saturate (ORT's session-options header, kOrtSessionOptionsAvx2PrecisionMode).
    /// Where ORT is a reference for bytes, it must be exact. The benchmark keeps ORT's default (bench/EdgeQuant.Bench).
    /// </summary>
    public static void ExactIntegerMatMul(SessionOptions options) => options.AddSessionConfigEntry("session.x64quantprecision", "1");

    /// <summary>A session of ORT's default options but for <see cref="ExactIntegerMatMul"/>.</summary>
    public static InferenceSession ExactSession(byte[] model)
    {
        using var options = new SessionOptions();
        ExactIntegerMatMul(options);
        return new InferenceSession(model, options);
    }

    /// <summary>
    /// Runs <paramref name="model"/> on the first <paramref name="first"/> samples of the float32
    /// .npy <paramref name="input"/> in batches of <paramref name="batch"/> (default: all at once)
    /// and returns the first output, flattened, with its shape. <paramref name="opt"/> is the graph
    /// optimization level: "all" (ORT fuses QDQ groups into its int8 kernels) or "disabled". With
    /// <paramref name="outputsDir"/> every output of the model is also written there as
    /// &lt;name&gt;.npy (float32, whatever its element type; for layer-by-layer comparisons).
    /// </summary>
    public static float[] Run(string model, string input, int first, out int[] shape, int? batch = null, string opt = "all", string? outputsDir = null)
    {
        var x = Npy.Read(input);
        float[] data = x.Floats ?? throw new AssertionException($"{input}: expected float32 samples");
        int total = x.Shape[0];
        int per = data.Length / total;
        first = Math.Min(first, total);
        int b = batch ?? first;

        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = opt switch
            {
                "all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "disabled" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                _ => throw new ArgumentException($"unknown optimization level '{opt}'", nameof(opt)),
            },
        };
        ExactIntegerMatMul(options);
        using var session = new InferenceSession(model, options);
        string inName = session.InputNames[0];
        var names = outputsDir is null ? new List<string> { session.OutputNames[0] } : session.OutputNames.ToList();

        var values = new Dictionary<string, (float[] Data, int[] Tail)>();
        using var runOptions = new RunOptions();
        for (int s = 0; s < first; s += b)
        {
            int n = Math.Min(b, first - s);
            long[] inShape = [n, .. x.Shape[1..].Select(d => (long)d)];
            using var inValue = OrtValue.CreateTensorValueFromMemory(data.AsSpan(s * per, n * per).ToArray(), inShape);
            using var results = session.Run(runOptions, [inName], [inValue], names);
            for (int k = 0; k < names.Count; k++)
            {
                var y = results[k];
                var info = y.GetTensorTypeAndShape();
                float[] f = ToFloats(y, info.ElementDataType, names[k]);
                int samplePer = f.Length / n;
                if (!values.TryGetValue(names[k], out var acc))
                {
                    acc = (new float[first * samplePer], info.Shape[1..].Select(d => (int)d).ToArray());
                    values[names[k]] = acc;
                }
                f.CopyTo(acc.Data, s * samplePer);
            }
        }

        if (outputsDir is not null)
            foreach (var (name, v) in values)
                Npy.WriteFloat32(Path.Combine(outputsDir, name + ".npy"), v.Data, [first, .. v.Tail]);
        var firstOut = values[names[0]];
        shape = [first, .. firstOut.Tail];
        return firstOut.Data;
    }

    private static float[] ToFloats(OrtValue v, TensorElementType type, string name)
    {
        switch (type)
        {
            case TensorElementType.Float: return v.GetTensorDataAsSpan<float>().ToArray();
            case TensorElementType.Int8: { var s = v.GetTensorDataAsSpan<sbyte>(); var f = new float[s.Length]; for (int i = 0; i < s.Length; i++) f[i] = s[i]; return f; }
            case TensorElementType.UInt8: { var s = v.GetTensorDataAsSpan<byte>(); var f = new float[s.Length]; for (int i = 0; i < s.Length; i++) f[i] = s[i]; return f; }
            case TensorElementType.Int32: { var s = v.GetTensorDataAsSpan<int>(); var f = new float[s.Length]; for (int i = 0; i < s.Length; i++) f[i] = s[i]; return f; }
            case TensorElementType.Int64: { var s = v.GetTensorDataAsSpan<long>(); var f = new float[s.Length]; for (int i = 0; i < s.Length; i++) f[i] = s[i]; return f; }
            default: throw new AssertionException($"output '{name}': element type {type} not handled");
        }
    }

    private static string? FindRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return d.FullName;
        return null;
    }
}
