using EdgeQuant.Converter;
using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests;

public class PixelNormalizationTests
{
    [Test]
    public void Argument_GrayAndRgb()
    {
        var g = PixelNormalization.ParseArgument("0.1307,0.3081");
        Assert.That((g.ChannelCount, g.Mean[0], g.Std[0]), Is.EqualTo((1, 0.1307f, 0.3081f)));
        var rgb = PixelNormalization.ParseArgument("0.485, 0.456, 0.406, 0.229, 0.224, 0.225");
        Assert.That(rgb.Mean.ToArray(), Is.EqualTo(new[] { 0.485f, 0.456f, 0.406f }));
        Assert.That(rgb.Std.ToArray(), Is.EqualTo(new[] { 0.229f, 0.224f, 0.225f }));
        Assert.That(rgb.MeanOf(2), Is.EqualTo(0.406f));
        Assert.That(g.MeanOf(2), Is.EqualTo(0.1307f));
    }

    [TestCase("0.5", "expected MEAN,STD (2 values, gray) or M0,M1,M2,S0,S1,S2 (6 values, RGB), found 1 values")]
    [TestCase("0.5,0.2,0.1", "found 3 values")]
    [TestCase("0.5,abc", "value 2 'abc' is not a number")]
    [TestCase("0.5,0", "std 0 is 0; it must be positive and finite")]
    public void Argument_Errors(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => PixelNormalization.ParseArgument(text));
        Assert.That(e!.Message, Does.Contain(message));
        Assert.That(e.Message, Does.StartWith($"--pixels '{text}'"));
    }

    [Test]
    public void MetadataValue_RoundTripsExactly()
    {
        var n = new PixelNormalization([0.1f, 1f / 3, 0.7f], [0.2f, 0.3f, 1e-3f]);
        string v = n.ToMetadataValue();
        Assert.That(v, Does.StartWith("mean=0.1,0.33333334,0.7;std=0.2,0.3,0.001"));
        var back = PixelNormalization.ParseMetadataValue(v);
        Assert.That(back.Mean.ToArray(), Is.EqualTo(n.Mean.ToArray()));
        Assert.That(back.Std.ToArray(), Is.EqualTo(n.Std.ToArray()));
        Assert.Throws<FormatException>(() => PixelNormalization.ParseMetadataValue("mean=0.1"));
    }

    [Test]
    public void Convert_StoresPixels_ModelReadsThem_AndRefusesAMismatch()
    {
        var rng = new Random(1);
        var calib = new float[4 * 3 * 16 * 16];
        for (int i = 0; i < calib.Length; i++) calib[i] = (float)rng.NextDouble();
        var gray = new PixelNormalization([0.25f], [0.5f]);
        var m = TestModels.Convert(TestModels.RgbClassifierOnnx(), calib, [4, 3, 16, 16], gray);
        Assert.That(m.Metadata["pixels"], Is.EqualTo("mean=0.25;std=0.5"));
        Assert.That(m.PixelNormalization!.Std[0], Is.EqualTo(0.5f));
        var plain = Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm"));
        Assert.That(plain.PixelNormalization, Is.Null);
        // Three channels on the 1-channel MNIST model.
        var mnist = ModelConverter.Load(TestModels.Zoo("mnist_cnn.onnx"));
        var data = new SampleSet(new float[2 * 784], [2, 1, 28, 28], "zeros");
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(mnist, data, new ConvertOptions { Pixels = new PixelNormalization([0.5f, 0.5f, 0.5f], [1f, 1f, 1f]) }));
        Assert.That(e!.Message, Does.Contain("--pixels gives 3 channels"));
    }
}
