using System.Runtime.CompilerServices;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Tests.Format;

/// <summary>Pins every fixed record size of the .eqm format (docs/format.md); changing one is a format change.</summary>
public class RecordSizesTests
{
    [Test]
    public void ParamsRecordSizesEqualTheirStructs()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<Conv2DParams>(), Is.EqualTo(RecordSizes.Conv2DParams));
            Assert.That(Unsafe.SizeOf<FullyConnectedParams>(), Is.EqualTo(RecordSizes.FullyConnectedParams));
            Assert.That(Unsafe.SizeOf<ElementwiseParams>(), Is.EqualTo(RecordSizes.ElementwiseParams));
            Assert.That(Unsafe.SizeOf<PoolParams>(), Is.EqualTo(RecordSizes.PoolParams));
            Assert.That(Unsafe.SizeOf<MeanParams>(), Is.EqualTo(RecordSizes.MeanParams));
            Assert.That(Unsafe.SizeOf<ConcatParams>(), Is.EqualTo(RecordSizes.ConcatParams));
            Assert.That(Unsafe.SizeOf<PadParams>(), Is.EqualTo(RecordSizes.PadParams));
            Assert.That(Unsafe.SizeOf<TransposeParams>(), Is.EqualTo(RecordSizes.TransposeParams));
            Assert.That(Unsafe.SizeOf<SoftmaxParams>(), Is.EqualTo(RecordSizes.SoftmaxParams));
            Assert.That(Unsafe.SizeOf<LookupParams>(), Is.EqualTo(RecordSizes.LookupParams));
            Assert.That(Unsafe.SizeOf<QuantizeParams>(), Is.EqualTo(RecordSizes.QuantizeParams));
            Assert.That(Unsafe.SizeOf<IndexSelectParams>(), Is.EqualTo(RecordSizes.IndexSelectParams));
            Assert.That(Unsafe.SizeOf<BatchMatMulParams>(), Is.EqualTo(RecordSizes.BatchMatMulParams));
            Assert.That(Unsafe.SizeOf<ArgMaxParams>(), Is.EqualTo(RecordSizes.ArgMaxParams));
            Assert.That(RecordSizes.ArgMaxParams, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<RecurrentParams>(), Is.EqualTo(RecordSizes.RecurrentParams));
            Assert.That(RecordSizes.RecurrentParams, Is.EqualTo(64));
            Assert.That(Unsafe.SizeOf<RecurrentPackedParams>(), Is.EqualTo(RecordSizes.RecurrentPackedParams));
            Assert.That(RecordSizes.RecurrentPackedParams, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<DynamicConvParams>(), Is.EqualTo(RecordSizes.DynamicConvParams));
            Assert.That(Unsafe.SizeOf<FloatClampParams>(), Is.EqualTo(RecordSizes.FloatClampParams));
            Assert.That(RecordSizes.DynamicConvParams, Is.EqualTo(48));
            Assert.That(RecordSizes.FloatClampParams, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<Conv2DPackedParams>(), Is.EqualTo(RecordSizes.Conv2DPackedParams));
            Assert.That(Unsafe.SizeOf<FullyConnectedPackedParams>(), Is.EqualTo(RecordSizes.FullyConnectedPackedParams));
            Assert.That(RecordSizes.Conv2DPackedParams, Is.EqualTo(32));
            Assert.That(RecordSizes.FullyConnectedPackedParams, Is.EqualTo(16));
        });
    }

    [Test]
    public void PinnedValues()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ModelFormat.HeaderSizeInBytes, Is.EqualTo(32));
            Assert.That(ModelFormat.SectionEntrySizeInBytes, Is.EqualTo(16));
            Assert.That(ModelFormat.Alignment, Is.EqualTo(16));
            Assert.That(ModelFormat.CrcStart, Is.EqualTo(16));
            Assert.That(RecordSizes.Tensor, Is.EqualTo(32));
            Assert.That(RecordSizes.Quantization, Is.EqualTo(16));
            Assert.That(RecordSizes.Op, Is.EqualTo(48));
            Assert.That(RecordSizes.Io, Is.EqualTo(16));
            Assert.That(RecordSizes.Metadata, Is.EqualTo(16));
            Assert.That(RecordSizes.MemoryPlan, Is.EqualTo(16));
            Assert.That(RecordSizes.Conv2DParams, Is.EqualTo(64));
            Assert.That(RecordSizes.FullyConnectedParams, Is.EqualTo(32));
            Assert.That(RecordSizes.ElementwiseParams, Is.EqualTo(48));
            Assert.That(RecordSizes.PoolParams, Is.EqualTo(48));
            Assert.That(RecordSizes.MeanParams, Is.EqualTo(16));
            Assert.That(RecordSizes.ConcatParams, Is.EqualTo(64));
            Assert.That(RecordSizes.PadParams, Is.EqualTo(48));
            Assert.That(RecordSizes.TransposeParams, Is.EqualTo(16));
            Assert.That(RecordSizes.SoftmaxParams, Is.EqualTo(16));
            Assert.That(RecordSizes.LookupParams, Is.EqualTo(16));
            Assert.That(RecordSizes.QuantizeParams, Is.EqualTo(16));
            Assert.That(RecordSizes.IndexSelectParams, Is.EqualTo(32));
            Assert.That(RecordSizes.BatchMatMulParams, Is.EqualTo(32));
            Assert.That(RecordSizes.RequantizeParams, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<RequantizeParams>(), Is.EqualTo(RecordSizes.RequantizeParams));
        });
    }

    [Test]
    public void EveryRecordSizeIsAMultipleOfFour()
    {
        // Parameter records are packed back to back in OpParams and read at 4-byte aligned offsets.
        foreach (var f in typeof(RecordSizes).GetFields())
            Assert.That((int)f.GetValue(null)! % 4, Is.Zero, f.Name);
    }

    [Test]
    public void MagicSpellsEqmb()
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, ModelFormat.Magic);
        Assert.That(System.Text.Encoding.ASCII.GetString(b), Is.EqualTo("EQMB"));
    }

    [Test]
    public void EnumValuesArePinned()
    {
        // Values are never reused; this list only ever grows.
        Assert.Multiple(() =>
        {
            Assert.That((uint)SectionKind.Tensors, Is.EqualTo(1));
            Assert.That((uint)SectionKind.Quantization, Is.EqualTo(2));
            Assert.That((uint)SectionKind.Ops, Is.EqualTo(3));
            Assert.That((uint)SectionKind.OpParams, Is.EqualTo(4));
            Assert.That((uint)SectionKind.ConstantData, Is.EqualTo(5));
            Assert.That((uint)SectionKind.MemoryPlan, Is.EqualTo(6));
            Assert.That((uint)SectionKind.IO, Is.EqualTo(7));
            Assert.That((uint)SectionKind.Strings, Is.EqualTo(8));
            Assert.That((uint)SectionKind.Metadata, Is.EqualTo(9));
            Assert.That((byte)TensorType.Int8, Is.EqualTo(1));
            Assert.That((byte)TensorType.Int32, Is.EqualTo(2));
            Assert.That((byte)TensorType.Float32, Is.EqualTo(3));
            Assert.That((byte)TensorType.Int4, Is.EqualTo(10));
            Assert.That((byte)TensorType.Index4, Is.EqualTo(11));
            Assert.That((byte)TensorType.Index8, Is.EqualTo(12));
            Assert.That((byte)TensorType.SparseInt8, Is.EqualTo(13));
            Assert.That((byte)TensorType.Int16, Is.EqualTo(4));
            Assert.That((byte)TensorType.Int64, Is.EqualTo(18));
            Assert.That((byte)TensorStorage.Arena, Is.EqualTo(0));
            Assert.That((byte)TensorStorage.Constant, Is.EqualTo(1));
            Assert.That((byte)SourceLayout.AsIs, Is.EqualTo(0));
            Assert.That((byte)SourceLayout.Nchw, Is.EqualTo(1));
            string[] ops = ["Conv2D", "DepthwiseConv2D", "FullyConnected", "Add", "Mul", "MaxPool2D", "AveragePool2D", "Mean",
                "Concatenation", "Pad", "Reshape", "Softmax", "Logistic", "Tanh", "Quantize", "Dequantize", "Transpose", "Sub", "Lookup",
                "IndexSelect", "BatchMatMul", "ArgMax", "Lstm", "Gru", "LstmPacked", "GruPacked"];
            for (int i = 0; i < ops.Length; i++)
                Assert.That((int)Enum.Parse<OpType>(ops[i]), Is.EqualTo(i + 1), ops[i]);
            // Dynamic quantization (docs/format.md section 6.1): 40 onwards.
            string[] dynamicOps = ["DynamicConv2D", "DynamicDepthwiseConv2D", "DynamicFullyConnected", "MaxPool2DF32", "MeanF32", "AddF32", "TransposeF32"];
            for (int i = 0; i < dynamicOps.Length; i++)
                Assert.That((int)Enum.Parse<OpType>(dynamicOps[i]), Is.EqualTo(40 + i), dynamicOps[i]);
            // 50-59: compressed weights (docs/format.md 5.10, 5.11, 5.12).
            string[] compressed = ["Conv2DCompressed", "DepthwiseConv2DCompressed", "FullyConnectedCompressed", "Conv2DSparse", "FullyConnectedSparse",
                "Conv2DCompressedPacked", "DepthwiseConv2DCompressedPacked", "FullyConnectedCompressedPacked"];
            for (int i = 0; i < compressed.Length; i++)
                Assert.That((int)Enum.Parse<OpType>(compressed[i]), Is.EqualTo(50 + i), compressed[i]);
            // 60-79: mixed precision (docs/format.md 6.4); 69 is unassigned.
            string[] mixed = ["Conv2DS16", "DepthwiseConv2DS16", "FullyConnectedS16", "AddS16", "MaxPool2DS16", "MeanS16", "Conv2DF32", "DepthwiseConv2DF32", "FullyConnectedF32"];
            for (int i = 0; i < mixed.Length; i++)
                Assert.That((int)Enum.Parse<OpType>(mixed[i]), Is.EqualTo(60 + i), mixed[i]);
            string[] boundary = ["QuantizeS16", "DequantizeS16", "Requantize"];
            for (int i = 0; i < boundary.Length; i++)
                Assert.That((int)Enum.Parse<OpType>(boundary[i]), Is.EqualTo(70 + i), boundary[i]);
            Assert.That(Enum.GetValues<OpType>(), Has.Length.EqualTo(ops.Length + dynamicOps.Length + compressed.Length + mixed.Length + boundary.Length));
        });
    }
}
