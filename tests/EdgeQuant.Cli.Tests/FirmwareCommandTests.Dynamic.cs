using System.Text.Json;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

public partial class FirmwareCommandTests
{
    /// <summary>
    /// The C runtime runs the dynamic-quantization ops 40-46: a model converted with --dynamic (float in and out,
    /// the input quantized per inference) gives through `firmware run` on host the float32 bytes of `edgequant run`.
    /// </summary>
    [TestCase("digits_mlp", "digits_mlp.test.npy")]
    [TestCase("mnist_cnn", "mnist_cnn.test.npy")]
    public void DynamicBlobsRunOnHostFirmwareBitExactToEdgequantRun(string model, string input)
    {
        string blob = Path.Combine(_dir, model + ".dynamic.eqm");
        var c = Run("convert", Path.Combine(Zoo, model + ".onnx"), "--dynamic", "-o", blob);
        Assert.That(c.Code, Is.Zero, c.Err);
        AssertRunMatches("host", blob, Path.Combine(Zoo, input));
    }

    [Test]
    public void DynamicOpsAreLinkedOnlyIntoImagesOfModelsUsingThem()
    {
        RequireCrossTools();
        long Code(string model, string dir)
        {
            var r = Run("firmware", "build", model, "--board", "mps2-an386", "-o", Path.Combine(_dir, dir), "--json");
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            using var j = JsonDocument.Parse(r.Out);
            return j.RootElement.GetProperty("code_bytes").GetInt64();
        }
        long int8 = Code(Path.Combine(Golden, "fashion_mobilenet.eqm"), "m4-int8");
        long dynamic = Code(Path.Combine(Repo, "firmware", "tests", "golden", "fashion_mobilenet.dynamic.eqm"), "m4-dynamic");
        // Ops 40-46 measured at 4.4 KB on the M4 (docs/firmware.md, dynamic quantization).
        Assert.That(dynamic - int8, Is.InRange(3000, 6000), $"int8 image {int8} bytes, dynamic image {dynamic} bytes");
    }
}
