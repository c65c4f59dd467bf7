using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.Golden;
using EdgeQuant.Runtime.Tests.TestSupport;
using static EdgeQuant.Runtime.Tests.TestSupport.Blob;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// The reader's validation of the header, section table and records (docs/format.md, "Validation").
/// Each test breaks one thing in an otherwise valid blob and checks that loading throws
/// <see cref="InvalidModelException"/> naming the place. Tampered blobs get a fresh CRC so the check
/// under test is reached.
/// </summary>
public class ModelTests
{
    /// <summary>Golden conv+FC blob; tensors 0 x, 1 conv out, 2 y, 3 conv filter, 4 conv bias, 5 FC filter, 6 FC bias.</summary>
    private static byte[] Fresh() => GoldenModel.Build();

    internal static InvalidModelException Rejects(byte[] blob, params string[] fragments) => Rejects(blob, null, fragments);

    internal static InvalidModelException Rejects(byte[] blob, ModelLoadOptions? options, params string[] fragments)
    {
        var e = Assert.Throws<InvalidModelException>(() => Model.Load(blob, options))!;
        Assert.That(e.Message, Does.StartWith("Invalid EdgeQuant model: "));
        foreach (var f in fragments)
            Assert.That(e.Message, Does.Contain(f));
        return e;
    }

    private static byte[] Patched(Action<byte[]> patch)
    {
        var b = Fresh();
        patch(b);
        return FixCrc(b);
    }

    [Test]
    public void SampleModelsLoad()
    {
        Assert.DoesNotThrow(() => Model.Load(Fresh()));
        foreach (var (name, blob) in SampleModels.All())
            Assert.DoesNotThrow(() => Model.Load(blob), name);
        foreach (var c in OneOpModels.All())
            Assert.DoesNotThrow(() => Model.Load(c.Blob), c.Op.ToString());
    }

