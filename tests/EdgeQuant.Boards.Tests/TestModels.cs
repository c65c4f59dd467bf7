using EdgeQuant.Converter;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Boards.Tests;

/// <summary>Small models built and converted by the tests, and the zoo files they use.</summary>
internal static class TestModels
{
    public static string ZooEqm(string name) => Path.Combine(RepoPaths.Zoo, "eqm", name);
    public static string Zoo(string name) => Path.Combine(RepoPaths.Zoo, name);

    public static Model Convert(byte[] onnx, float[] calib, int[] calibShape, PixelNormalization? pixels = null)
    {
        string path = Path.Combine(Path.GetTempPath(), $"eq-boards-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, onnx);
        try
        {
            var loaded = ModelConverter.Load(path);
            var result = ModelConverter.Convert(loaded, new SampleSet(calib, calibShape, "test"), new ConvertOptions { Pixels = pixels });
            return Model.Load(result.Blob);
        }
        finally { File.Delete(path); }
    }

    /// <summary>An RGB classifier [N, 3, 16, 16] -> 4 logits (conv 3x3, ReLU, global average pool, Gemm), random weights.</summary>
    public static byte[] RgbClassifierOnnx(int size = 16)
    {
        var rng = new Random(7);
        float[] R(int n, float s) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * s; return a; }
        return new TestModelBuilder()
            .Input("input", -1, 3, size, size)
            .Output("logits", -1, 4)
            .FloatInitializer("w", [8, 3, 3, 3], R(216, 0.5f))
            .FloatInitializer("b", [8], R(8, 0.1f))
            .FloatInitializer("fc", [4, 8], R(32, 1f))
            .FloatInitializer("fcb", [4], R(4, 0.1f))
            .Node("Conv", ["input", "w", "b"], ["c"], "conv", Attr("pads", 1L, 1L, 1L, 1L))
            .Node("Relu", ["c"], ["r"], "relu")
            .Node("GlobalAveragePool", ["r"], ["g"], "gap")
            .Node("Flatten", ["g"], ["f"], "flatten")
            .Node("Gemm", ["f", "fc", "fcb"], ["logits"], "fc", Attr("transB", 1L))
            .ToBytes();
    }

    /// <summary>
    /// An orientation classifier over IMU windows [N, 6, T]: a 1x1 Conv1d passes the three
    /// accelerometer channels through, GlobalAveragePool averages them over time and an identity
    /// Gemm gives 3 logits: the class is the axis gravity points along (0 x, 1 y, 2 z). Weights
    /// are set by hand, so the model is correct by construction and the test checks the pipeline.
    /// </summary>
    public static byte[] OrientationOnnx(int window)
    {
        var w = new float[3 * 6];
        for (int k = 0; k < 3; k++) w[k * 6 + k] = 1f;
        return new TestModelBuilder()
            .Input("imu", -1, 6, window)
            .Output("logits", -1, 3)
            .FloatInitializer("w", [3, 6, 1], w)
            .FloatInitializer("fc", [3, 3], 1, 0, 0, 0, 1, 0, 0, 0, 1)
            .FloatInitializer("fcb", [3], 0, 0, 0)
            .Node("Conv", ["imu", "w"], ["c"], "select")
            .Node("GlobalAveragePool", ["c"], ["g"], "gap")
            .Node("Flatten", ["g"], ["f"], "flatten")
            .Node("Gemm", ["f", "fc", "fcb"], ["logits"], "fc", Attr("transB", 1L))
            .ToBytes();
    }
}
