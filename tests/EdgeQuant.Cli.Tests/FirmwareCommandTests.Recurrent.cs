using System.Text.Json;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

public partial class FirmwareCommandTests
{
    /// <summary>
    /// The C runtime runs the recurrent ops 23-26: digits_gru converted with int8 (Gru, op 24) or int4 weights
    /// (GruPacked, op 26) gives through `firmware run` on host the bytes of `edgequant run`.
    /// </summary>
    [TestCase("int8")]
    [TestCase("int4")]
    public void RecurrentBlobsRunOnHostFirmwareBitExactToEdgequantRun(string weights)
    {
        string blob = Path.Combine(_dir, "gru.eqm");
        var c = Run("convert", Path.Combine(Zoo, "digits_gru.onnx"), "--calib", Path.Combine(Zoo, "digits_gru.calib.npy"), "-o", blob, "--weights", weights);
        Assert.That(c.Code, Is.Zero, c.Err);
        AssertRunMatches("host", blob, Path.Combine(Zoo, "digits_gru.test.npy"));
    }

    /// <summary>The recurrent ops (EQ_WITH_RECURRENT; 3.8 KB on the M4, docs/firmware.md) join an image only for a model that uses them.</summary>
    [Test]
    public void RecurrentOpsAreLinkedOnlyIntoImagesOfModelsUsingThem()
    {
        RequireCrossTools();
        long Code(string model, string dir)
        {
            var r = Run("firmware", "build", model, "--board", "mps2-an386", "-o", Path.Combine(_dir, dir), "--json");
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            using var j = JsonDocument.Parse(r.Out);
            return j.RootElement.GetProperty("code_bytes").GetInt64();
        }
        string gru = Path.Combine(_dir, "gru.eqm");
        var c = Run("convert", Path.Combine(Zoo, "digits_gru.onnx"), "--calib", Path.Combine(Zoo, "digits_gru.calib.npy"), "-o", gru);
        Assert.That(c.Code, Is.Zero, c.Err);
        long int8 = Code(Path.Combine(Golden, "digits_mlp.eqm"), "m4-int8");
        long recurrent = Code(gru, "m4-gru");
        Assert.That(recurrent - int8, Is.InRange(2500, 5000), $"int8 image {int8} bytes, recurrent image {recurrent} bytes");
    }
}