    [Test]
    public void BlobCanBeASliceOfALargerBuffer()
    {
        // Offsets are relative to the blob, never pointers: the blob may sit anywhere in memory.
        var b = Fresh();
        var big = new byte[b.Length + 100];
        b.CopyTo(big, 37);
        var m = Model.Load(big.AsMemory(37, b.Length));
        var interp = new Interpreter(m);
        GoldenModel.Input().CopyTo(interp.GetInput());
        interp.Invoke();
        var reference = new Interpreter(Model.Load(b));
        GoldenModel.Input().CopyTo(reference.GetInput());
        reference.Invoke();
        Assert.That(interp.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()));
    }

    // ---- Header ----

    [Test]
    public void ShorterThanTheHeader() => Rejects(new byte[31], "31 bytes, shorter than the 32-byte header");

    [Test]
    public void BadMagic() => Rejects(Patched(b => b[0] = (byte)'X'), "header, byte 0", "magic", "not an EdgeQuant model");

    [Test]
    public void WrongMajorVersion()
    {
        Rejects(Patched(b => SetU16(b, 4, 2)), "header, byte 4", "version 2.0", "reads 1.x");
        Rejects(Patched(b => SetU16(b, 4, 0)), "header, byte 4", "version 0.0");
    }

    [Test]
    public void NewerMinorVersionLoads()
    {
        var m = Model.Load(Patched(b => SetU16(b, 6, 7)));
        Assert.That((m.VersionMajor, m.VersionMinor), Is.EqualTo(((ushort)1, (ushort)7)));
    }

    [Test]
    public void WriterStampsTheMinorVersionTheBlobNeeds()
    {
        Assert.That(Model.Load(Fresh()).VersionMinor, Is.EqualTo((ushort)0), "1.0 ops only: 1.0");
        Assert.That(Model.Load(OneOpModels.IndexSelect().Blob).VersionMinor, Is.EqualTo((ushort)1), "IndexSelect came with 1.1");
        foreach (OpType op in Enum.GetValues<OpType>())
            Assert.That(ModelFormat.MinorVersionNeeded(op), Is.LessThanOrEqualTo(ModelFormat.VersionMinor), op.ToString());
        Assert.That(ModelFormat.MinorVersionNeeded(OpType.Conv2D), Is.EqualTo((ushort)0));
        Assert.That(ModelFormat.MinorVersionNeeded(OpType.FullyConnectedSparse), Is.EqualTo((ushort)1));
        Assert.That(ModelFormat.MinorVersionNeeded(TensorType.Int8), Is.EqualTo((ushort)0));
        Assert.That(ModelFormat.MinorVersionNeeded(TensorType.Int4), Is.EqualTo((ushort)1));
    }

    [Test]
    public void SizeFieldMismatch()
    {
        Rejects(Patched(b => SetI32(b, 8, b.Length + 16)), "header, byte 8", "truncated or padded");
        Rejects(Fresh()[..^16], "header, byte 8", "1184", "1168");
        Rejects([.. Fresh(), .. new byte[16]], "header, byte 8");
    }

    [Test]
    public void CrcMismatch()
    {
        var b = Fresh();
        b[Constant(b, 64)] ^= 1; // one weight bit
        Rejects(b, "header, byte 12", "CRC32 mismatch");
        Assert.DoesNotThrow(() => Model.Load(b, new ModelLoadOptions { SkipCrc = true }), "SkipCrc skips only the CRC");
    }

    [Test]
    public void CrcCoversTheSectionTable()
    {
        var b = Fresh();
        b[TableOffset(b) + 15] ^= 0x80; // count field of the first entry
        Rejects(b, "CRC32");
    }

    [Test]
    public void SectionCountOutOfRange()
    {
        Rejects(Patched(b => SetI32(b, 16, 0)), "header, byte 16", "section count 0");
        Rejects(Patched(b => SetI32(b, 16, 65)), "header, byte 16", "[1, 64]");
    }

    [Test]
    public void SectionTableOutOfBounds()
    {
        Rejects(Patched(b => SetI32(b, 20, 16)), "header, byte 20", "section table at 16");
        Rejects(Patched(b => SetI32(b, 20, b.Length - 64)), "header, byte 20");
        Rejects(Patched(b => SetI32(b, 20, -1)), "header, byte 20");
    }

    // ---- Section table ----

    [Test]
    public void SectionOutOfBounds()
    {
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Tensors) + 8, 100_000)), "section table entry 0 (byte 32)", "section kind 1", "outside");
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Metadata) + 4, b.Length)), "section table entry 8", "outside");
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Metadata) + 8, -1)), "section table entry 8", "outside");
    }

    [Test]
    public void SectionInsideTheHeaderOrTable()
    {
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Strings) + 4, 32)), "section table entry 7", "outside the blob's data area [176, 1184)");
    }

    [Test]
    public void SectionMisaligned()
    {
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Strings) + 4, SectionStart(b, SectionKind.Strings) + 4)), "section table entry 7", "not 16-byte aligned");
    }

    [Test]
    public void SectionsOverlap()
    {
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Quantization) + 4, SectionStart(b, SectionKind.Tensors) + 32)), "section table entry 1", "overlaps section kind 1");
    }

    [Test]
    public void DuplicateSection()
    {
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Metadata), (int)SectionKind.Strings)), "section table entry 8", "Strings appears twice");
    }

    [TestCase(SectionKind.Tensors)]
    [TestCase(SectionKind.Ops)]
    [TestCase(SectionKind.ConstantData)]
    [TestCase(SectionKind.MemoryPlan)]
    [TestCase(SectionKind.IO)]
    public void MissingRequiredSection(SectionKind kind)
    {
        // Renumbering a section to an unknown kind makes the reader ignore it.
        Rejects(Patched(b => SetI32(b, EntryOf(b, kind), 1000)), $"section {kind} is missing");
    }

    [Test]
    public void UnknownSectionKindsAreIgnored()
    {
        var m = Model.Load(Patched(b => SetI32(b, EntryOf(b, SectionKind.Metadata), 1000)));
        Assert.That(m.Metadata, Is.Empty, "metadata is optional; its section was renumbered to an unknown kind");
        Assert.That(Model.Load(Patched(b => SetI32(b, EntryOf(b, SectionKind.Metadata), 0))).Metadata, Is.Empty, "kind 0 is never assigned");
    }

    [Test]
    public void RecordCountDisagreesWithLength()
    {
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Tensors) + 12, 6)), "section Tensors at byte 176", "6 records of 32 bytes need 192 bytes, the section has 224");
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.Ops) + 12, int.MaxValue)), "section Ops at byte 512");
        Rejects(Patched(b => SetI32(b, EntryOf(b, SectionKind.MemoryPlan) + 12, 2)), "section MemoryPlan");
    }

    // ---- MemoryPlan ----

    [Test]
    public void ArenaLargerThanTheLimit()
    {
        var b = Fresh();
        Rejects(b, new ModelLoadOptions { MaxArenaBytes = 47 }, "section MemoryPlan", "arena of 48 bytes exceeds the limit of 47 bytes", "MaxArenaBytes");
        Assert.DoesNotThrow(() => Model.Load(b, new ModelLoadOptions { MaxArenaBytes = 48 }));
        Rejects(Patched(x => SetI32(x, SectionStart(x, SectionKind.MemoryPlan), int.MaxValue)), "section MemoryPlan", "exceeds the limit");
        Rejects(Patched(x => SetI32(x, SectionStart(x, SectionKind.MemoryPlan), -16)), "section MemoryPlan", "exceeds the limit");
    }

    [Test]
    public void LowerBoundAboveArena() =>
        Rejects(Patched(b => SetI32(b, SectionStart(b, SectionKind.MemoryPlan) + 4, 64)), "section MemoryPlan", "lower bound 64 exceeds the arena size 48");

    // ---- Quantization ----

    [Test]
    public void QuantizationRecords()
    {
        Rejects(Patched(b => SetI32(b, Quant(b, 0), 0)), "section Quantization, record 0 (byte 400)", "channel count 0");
        Rejects(Patched(b => SetI32(b, Quant(b, 0), 65537)), "section Quantization, record 0", "channel count 65537");
        Rejects(Patched(b => SetI32(b, Quant(b, 1) + 4, 128)), "section Quantization, record 1", "zero point 128");
        Rejects(Patched(b => SetI32(b, Quant(b, 1) + 4, -129)), "section Quantization, record 1", "zero point -129");
        Rejects(Patched(b => SetI32(b, Quant(b, 2) + 8, 318)), "section Quantization, record 2", "misaligned or outside");
        Rejects(Patched(b => SetI32(b, Quant(b, 2) + 8, 320)), "section Quantization, record 2", "outside the 320-byte constant data");
        Rejects(Patched(b => SetI32(b, Quant(b, 3) + 12, -1)), "section Quantization, record 3", "quantized dimension -1 is invalid for 3 channels");
        Rejects(Patched(b => SetI32(b, Quant(b, 3) + 12, 4)), "section Quantization, record 3", "quantized dimension 4");
    }

    [TestCase(0f)]
    [TestCase(-0.5f)]
    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void ScalesMustBePositiveAndFinite(float scale)
    {
        // Scales of quantization record 3 (conv filter, three channels) start at constant offset 48.
        Rejects(Patched(b => BitConverter.TryWriteBytes(b.AsSpan(Constant(b, 48 + 4)), scale)), "section Quantization, record 3", "scale 1 is", "positive and finite");
    }

    // ---- Tensors ----

    [Test]
    public void TensorRecordFields()
    {
        Rejects(Patched(b => b[Tensor(b, 0)] = 9), "section Tensors, record 0 (byte 176)", "unknown element type 9");
        Rejects(Patched(b => b[Tensor(b, 0) + 1] = 5), "section Tensors, record 0", "rank 5");
        Rejects(Patched(b => b[Tensor(b, 0) + 1] = 0), "section Tensors, record 0", "rank 0");
        Rejects(Patched(b => b[Tensor(b, 0) + 2] = 2), "section Tensors, record 0", "unknown storage 2");
        Rejects(Patched(b => SetI32(b, Tensor(b, 2) + 12, 5)), "section Tensors, record 2", "unused dimension 2 is 5");
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 8, 0)), "section Tensors, record 0", "dimension 1 is 0");
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 8, -4)), "section Tensors, record 0", "dimension 1 is -4");
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 8, (1 << 24) + 1)), "section Tensors, record 0", "outside [1, 2^24]");
    }

    [Test]
    public void TensorDimsDisagreeWithByteLength()
    {
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 8, 5)), "section Tensors, record 0", "byte length 32 does not match 40 elements");
        Rejects(Patched(b => SetI32(b, Tensor(b, 4) + 24, 3)), "section Tensors, record 4", "byte length 3 does not match 3 elements of Int32 (12 bytes)");
        Rejects(Patched(b => { for (int k = 0; k < 4; k++) SetI32(b, Tensor(b, 0) + 4 + 4 * k, 1 << 20); }), "section Tensors, record 0", "overflows");
    }

    [Test]
    public void TensorDataOutOfBounds()
    {
        Rejects(Patched(b => SetI32(b, Tensor(b, 3) + 20, 320)), "section Tensors, record 3", "outside the constant data of 320 bytes");
        Rejects(Patched(b => SetI32(b, Tensor(b, 6) + 20, 320)), "section Tensors, record 6", "constant data");
        Rejects(Patched(b => SetI32(b, Tensor(b, 1) + 20, 48)), "section Tensors, record 1", "outside the arena of 48 bytes");
        Rejects(Patched(b => SetI32(b, Tensor(b, 1) + 20, -16)), "section Tensors, record 1", "arena");
        Rejects(Patched(b => SetI32(b, Tensor(b, 1) + 20, 40)), "section Tensors, record 1", "not 16-byte aligned");
    }

    [Test]
    public void TensorQuantizationReference()
    {
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 28, 7)), "section Tensors, record 0", "quantization index 7 is outside [-1, 7)");
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 28, -2)), "section Tensors, record 0", "quantization index -2");
        Rejects(Patched(b => SetI32(b, Tensor(b, 0) + 28, -1)), "section Tensors, record 0", "int8 tensor has no quantization");
        // The conv filter [3, 3, 3, 2] given the FC filter's four-channel quantization.
        Rejects(Patched(b => SetI32(b, Tensor(b, 3) + 28, 5)), "section Tensors, record 3", "per-channel quantization with 4 channels on dimension 0");
    }

    // ---- IO, strings, metadata ----

    private static int Io(byte[] b, int i) => Record(b, SectionKind.IO, i, RecordSizes.Io);

    [Test]
    public void IoRecords()
    {
        Rejects(Patched(b => SetI32(b, Io(b, 0), 7)), "section IO, record 0 (byte 1040)", "tensor index 7 is outside [0, 7)");
        Rejects(Patched(b => SetI32(b, Io(b, 0), 3)), "section IO, record 0", "not in the arena");
        Rejects(Patched(b => b[Io(b, 1) + 12] = 2), "section IO, record 1", "direction 2");
        Rejects(Patched(b => b[Io(b, 1) + 13] = 9), "section IO, record 1", "unknown source layout 9");
        Rejects(Patched(b => b[Io(b, 1) + 13] = 1), "section IO, record 1", "NCHW source layout on a rank-2 tensor");
        Rejects(Patched(b => SetI32(b, Io(b, 0) + 4, 73)), "section IO, record 0", "string [73, 74) is outside the 73-byte Strings section");
        Rejects(Patched(b => SetI32(b, Io(b, 0) + 8, -1)), "section IO, record 0", "Strings section");
        Rejects(Patched(b => b[Io(b, 1) + 12] = 0), "section IO: a model needs at least one input and one output");
    }

    [Test]
    public void NchwLayoutIsRecordedOnRankFourInputs()
    {
        var m = Model.Load(Patched(b => b[Io(b, 0) + 13] = 1));
        Assert.That(m.Inputs[0].Layout, Is.EqualTo(SourceLayout.Nchw));
    }

    [Test]
    public void MetadataStrings()
    {
        int meta(byte[] b) => Record(b, SectionKind.Metadata, 0, RecordSizes.Metadata);
        Rejects(Patched(b => SetI32(b, meta(b) + 12, 1000)), "section Metadata, record 0", "outside the 73-byte Strings section");
        Rejects(Patched(b => SetI32(b, meta(b), -1)), "section Metadata, record 0");
    }

    // ---- Ops ----

    [Test]
    public void OpRecordFields()
    {
        Rejects(Patched(b => { SetI32(b, EntryOf(b, SectionKind.Ops) + 8, 0); SetI32(b, EntryOf(b, SectionKind.Ops) + 12, 0); }), "section Ops: 0 ops is outside [1, 4096]");
        Rejects(Patched(b => b[Op(b, 0) + 2] = 5), "section Ops, record 0 (byte 512)", "5 inputs / 1 outputs exceed the record's capacity");
        Rejects(Patched(b => b[Op(b, 0) + 3] = 0), "section Ops, record 0", "0 outputs");
        Rejects(Patched(b => b[Op(b, 0) + 3] = 3), "section Ops, record 0", "3 outputs");
        Rejects(Patched(b => SetI32(b, Op(b, 1) + 8, 7)), "section Ops, record 1 (byte 560)", "tensor index 7 in slot 1 is outside [0, 7)");
        Rejects(Patched(b => SetI32(b, Op(b, 0) + 4, -1)), "section Ops, record 0", "tensor index -1 in slot 0");
        Rejects(Patched(b => SetI32(b, Op(b, 0) + 20, 99)), "section Ops, record 0", "tensor index 99 in slot 4");
        Rejects(Patched(b => SetI32(b, Op(b, 0) + 16, 2)), "section Ops, record 0", "unused slot 3 holds 2, must be -1");
        Rejects(Patched(b => SetU16(b, Op(b, 0), 999)), "section Ops, record 0", "unknown op type 999");
        Rejects(Patched(b => SetU16(b, Op(b, 0), 0)), "section Ops, record 0", "unknown op type 0");
    }

    [Test]
    public void ParamsOutOfBounds()
    {
        Rejects(Patched(b => SetI32(b, Op(b, 1) + 28, 96)), "section Ops, record 1", "parameters [96, 128) are misaligned or outside the 96-byte OpParams section");
        Rejects(Patched(b => SetI32(b, Op(b, 1) + 28, 66)), "section Ops, record 1", "misaligned");
        Rejects(Patched(b => SetI32(b, Op(b, 1) + 32, int.MaxValue)), "section Ops, record 1", "outside the 96-byte OpParams section");
        Rejects(Patched(b => SetI32(b, Op(b, 0) + 32, 32)), "section Ops, record 0 (byte 512) (Conv2D)", "parameters are 32 bytes, expected 64");
    }

    [Test]
    public void ScratchOutsideTheArena()
    {
        Rejects(Patched(b => { SetI32(b, Op(b, 0) + 36, 32); SetI32(b, Op(b, 0) + 40, 32); }), "section Ops, record 0", "scratch [32, 64) is misaligned or outside the 48-byte arena");
        Rejects(Patched(b => { SetI32(b, Op(b, 0) + 36, 8); SetI32(b, Op(b, 0) + 40, 8); }), "section Ops, record 0", "scratch [8, 16)");
    }

    [Test]
    public void ScratchOverlappingALiveTensor()
    {
        // Scratch of op 0 over the conv output (arena [32, 44)), which op 0 writes.
        Rejects(Patched(b => { SetI32(b, Op(b, 0) + 36, 32); SetI32(b, Op(b, 0) + 40, 16); }), "section MemoryPlan", "scratch of op 0", "overlaps");
    }

    [Test]
    public void BadArity()
    {
        // Conv2D with its bias slot removed.
        Rejects(Patched(b => { b[Op(b, 0) + 2] = 2; SetI32(b, Op(b, 0) + 12, -1); }), "section Ops, record 0 (byte 512) (Conv2D)", "expects 3 inputs and 1 outputs, has 2 and 1");
    }

    [Test]
    public void ConvOutputShapeMismatch()
    {
        // Stride 1 would make the output [1, 3, 3, 3], not [1, 2, 2, 3].
        Rejects(Patched(b => { SetI32(b, Params(b, 0), 1); SetI32(b, Params(b, 0) + 4, 1); }), "section Ops, record 0 (byte 512) (Conv2D)",
            "output shape [1, 2, 2, 3] does not match", "expected [1, 3, 3, 3]");
    }

    [Test]
    public void OverlappingLiveArenaBuffers()
    {
        // Conv output moved onto the conv input: both live during op 0.
        Rejects(Patched(b => SetI32(b, Tensor(b, 1) + 20, 0)), "section MemoryPlan", "tensor 0 (arena [0, 32), ops -1..0) overlaps tensor 1 (arena [0, 12), ops 0..1)");
        // FC output moved onto the conv output: both live during op 1.
        Rejects(Patched(b => SetI32(b, Tensor(b, 2) + 20, 32)), "section MemoryPlan", "overlaps tensor 2");
    }

    [Test]
    public void ReuseOfDeadBytesIsAccepted()
    {
        // The FC output already shares the input's bytes (the input is dead after op 0).
        var m = Model.Load(Fresh());
        Assert.That((m.Tensors[0].Offset, m.Tensors[2].Offset), Is.EqualTo((0, 0)));
    }

    [Test]
    public void ReadBeforeWritten()
    {
        // Op 0 reads the output of op 1.
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 0);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 2, 1], q);
        int a = w.AddActivation(TensorType.Int8, [1, 2, 2, 1], q);
        int y = w.AddActivation(TensorType.Int8, [1, 2, 2, 1], q);
        var t = new LookupParams { TableOffset = w.AddConstantData<sbyte>(new sbyte[256]) };
        w.AddOp(OpType.Lookup, [a], [y], t);
        w.AddOp(OpType.Lookup, [x], [a], t);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        Rejects(w.Build(), "section Ops, record 0 (Lookup)", "input tensor 1 is read before any op writes it and is not a model input");
    }

    [Test]
    public void OutputNeverWritten()
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 0);
        int x = w.AddActivation(TensorType.Int8, [4], q);
        int y = w.AddActivation(TensorType.Int8, [4], q);
        int z = w.AddActivation(TensorType.Int8, [4], q);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("z", z);
        Rejects(w.Build(), "section IO: output 'z' (tensor 2) is never written");
    }

    [Test]
    public void TensorWrittenTwiceOrConstantWritten()
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 0);
        int x = w.AddActivation(TensorType.Int8, [4], q);
        int y = w.AddActivation(TensorType.Int8, [4], q);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        Rejects(w.Build(), "section Ops, record 1 (Reshape): output tensor 1 is already written by op 0");

        var w2 = new ModelWriter();
        q = w2.AddQuantization([0.1f], 0);
        x = w2.AddActivation(TensorType.Int8, [4], q);
        y = w2.AddActivation(TensorType.Int8, [4], q);
        w2.AddOp(OpType.Reshape, [y], [x]);
        w2.AddInput("x", x);
        w2.AddOutput("y", y);
        Rejects(w2.Build(), "section Ops, record 0 (Reshape)");
    }

    [Test]
    public void ModelInputWrittenByAnOp()
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 0);
        int x = w.AddActivation(TensorType.Int8, [4], q);
        int y = w.AddActivation(TensorType.Int8, [4], q);
        w.AddOp(OpType.Reshape, [y], [x]);
        w.AddInput("x", x);
        w.AddInput("y", y);
        w.AddOutput("x2", x);
        Rejects(w.Build(), "section Ops, record 0 (Reshape): output tensor 0 is already written by the model input");
    }

    [Test]
    public void ErrorMessagesNameTheSectionAndRecord()
    {
        var e = Rejects(Patched(b => b[Tensor(b, 5) + 1] = 7), "section Tensors, record 5 (byte 336)");
        Assert.That(e.Message, Does.Contain("rank 7"));
    }
}
