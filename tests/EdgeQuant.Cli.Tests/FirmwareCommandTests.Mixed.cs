using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

public partial class FirmwareCommandTests
{
    /// <summary>
    /// The C runtime has no mixed-precision kernels: a blob with int16 tensors or float fallback layers is refused by
    /// its reader with a status naming the record, and the CLI reports it as a user error (one line, exit code 1).
    /// </summary>
    [TestCase("/fc1/Gemm=int16", "EQ_ERR_TENSORS")]
    [TestCase("/fc2/Gemm=float", "EQ_ERR_OP_UNKNOWN")]
    public void HostFirmwareRefusesMixedPrecisionBlobs(string precision, string status)
    {
        string blob = Path.Combine(_dir, "mixed.eqm");
        var c = Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "-o", blob, "--precision", precision);
        Assert.That(c.Code, Is.Zero, c.Err);
        Assert.That(c.Out, Does.Contain("conversion ops").Or.Contain("wrote"));
        var r = Run("firmware", "run", blob, "--board", "host", "--input", Path.Combine(Zoo, "digits_mlp.test.npy"), "--output", Path.Combine(_dir, "y.npy"));
        Assert.Multiple(() =>
        {
            Assert.That(r.Code, Is.EqualTo(1), r.Err);
            Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), r.Err);
            Assert.That(r.Err, Does.Contain("the model blob is rejected: " + status));
        });
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
