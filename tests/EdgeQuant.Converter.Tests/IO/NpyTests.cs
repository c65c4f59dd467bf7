using System.Buffers.Binary;
using System.Text;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.IO;

public class NpyTests
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Builds .npy bytes by hand: magic, version, header length field, header text, data.</summary>
    private static byte[] Make(string header, byte[] data, int major = 1, int minor = 0)
    {
        var headerBytes = major == 3 ? Encoding.UTF8.GetBytes(header) : Encoding.Latin1.GetBytes(header);
        int lengthSize = major == 1 ? 2 : 4;
        var bytes = new byte[8 + lengthSize + headerBytes.Length + data.Length];
        Magic.CopyTo(bytes, 0);
        bytes[6] = (byte)major;
        bytes[7] = (byte)minor;
        if (lengthSize == 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerBytes.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerBytes.Length);
        }

        headerBytes.CopyTo(bytes, 8 + lengthSize);
        data.CopyTo(bytes, 8 + lengthSize + headerBytes.Length);
        return bytes;
    }

    private static byte[] Floats(params float[] values)
    {
        var b = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), values[i]);
        }

        return b;
    }

    private static string Header(string descr, string shape, string fortran = "False") =>
        $"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}\n";

    [Test]
    public void Float32_RoundTrips()
    {
        var values = new[] { 1.5f, -2f, 0f, float.MaxValue, 1e-30f, 3f };
        var bytes = Npy.EncodeFloat32(values, [2, 3]);
        Assert.That((bytes.Length - (values.Length * 4)) % 64, Is.Zero, "data starts on a 64-byte boundary");
        var a = Npy.Read(bytes, "mem");
        Assert.That(a.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(a.Floats, Is.EqualTo(values));
        Assert.That(a.Int64s, Is.Null);
        Assert.That(a.Dtype, Is.EqualTo("<f4"));
    }

    [Test]
    public void Int64_RoundTripsThroughAFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eq-npy-{Guid.NewGuid():N}.npy");
        try
        {
            Npy.WriteInt64(path, [long.MinValue, -1, 0, long.MaxValue], [4]);
            var a = Npy.Read(path);
            Assert.That(a.Shape, Is.EqualTo(new[] { 4 }));
            Assert.That(a.Int64s, Is.EqualTo(new[] { long.MinValue, -1, 0, long.MaxValue }));
            Assert.That(Encoding.ASCII.GetString(File.ReadAllBytes(path), 10, 60), Does.Contain("'shape': (4,)"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ScalarAndEmptyArrays_RoundTrip()
    {
        var scalar = Npy.Read(Npy.EncodeFloat32([7f], []));
        Assert.That(scalar.Shape, Is.Empty);
        Assert.That(scalar.Floats, Is.EqualTo(new[] { 7f }));
        var empty = Npy.Read(Npy.EncodeInt64([], [0, 3]));
        Assert.That(empty.Shape, Is.EqualTo(new[] { 0, 3 }));
        Assert.That(empty.Int64s, Is.Empty);
    }

    [Test]
    public void WriteNpyArray_PicksDtypeFromData()
    {
        var bytes = Npy.Encode(new NpyArray([2], new long[] { 5, 6 }));
        Assert.That(Npy.Read(bytes).Int64s, Is.EqualTo(new long[] { 5, 6 }));
        bytes = Npy.Encode(new NpyArray([1], new float[] { 0.25f }));
        Assert.That(Npy.Read(bytes).Floats, Is.EqualTo(new[] { 0.25f }));
    }

    [TestCase("<f8")]
    [TestCase("<i4")]
    [TestCase("<i8")]
    [TestCase("|u1")]
    [TestCase("|i1")]
    public void SupportedDtypes_AreRead(string descr)
    {
        byte[] data = descr switch
        {
            "<f8" => [.. BitConverter.GetBytes(-2.5), .. BitConverter.GetBytes(4.0)],
            "<i4" => [.. BitConverter.GetBytes(-2), .. BitConverter.GetBytes(4)],
            "<i8" => [.. BitConverter.GetBytes(-2L), .. BitConverter.GetBytes(4L)],
            "|u1" => [254, 4],
            _ => [0xFE, 4],
        };
        var a = Npy.Read(Make(Header(descr, "(2,)"), data));
        Assert.That(a.Dtype, Is.EqualTo(descr));
        switch (descr)
        {
            case "<f8":
                Assert.That(a.Floats, Is.EqualTo(new[] { -2.5f, 4f }));
                break;
            case "|u1":
                Assert.That(a.Int64s, Is.EqualTo(new long[] { 254, 4 }));
                Assert.That(a.ToFloatArray(), Is.EqualTo(new[] { 254f, 4f }));
                break;
            default:
                Assert.That(a.Int64s, Is.EqualTo(new long[] { -2, 4 }));
                break;
        }
    }

    [Test]
    public void Versions2And3_AndHeaderVariants()
    {
        var v2 = Npy.Read(Make(Header("<f4", "(1, 2)"), Floats(1, 2), major: 2));
        Assert.That(v2.Shape, Is.EqualTo(new[] { 1, 2 }));
        var v3 = Npy.Read(Make("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'note': 'ünïcode'}\n", Floats(3, 4), major: 3));
        Assert.That(v3.Floats, Is.EqualTo(new[] { 3f, 4f }));

        // Double quotes, no trailing comma, odd key order, Python 2 long literals, extra spaces.
        var odd = Npy.Read(Make("{ \"shape\" : ( 2L , 1L ) , \"fortran_order\":False,\"descr\":\"<f4\" }   \n", Floats(5, 6)));
        Assert.That(odd.Shape, Is.EqualTo(new[] { 2, 1 }));
    }

    [Test]
    public void ZooFiles_AreRead()
    {
        var a = Npy.Read(Path.Combine(RepoPaths.Zoo, "mnist_cnn.ort_outputs.npy"));
        Assert.That(a.Shape, Is.EqualTo(new[] { 100, 10 }));
        var labels = Npy.Read(Path.Combine(RepoPaths.Zoo, "mnist_cnn.test_labels.npy"));
        Assert.That(labels.Int64s, Has.Length.EqualTo(labels.Shape[0]));
    }

    private static void AssertError(byte[] bytes, string expectedFragment)
    {
        var e = Assert.Throws<ConversionException>(() => Npy.Read(bytes, "bad.npy"));
        Assert.That(e!.Message, Does.StartWith("'bad.npy': ").And.Contain(expectedFragment));
    }

    [Test]
    public void BadMagic() => AssertError(Encoding.ASCII.GetBytes("PK\u0003\u0004 this is a zip"), "not a NumPy .npy file");

    [Test]
    public void EmptyFile() => AssertError([], "not a NumPy .npy file");

    [Test]
    public void TruncatedPreamble() => AssertError([.. Magic, 1], "truncated inside the preamble");

    [Test]
    public void UnknownVersion() => AssertError(Make(Header("<f4", "(1,)"), Floats(1), major: 4), "format version 4.0 is not supported; supported: 1.0, 2.0, 3.0");

    [Test]
    public void TruncatedHeader()
    {
        var full = Make(Header("<f4", "(1,)"), Floats(1));
        AssertError(full[..20], "the file is truncated: the header needs");
    }

    [Test]
    public void HugeHeaderLength()
    {
        var bytes = Make(Header("<f4", "(1,)"), Floats(1), major: 2);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 0xFFFFFFF0);
        AssertError(bytes, "the header claims 4294967280 bytes");
    }

    [TestCase("['descr', '<f4']\n", "the header is not a Python dict")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)\n", "the header is not a Python dict literal")]
    [TestCase("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}\n", "unexpected 'Maybe'")]
    [TestCase("{'fortran_order': False, 'shape': (1,)}\n", "no 'descr' key")]
    [TestCase("{'descr': '<f4', 'shape': (1,)}\n", "no boolean 'fortran_order' key")]
    [TestCase("{'descr': '<f4', 'fortran_order': False}\n", "no tuple 'shape' key")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n", "'shape' must hold non-negative integers")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}\n", "'shape' must hold non-negative integers")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}\n", "invalid integer")]
    [TestCase("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}\n", "structured or non-string dtype")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing\n", "unexpected 't'")]
    public void MalformedHeaders(string header, string expected) => AssertError(Make(header, Floats(1)), expected);

    [Test]
    public void DeeplyNestedHeader_IsRejected() =>
        AssertError(Make(new string('(', 5000) + "\n", []), "nesting too deep");

    [Test]
    public void FortranOrder_IsRejected() =>
        AssertError(Make(Header("<f4", "(1, 1)", "True"), Floats(1)), "Fortran (column-major) order; supported: C order");

    [TestCase("<f2")]
    [TestCase("<u4")]
    [TestCase("|b1")]
    [TestCase("<U8")]
    [TestCase("|O")]
    public void UnsupportedDtype_ListsSupportedOnes(string descr) =>
        AssertError(Make(Header(descr, "(1,)"), new byte[8]), $"dtype '{descr}' is not supported; supported: <f4, <f8, <i8, <i4, |i1, |u1");

    [Test]
    public void BigEndian_IsRejected() =>
        AssertError(Make(Header(">f4", "(1,)"), Floats(1)), "dtype '>f4' is big-endian");

    [Test]
    public void TruncatedData() =>
        AssertError(Make(Header("<f4", "(2, 3)"), Floats(1, 2, 3)), "the file is truncated: shape (2, 3) of <f4 needs 24 data bytes but only 12 follow the header");

    [Test]
    public void TrailingData() =>
        AssertError(Make(Header("<f4", "(1,)"), Floats(1, 2)), "the file has 4 bytes after the data");

    [Test]
    public void AbsurdElementCount() =>
        AssertError(Make(Header("<f4", "(100000, 100000, 100)"), Floats(1)), "more than 2147483647 elements");

    [Test]
    public void HugeDimension() =>
        AssertError(Make(Header("<i8", "(3000000000,)"), []), "shape dimension 3000000000 is larger than 2147483647");

    [Test]
    public void MissingFile()
    {
        var e = Assert.Throws<ConversionException>(() => Npy.Read("/nonexistent/x.npy"));
        Assert.That(e!.Message, Does.StartWith("'/nonexistent/x.npy': file not found"));
    }

    [Test]
    public void RandomBytesAfterMagic_AreAlwaysAClearError()
    {
        var rng = new Random(5);
        for (int i = 0; i < 300; i++)
        {
            var bytes = new byte[rng.Next(6, 200)];
            rng.NextBytes(bytes);
            Magic.CopyTo(bytes, 0);
            if (bytes.Length > 7)
            {
                bytes[6] = (byte)rng.Next(1, 4);
            }

            Assert.Throws<ConversionException>(() => Npy.Read(bytes, "fuzz.npy"), $"iteration {i}");
        }
    }

    [Test]
    public void EveryTruncationOfAValidFile_IsAClearError()
    {
        var bytes = Npy.EncodeFloat32([1, 2, 3], [3]);
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<ConversionException>(() => Npy.Read(bytes.AsSpan(0, length), "cut.npy"), $"length {length}");
        }
    }
}
