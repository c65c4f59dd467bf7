using System.Text.Json;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

public partial class FirmwareCommandTests
{
    /// <summary>
    /// The C runtime runs the mixed-precision ops 60-72: digits_mlp with an int16 (16x8) layer, a float fallback
    /// layer, or both, gives through `firmware run` on host the float32 bytes of `edgequant run`.
    /// </summary>
    [TestCase("/fc1/Gemm=int16")]
    [TestCase("/fc2/Gemm=float")]
    [TestCase("/fc1/Gemm=float,/fc2/Gemm=int16")]
    public void MixedPrecisionBlobsRunOnHostFirmwareBitExactToEdgequantRun(string precision)
    {
        string blob = Path.Combine(_dir, "mixed.eqm");
        var c = Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "-o", blob, "--precision", precision);
        Assert.That(c.Code, Is.Zero, c.Err);
        AssertRunMatches("host", blob, Path.Combine(Zoo, "digits_mlp.test.npy"));
    }

    /// <summary>fashion_mobilenet converted with int16 and float layers (firmware/tests/golden/README.md).</summary>
    private static string MixedModel => Path.Combine(Repo, "firmware", "tests", "golden", "fashion_mobilenet.mixed.eqm");

    [Test]
    public void MixedPrecisionOpsAreLinkedOnlyIntoImagesOfModelsUsingThem()
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
        long mixed = Code(MixedModel, "m4-mixed");
        // Ops 60-72 measured at 6.4 KB on the M4 (docs/firmware.md, mixed precision): reader rules, dispatch, kernels.
        Assert.That(mixed - int8, Is.InRange(4000, 8000), $"int8 image {int8} bytes, mixed-precision image {mixed} bytes");
    }

    [Test]
    public void MixedPrecisionOptionsAreCheckedTogether()
    {
        string model = Path.Combine(Zoo, "digits_mlp.onnx"), calib = Path.Combine(Zoo, "digits_mlp.calib.npy");
        var both = Run("convert", model, "--calib", calib, "--precision", "*=int16", "--mixed-precision", "--data", calib, "--labels", calib);
        Assert.That((both.Code, both.Err), Is.EqualTo((1, "edgequant: error: --precision sets the precisions by hand; --mixed-precision searches for them: give one of the two" + Environment.NewLine)));
        var noLabels = Run("convert", model, "--calib", calib, "--mixed-precision", "--data", calib);
        Assert.That(noLabels.Err, Does.Contain("--mixed-precision needs --labels Y.npy"));
        var withInt4 = Run("convert", model, "--calib", calib, "--precision", "*=int16", "--weights", "int4");
        Assert.That(withInt4.Err, Does.Contain("do not combine with mixed precision"));
        var dataAlone = Run("convert", model, "--calib", calib, "--data", calib, "-o", Path.Combine(_dir, "d.eqm"));
        Assert.That(dataAlone.Err, Does.Contain("--data applies to --mixed-precision only"));
        var badLayer = Run("convert", model, "--calib", calib, "--precision", "fc9=int16", "-o", Path.Combine(_dir, "d.eqm"));
        Assert.That((badLayer.Code, badLayer.Err), Is.EqualTo((1, "edgequant: error: --precision: no layer 'fc9'; the layers are /fc1/Gemm, /fc2/Gemm" + Environment.NewLine)));
    }
}
