using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

public partial class FirmwareCommandTests
{
    /// <summary>
    /// The C runtime has no recurrent kernels: digits_gru converted with int8 (Gru, op 24) or int4 weights (GruPacked,
    /// op 26, int4 tensors it does know) is refused by its reader at the op record, and the CLI reports it as a user
    /// error (one line, exit code 1).
    /// </summary>
    [TestCase("int8", "record 1")]
    [TestCase("int4", "record 1")]
    public void HostFirmwareRefusesRecurrentBlobs(string weights, string record)
    {
        string blob = Path.Combine(_dir, "gru.eqm");
        var c = Run("convert", Path.Combine(Zoo, "digits_gru.onnx"), "--calib", Path.Combine(Zoo, "digits_gru.calib.npy"), "-o", blob, "--weights", weights);
        Assert.That(c.Code, Is.Zero, c.Err);
        var r = Run("firmware", "run", blob, "--board", "host", "--input", Path.Combine(Zoo, "digits_gru.test.npy"), "--output", Path.Combine(_dir, "y.npy"));
        Assert.Multiple(() =>
        {
            Assert.That(r.Code, Is.EqualTo(1), r.Err);
            Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), r.Err);
            Assert.That(r.Err, Does.Contain("the model blob is rejected: EQ_ERR_OP_UNKNOWN").And.Contain("section Ops, " + record));
        });
    }
}
