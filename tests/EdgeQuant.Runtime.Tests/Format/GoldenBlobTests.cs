using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.Golden;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Format;

/// <summary>Golden/conv_fc.eqm pins the writer's bytes; see Golden/README.md.</summary>
public class GoldenBlobTests
{
    private const string CommittedSha256 = "93208ed7008d58c90575a7ee3f3bf3dd0cba1d61bd1bb1c64d2b7b8c580c0d21";

    /// <summary>The output for <see cref="GoldenModel.Input"/>, pinned when the file was generated.</summary>
    private static readonly sbyte[] ExpectedOutput = [-67, 9, -126, 127];

    [Test, Order(0)]
    public void RegenerateWhenAsked()
    {
        if (Environment.GetEnvironmentVariable("EDGEQUANT_REGENERATE_GOLDEN") != "1")
            Assert.Ignore("set EDGEQUANT_REGENERATE_GOLDEN=1 to rewrite Golden/conv_fc.eqm");
        var bytes = GoldenModel.Build();
        File.WriteAllBytes(GoldenModel.SourcePath, bytes);
        Directory.CreateDirectory(Path.GetDirectoryName(GoldenModel.OutputPath)!);
        File.WriteAllBytes(GoldenModel.OutputPath, bytes);
        TestContext.Out.WriteLine($"wrote {bytes.Length} bytes, SHA-256 {Sha256.HexOf(bytes)}");
    }

    [Test]
    public void WriterReproducesTheCommittedBytes()
    {
        var committed = File.ReadAllBytes(GoldenModel.OutputPath);
        Assert.That(Sha256.HexOf(committed), Is.EqualTo(CommittedSha256), "the committed file changed");
        var built = GoldenModel.Build();
        Assert.That(built.Length, Is.EqualTo(committed.Length));
        for (int i = 0; i < built.Length; i++)
            if (built[i] != committed[i])
                Assert.Fail($"ModelWriter output differs from Golden/{GoldenModel.FileName} at byte {i} (0x{i:X}): {built[i]:X2} vs {committed[i]:X2}");
    }

    [Test]
    public void HeaderAndSectionTable()
    {
        var b = File.ReadAllBytes(GoldenModel.OutputPath);
        Assert.Multiple(() =>
        {
            Assert.That(System.Text.Encoding.ASCII.GetString(b, 0, 4), Is.EqualTo("EQMB"));
            Assert.That((b[4] | b[5] << 8, b[6] | b[7] << 8), Is.EqualTo((1, 0)), "version 1.0");
            Assert.That(Blob.I32(b, 8), Is.EqualTo(b.Length).And.EqualTo(1184));
            Assert.That((uint)Blob.I32(b, 12), Is.EqualTo(Crc32.Compute(b.AsSpan(16))));
            Assert.That(Blob.I32(b, 16), Is.EqualTo(9), "section count");
            Assert.That(Blob.I32(b, 20), Is.EqualTo(32), "table offset");
            Assert.That(Blob.I32(b, 24) | Blob.I32(b, 28), Is.Zero, "reserved");
            // kind, offset, length, count
            int[,] expected =
            {
                { 1, 176, 224, 7 }, { 2, 400, 112, 7 }, { 3, 512, 96, 2 }, { 4, 608, 96, 2 }, { 5, 704, 320, 0 },
                { 6, 1024, 16, 1 }, { 7, 1040, 32, 2 }, { 8, 1072, 73, 0 }, { 9, 1152, 32, 2 },
            };
            for (int s = 0; s < 9; s++)
                for (int f = 0; f < 4; f++)
                    Assert.That(Blob.I32(b, 32 + 16 * s + 4 * f), Is.EqualTo(expected[s, f]), $"section entry {s} field {f}");
        });
    }

