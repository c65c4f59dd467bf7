using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Format;

/// <summary>The reader's rules for compressed and sparse filters (docs/format.md 5.10, 5.11): each violation is named.</summary>
public class CompressedWeightsValidationTests
{
    /// <summary>A FullyConnected op 52/54 over a [4, 6] filter given as encoded bytes (and an optional codebook).</summary>
    private static byte[] Fc(OpType op, TensorType enc, byte[] filter, sbyte[]? codebook = null, int[]? codebookDims = null, int[]? filterDims = null)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [1, 6], w.AddQuantization([0.1f], 0));
        int y = w.AddActivation(TensorType.Int8, [1, 4], w.AddQuantization([0.1f], 0));
        int f = EncodedUnchecked(w, enc, filterDims ?? [4, 6], filter, w.AddQuantization([0.01f, 0.01f, 0.01f, 0.01f], 0, 0));
        int b = w.AddConstant<int>(TensorType.Int32, [4], new int[4], -1);
        var ins = new List<int> { x, f, b };
        if (codebook is not null) ins.Add(w.AddConstant<sbyte>(TensorType.Int8, codebookDims!, codebook, w.AddQuantization([1f], 0)));
        w.AddOp(op, ins.ToArray(), [y], new FullyConnectedParams
        {
            ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1,
            MultipliersOffset = w.AddConstantData<int>([1 << 30, 1 << 30, 1 << 30, 1 << 30]), ShiftsOffset = w.AddConstantData<int>(new int[4]),
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w.Build();
    }

    /// <summary>Writes the bytes whatever their length, as a hostile writer would (for 4-bit types the length must still match the record's rule to get past it).</summary>
    private static int EncodedUnchecked(ModelWriter w, TensorType enc, int[] dims, byte[] bytes, int q)
        => enc == TensorType.Int8 ? w.AddConstant<byte>(TensorType.Int8, dims, bytes, q) : w.AddConstantEncoded(enc, dims, bytes, q);

    private static byte[] Sparse(params int[][] rows)
    {
        var values = rows.SelectMany(r => r).ToArray();
        return CompressedModels.Sparse(values, rows.Length);
    }

    private static string Error(byte[] blob) => Assert.Throws<InvalidModelException>(() => Model.Load(blob))!.Message;

    [Test]
    public void ValidBlobsOfEveryEncodingLoad()
    {
        Assert.DoesNotThrow(() => Model.Load(Fc(OpType.FullyConnectedCompressed, TensorType.Int4, new byte[12])));
        Assert.DoesNotThrow(() => Model.Load(Fc(OpType.FullyConnectedCompressed, TensorType.Index4, new byte[12], new sbyte[16], [1, 16])));
        Assert.DoesNotThrow(() => Model.Load(Fc(OpType.FullyConnectedCompressed, TensorType.Index8, new byte[24], new sbyte[512], [2, 256])));
        Assert.DoesNotThrow(() => Model.Load(Fc(OpType.FullyConnectedSparse, TensorType.SparseInt8, Sparse([0, 1, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3], [0, 0, -4, 0, 0, 0]))));
    }

    [Test]
    public void CodebookMustMatchTheIndexWidthAndDivideTheChannels()
    {
        Assert.That(Error(Fc(OpType.FullyConnectedCompressed, TensorType.Index4, new byte[12], new sbyte[32], [1, 32])), Does.Contain("codebook").And.Contain("[G, 16]"));
        Assert.That(Error(Fc(OpType.FullyConnectedCompressed, TensorType.Index8, new byte[24], new sbyte[768], [3, 256])), Does.Contain("codebook groups 3 do not divide the 4 output channels"));
        Assert.That(Error(Fc(OpType.FullyConnectedCompressed, TensorType.Index4, new byte[12])), Does.Contain("expects 4 inputs"));
        Assert.That(Error(Fc(OpType.FullyConnectedCompressed, TensorType.Int4, new byte[12], new sbyte[16], [1, 16])), Does.Contain("expects 3 inputs"));
    }

    /// <summary>
    /// A hostile record with too few inputs (or extra outputs) for ops 50-54 is refused by name
    /// before any input is read (it once reached an index of -1 and threw ArgumentOutOfRangeException).
    /// </summary>
    [TestCase(OpType.Conv2DCompressed, 2, 1)]
    [TestCase(OpType.DepthwiseConv2DCompressed, 1, 1)]
    [TestCase(OpType.FullyConnectedCompressed, 2, 1)]
    [TestCase(OpType.Conv2DSparse, 0, 1)]
    [TestCase(OpType.FullyConnectedSparse, 3, 2)]
    public void TooFewInputsOrExtraOutputsAreRefusedByName(OpType op, int inputs, int outputs)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [1, 6], w.AddQuantization([0.1f], 0));
        int y = w.AddActivation(TensorType.Int8, [1, 4], w.AddQuantization([0.1f], 0));
        int y2 = w.AddActivation(TensorType.Int8, [1, 4], w.AddQuantization([0.1f], 0));
        int f = w.AddConstantEncoded(TensorType.Int4, [4, 6], new byte[12], w.AddQuantization([0.01f, 0.01f, 0.01f, 0.01f], 0, 0));
        int b = w.AddConstant<int>(TensorType.Int32, [4], new int[4], -1);
        int[] all = [x, f, b];
        w.AddOp(op, all.Take(inputs).ToArray(), outputs == 1 ? [y] : [y, y2], new FullyConnectedParams
        {
            ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1,
            MultipliersOffset = w.AddConstantData<int>([1 << 30, 1 << 30, 1 << 30, 1 << 30]), ShiftsOffset = w.AddConstantData<int>(new int[4]),
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        Assert.That(Error(w.Build()), Does.Contain($"expects 3 or 4 inputs and 1 output, has {inputs} and {outputs}"));
    }

    [Test]
    public void EncodingsAndOpsMustAgree()
    {
        Assert.That(Error(Fc(OpType.FullyConnected, TensorType.Int4, new byte[12])), Does.Contain("filter must be a constant [Cout, Cin] int8 tensor"));
        Assert.That(Error(Fc(OpType.FullyConnectedCompressed, TensorType.Int8, new byte[24])), Does.Contain("must be Int4, Index4 or Index8"));
        Assert.That(Error(Fc(OpType.FullyConnectedSparse, TensorType.Int4, new byte[12])), Does.Contain("must be SparseInt8"));
    }

    [Test]
    public void SparseRowsAreCheckedAgainstTheirContent()
    {
        var good = Sparse([0, 1, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0], [3, 3, 3, 3, 3, 3], [0, 0, -4, 0, 0, 0]);
        var b = (byte[])good.Clone();
        BitConverter.TryWriteBytes(b.AsSpan(8), 1); // row start 2 below row start 1 (2)
        Assert.That(Error(Fc(OpType.FullyConnectedSparse, TensorType.SparseInt8, b)), Does.Contain("sparse row start 2 is 1"));
        b = (byte[])good.Clone();
        BitConverter.TryWriteBytes(b.AsSpan(20 + 2), (ushort)1); // row 0: columns 1, 1
        Assert.That(Error(Fc(OpType.FullyConnectedSparse, TensorType.SparseInt8, b)), Does.Contain("sparse row 0, value 1: column 1"));
        b = (byte[])good.Clone();
        BitConverter.TryWriteBytes(b.AsSpan(20), (ushort)6); // column past the row
        Assert.That(Error(Fc(OpType.FullyConnectedSparse, TensorType.SparseInt8, b)), Does.Contain("column 6"));
        Assert.That(Error(Fc(OpType.FullyConnectedSparse, TensorType.SparseInt8, good.Concat(new byte[4]).ToArray())), Does.Contain("the record says"));
        Assert.That(Error(Fc(OpType.FullyConnectedSparse, TensorType.SparseInt8, new byte[8])), Does.Contain("cannot hold the 5 row starts"));
    }

    [Test]
    public void PackedLengthsFollowTheRowRule()
    {
        // [4, 5]: rows of 5 nibbles take 3 bytes each.
        Assert.That(TensorInfo.ByteLengthOf(TensorType.Int4, new Shape4(4, 5, 1, 1)), Is.EqualTo(12));
        Assert.That(TensorInfo.ByteLengthOf(TensorType.Index4, new Shape4(1, 3, 3, 7)), Is.EqualTo(32));
        Assert.That(TensorInfo.ByteLengthOf(TensorType.Index8, new Shape4(4, 5, 1, 1)), Is.EqualTo(20));
        Assert.That(CompressedWeights.SparseBytes(4, 3), Is.EqualTo(20 + 8 + 3));
        Assert.Throws<ArgumentException>(() => new ModelWriter().AddConstantEncoded(TensorType.Int4, [4, 5], new byte[10], -1));
    }

    /// <summary>
    /// A FullyConnected op 57 over an int4 [4, 6] filter: <paramref name="record"/> replaces the packed
    /// per-channel record (default: int16 biases 1..4, multipliers 2^15, shifts 0), stored at 4-byte alignment.
    /// </summary>
    private static byte[] PackedFc(byte[]? record = null, int biasBytes = 2, int extraInputs = 0, int recordOffsetDelta = 0, TensorType filterType = TensorType.Int4)
    {
        var w = new ModelWriter { SmallDataAlignment = 4 };
        int x = w.AddActivation(TensorType.Int8, [1, 6], w.AddQuantization([0.1f], 0));
        int y = w.AddActivation(TensorType.Int8, [1, 4], w.AddQuantization([0.1f], 0));
        int f = w.AddConstantEncoded(filterType, [4, 6], new byte[12], -1);
        var ins = new List<int> { x, f };
        for (int i = 0; i < extraInputs; i++) ins.Add(w.AddConstant<sbyte>(TensorType.Int8, [1, 16], new sbyte[16], w.AddQuantization([1f], 0)));
        record ??= PackedRequant.Encode([1, 2, 3, 4], [1 << 30, 1 << 30, 1 << 30, 1 << 30], [0, 0, 0, 0], biasBytes);
        int off = w.AddSmallConstantData(record);
        w.AddOp(OpType.FullyConnectedCompressedPacked, ins.ToArray(), [y], new FullyConnectedPackedParams
        {
            ActivationMin = -128, ActivationMax = 127, RequantOffset = off + recordOffsetDelta, BiasBytes = (byte)biasBytes,
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w.Build();
    }

    [Test]
    public void PackedRecordsLoadAndExpandToTheirValues()
    {
        var m = Model.Load(PackedFc(PackedRequant.Encode([-5, 70000, 3, -70000], [1 << 30, 0x7FFF8000, 1 << 30, 0], [-31, 30, 0, -1], 4), biasBytes: 4));
        var r = m.PreparedPackedRequant()[0]!;
        Assert.Multiple(() =>
        {
            Assert.That(r.Bias, Is.EqualTo(new[] { -5, 70000, 3, -70000 }));
            Assert.That(r.Multipliers, Is.EqualTo(new[] { 1 << 30, 0x7FFF8000, 1 << 30, 0 }));
            Assert.That(r.Shifts, Is.EqualTo(new[] { -31, 30, 0, -1 }));
            Assert.DoesNotThrow(() => Model.Load(PackedFc()));
            Assert.DoesNotThrow(() => Model.Load(PackedFc(filterType: TensorType.Index4, extraInputs: 1)));
        });
    }

    [Test]
    public void PackedRecordRulesAreNamed()
    {
        var badShift = PackedRequant.Encode([1, 2, 3, 4], [1 << 30, 1 << 30, 1 << 30, 1 << 30], [0, 0, 0, 0], 2);
        badShift[(2 + 2) * 4 + 2] = unchecked((byte)(sbyte)-32);
        Assert.Multiple(() =>
        {
            Assert.That(Error(PackedFc(biasBytes: 3, record: new byte[24])), Does.Contain("packed bias width 3 must be 2 or 4 bytes"));
            Assert.That(Error(PackedFc(badShift)), Does.Contain("packed record, channel 2: shift -32 is outside [-31, 30]"));
            Assert.That(Error(PackedFc(recordOffsetDelta: 2)), Does.Contain("packed per-channel record").And.Contain("misaligned or outside"));
            Assert.That(Error(PackedFc(recordOffsetDelta: 1 << 20)), Does.Contain("packed per-channel record"));
            Assert.That(Error(PackedFc(extraInputs: 1)), Does.Contain("expects 2 inputs"));
            Assert.That(Error(PackedFc(filterType: TensorType.Index4)), Does.Contain("expects 3 inputs"));
            Assert.That(Error(PackedFc(extraInputs: 2)), Does.Contain("expects 2 or 3 inputs and 1 output, has 4 and 1"));
        });
    }

    [Test]
    public void PackedMultipliersRoundToSixteenBits()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PackedRequant.Round16(1 << 30, 3), Is.EqualTo((1 << 30, 3)));
            Assert.That(PackedRequant.Round16((1 << 30) + (1 << 14), 3), Is.EqualTo(((1 << 30) + (1 << 15), 3)), "half rounds away from zero");
            Assert.That(PackedRequant.Round16((1 << 30) + (1 << 14) - 1, 3), Is.EqualTo((1 << 30, 3)));
            Assert.That(PackedRequant.Round16(int.MaxValue, 3), Is.EqualTo((1 << 30, 4)), "a mantissa rounding up to 2^16 moves to the next shift");
            Assert.That(PackedRequant.Round16(int.MaxValue, 30), Is.EqualTo((0x7FFF8000, 30)), "no shift above 30");
            Assert.That(PackedRequant.Round16(0, -5), Is.EqualTo((0, -5)));
            Assert.That(PackedRequant.BiasBytesFor([short.MinValue, short.MaxValue]), Is.EqualTo(2));
            Assert.That(PackedRequant.BiasBytesFor([short.MaxValue + 1]), Is.EqualTo(4));
        });
    }
}
