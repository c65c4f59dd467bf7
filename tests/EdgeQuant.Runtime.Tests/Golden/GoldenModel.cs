using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Golden;

/// <summary>
/// The generator of Golden/conv_fc.eqm (see Golden/README.md): a Conv2D followed by a
/// FullyConnected with fixed weights and power-of-two scales. Changing anything here changes the
/// writer's bytes; regenerate the file only for a deliberate format or writer change.
/// </summary>
internal static class GoldenModel
{
    public const string FileName = "conv_fc.eqm";

    public static readonly float InputScale = 1f / 16, ConvScale = 1f / 8, OutputScale = 1f / 4;
    public const int InputZp = -3, ConvZp = 5, OutputZp = -7;
    public static readonly float[] ConvFilterScales = [1f / 128, 1f / 256, 1f / 64];
    public static readonly float[] FcFilterScales = [1f / 256, 1f / 512, 1f / 128, 1f / 64];
    public static readonly int[] ConvBias = [100, -200, 300];
    public static readonly int[] FcBias = [-1000, 0, 500, 2000];

    public static sbyte[] ConvFilter() => Pattern(3 * 3 * 3 * 2, 37, 11);
    public static sbyte[] FcFilter() => Pattern(4 * 12, 53, 7);

    /// <summary>The conv's geometry: 3x3, stride 2, TensorFlow SAME padding (bottom/right only) on a 4x4 input.</summary>
    public static Conv2DParams ConvGeometry => SampleModels.Geometry(2, 1, 0, 0, 1, 1);

    /// <summary>The fixed input used by the golden output test.</summary>
    public static sbyte[] Input() => Pattern(32, 29, 3);

    private static sbyte[] Pattern(int n, int a, int b)
    {
        var v = new sbyte[n];
        for (int i = 0; i < n; i++) v[i] = (sbyte)((i * a + b) % 255 - 127);
        return v;
    }

    /// <summary>The committed file as copied next to the test assembly.</summary>
    public static string OutputPath => Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", FileName);

    /// <summary>The committed file in the source tree (for regeneration).</summary>
    public static string SourcePath => Path.Combine(Path.GetDirectoryName(ThisFile())!, FileName);

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    public static byte[] Build()
    {
        var w = new ModelWriter();
        int qx = w.AddQuantization([InputScale], InputZp);
        int qc = w.AddQuantization([ConvScale], ConvZp);
        int qy = w.AddQuantization([OutputScale], OutputZp);
        int x = w.AddActivation(TensorType.Int8, [1, 4, 4, 2], qx);
        int c = w.AddActivation(TensorType.Int8, [1, 2, 2, 3], qc);
        int y = w.AddActivation(TensorType.Int8, [1, 4], qy);
        SampleModels.AddWeighted(w, OpType.Conv2D, x, (InputScale, InputZp), ConvFilter(), [3, 3, 3, 2], ConvBias, ConvFilterScales,
            c, (ConvScale, ConvZp), ConvGeometry, actMin: ConvZp, actMax: 127);
        SampleModels.AddWeighted(w, OpType.FullyConnected, c, (ConvScale, ConvZp), FcFilter(), [4, 12], FcBias, FcFilterScales, y, (OutputScale, OutputZp));
        w.AddInput("x", x);
        w.AddOutput("y", y);
        w.SetMetadata("name", "golden_conv_fc");
        w.SetMetadata("producer", "EdgeQuant.Runtime.Tests/Golden/GoldenModel.cs");
        return w.Build();
    }
}