    [Test]
    public void ReadsBackTheExpectedModel()
    {
        var m = Model.LoadFile(GoldenModel.OutputPath);
        Assert.Multiple(() =>
        {
            Assert.That((m.VersionMajor, m.VersionMinor), Is.EqualTo(((ushort)1, (ushort)0)));
            Assert.That((m.ArenaBytes, m.ArenaLowerBoundBytes, m.BlobBytes), Is.EqualTo((48, 48, 1184)));
            Assert.That(m.Metadata, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["name"] = "golden_conv_fc", ["producer"] = "EdgeQuant.Runtime.Tests/Golden/GoldenModel.cs",
            }));
            Assert.That(m.Inputs, Is.EqualTo(new[] { new ModelIo("x", 0, SourceLayout.AsIs) }));
            Assert.That(m.Outputs, Is.EqualTo(new[] { new ModelIo("y", 2, SourceLayout.AsIs) }));

            Assert.That(m.Tensors, Is.EqualTo(new[]
            {
                new TensorInfo(TensorType.Int8, 4, new(1, 4, 4, 2), TensorStorage.Arena, 0, 32, 0),
                new TensorInfo(TensorType.Int8, 4, new(1, 2, 2, 3), TensorStorage.Arena, 32, 12, 1),
                new TensorInfo(TensorType.Int8, 2, new(1, 4, 1, 1), TensorStorage.Arena, 0, 4, 2),
                new TensorInfo(TensorType.Int8, 4, new(3, 3, 3, 2), TensorStorage.Constant, 64, 54, 3),
                new TensorInfo(TensorType.Int32, 1, new(3, 1, 1, 1), TensorStorage.Constant, 144, 12, 4),
                new TensorInfo(TensorType.Int8, 2, new(4, 12, 1, 1), TensorStorage.Constant, 208, 48, 5),
                new TensorInfo(TensorType.Int32, 1, new(4, 1, 1, 1), TensorStorage.Constant, 272, 16, 6),
            }));
            Assert.That(m.Quantization, Is.EqualTo(new[]
            {
                new QuantInfo(1, -3, 0, -1), new QuantInfo(1, 5, 16, -1), new QuantInfo(1, -7, 32, -1),
                new QuantInfo(3, 0, 48, 0), new QuantInfo(3, 0, 128, 0), new QuantInfo(4, 0, 192, 0), new QuantInfo(4, 0, 256, 0),
            }));
            Assert.That((m.GetScale(0), m.GetScale(1), m.GetScale(2)), Is.EqualTo((GoldenModel.InputScale, GoldenModel.ConvScale, GoldenModel.OutputScale)));
            for (int c = 0; c < 3; c++) Assert.That(m.GetScale(3, c), Is.EqualTo(GoldenModel.ConvFilterScales[c]));
            for (int c = 0; c < 4; c++) Assert.That(m.GetScale(5, c), Is.EqualTo(GoldenModel.FcFilterScales[c]));
            Assert.That(m.GetConstantBytes(3).ToArray(), Is.EqualTo(GoldenModel.ConvFilter().Select(v => (byte)v).ToArray()));
            Assert.That(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(m.GetConstantBytes(6)).ToArray(), Is.EqualTo(GoldenModel.FcBias));

            // Params offsets are absolute blob positions after loading: OpParams starts at 608.
            Assert.That(m.Ops, Is.EqualTo(new[]
            {
                new OpInfo(OpType.Conv2D, 3, 1, 0, 3, 4, -1, 1, -1, 608, 64, 0, 0),
                new OpInfo(OpType.FullyConnected, 3, 1, 1, 5, 6, -1, 2, -1, 672, 32, 0, 0),
            }));
            var conv = m.ReadParams<Conv2DParams>(m.Ops[0]);
            var g = GoldenModel.ConvGeometry;
            Assert.That((conv.StrideH, conv.StrideW, conv.DilationH, conv.DilationW), Is.EqualTo((g.StrideH, g.StrideW, 1, 1)));
            Assert.That((conv.PadTop, conv.PadLeft, conv.PadBottom, conv.PadRight), Is.EqualTo((0, 0, 1, 1)));
            Assert.That((conv.InputOffset, conv.OutputOffset, conv.ActivationMin, conv.ActivationMax), Is.EqualTo((3, 5, 5, 127)));
            Assert.That((conv.MultipliersOffset, conv.ShiftsOffset, conv.DepthMultiplier, conv.FoldedBiasOffset), Is.EqualTo((160, 176, 1, -1)));
            Assert.That(ConstI32(m, conv.MultipliersOffset, 3), Is.EqualTo(new[] { 1 << 30, 1 << 30, 1 << 30 }));
            Assert.That(ConstI32(m, conv.ShiftsOffset, 3), Is.EqualTo(new[] { -7, -8, -6 }), "1/256, 1/512, 1/128");
            var fc = m.ReadParams<FullyConnectedParams>(m.Ops[1]);
            Assert.That((fc.InputOffset, fc.OutputOffset, fc.ActivationMin, fc.ActivationMax), Is.EqualTo((-5, -7, -128, 127)));
            Assert.That((fc.MultipliersOffset, fc.ShiftsOffset, fc.FoldedBiasOffset, fc.Reserved), Is.EqualTo((288, 304, -1, 0)));
            Assert.That(ConstI32(m, fc.ShiftsOffset, 4), Is.EqualTo(new[] { -8, -9, -7, -6 }));
        });
    }

    [Test]
    public void RunsToThePinnedOutputWhichEqualsTheKernels()
    {
        var m = Model.LoadFile(GoldenModel.OutputPath);
        var interp = new Interpreter(m);
        GoldenModel.Input().CopyTo(interp.GetInput());
        interp.Invoke();
        var got = interp.GetOutput().ToArray();

        // The same computation with direct kernel calls.
        var conv = m.ReadParams<Conv2DParams>(m.Ops[0]);
        var c = new sbyte[12];
        Conv2D.EvalS8Reference(conv, GoldenModel.Input(), new(1, 4, 4, 2), GoldenModel.ConvFilter(), new(3, 3, 3, 2), GoldenModel.ConvBias,
            ConstI32(m, conv.MultipliersOffset, 3), ConstI32(m, conv.ShiftsOffset, 3), c, new(1, 2, 2, 3));
        var fc = m.ReadParams<FullyConnectedParams>(m.Ops[1]);
        var y = new sbyte[4];
        FullyConnected.EvalS8Reference(fc, c, 1, 12, GoldenModel.FcFilter(), 4, GoldenModel.FcBias, ConstI32(m, fc.MultipliersOffset, 4), ConstI32(m, fc.ShiftsOffset, 4), y);
        Assert.That(got, Is.EqualTo(y));
        TestContext.Out.WriteLine($"output: [{string.Join(", ", got)}], conv: [{string.Join(", ", c)}]");
        Assert.That(got, Is.EqualTo(ExpectedOutput));
    }

    private static int[] ConstI32(Model m, int offset, int count) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(m.ConstantData.Slice(offset, 4 * count)).ToArray();
}
