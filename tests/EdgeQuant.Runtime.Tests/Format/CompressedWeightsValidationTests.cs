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
}
