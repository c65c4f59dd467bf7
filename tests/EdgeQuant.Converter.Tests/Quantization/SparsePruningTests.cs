using EdgeQuant.Converter.Packing;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Converter.Tests.Pipeline;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Quantization;

/// <summary>
/// Unstructured pruning stored as sparse rows: the per-layer choice of <see cref="SparseCostModel"/> (--sparse auto),
/// and sparse storage computing exactly the dense model's bytes on the zoo's real shapes, on every kernel path.
/// </summary>
public class SparsePruningTests
{
    private static byte[] Convert(string name, double prune, SparseStorage storage)
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, name + ".onnx"));
        return ModelConverter.Convert(loaded, ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, name + ".calib.npy")),
            new ConvertOptions { Prune = prune, Sparse = storage }).Blob;
    }

    private static List<OpType> Types(byte[] blob) => Model.Load(blob).Ops.Select(o => o.Type).ToList();

    [Test]
    public void AutoChoosesPerLayer()
    {
        // mnist_cnn at 90%: the 3x3x8 convolution (72 weights per output, 7 kept) is estimated faster sparse; the
        // 1-channel stem (9 weights per output) and the batch-1 classifier are not.
        var types = Types(Convert("mnist_cnn", 0.9, SparseStorage.Auto));
        Assert.That(types, Has.Member(OpType.Conv2DSparse), string.Join(", ", types));
        Assert.That(types, Has.Member(OpType.Conv2D));
        Assert.That(types, Has.Member(OpType.FullyConnected).And.No.Member(OpType.FullyConnectedSparse));
        // At 30% no layer is: the dense kernels win.
        Assert.That(Types(Convert("mnist_cnn", 0.3, SparseStorage.Auto)), Has.No.Member(OpType.Conv2DSparse).And.No.Member(OpType.FullyConnectedSparse));
        Assert.That(Types(Convert("mnist_cnn", 0.9, SparseStorage.Never)), Has.No.Member(OpType.Conv2DSparse));
        Assert.That(Types(Convert("mnist_cnn", 0.9, SparseStorage.Always)), Has.Member(OpType.FullyConnectedSparse).And.No.Member(OpType.Conv2D));
    }

    [TestCase("mnist_cnn", 0.9)]
    [TestCase("fashion_resnet", 0.8)]
    public void SparseStorageComputesTheDenseBytesOnEveryPath(string name, double prune)
    {
        var dense = Model.Load(Convert(name, prune, SparseStorage.Never));
        var sparse = Model.Load(Convert(name, prune, SparseStorage.Always));
        Assert.That(sparse.Ops.Count(o => o.Type == OpType.Conv2DSparse), Is.GreaterThan(0));
        using var d = new Interpreter(dense);
        using var s = new Interpreter(sparse);
        using var reference = new Interpreter(sparse, new InterpreterOptions { ReferenceKernelsOnly = true });
        var r = new Random(11);
        for (int trial = 0; trial < 4; trial++)
        {
            var input = new byte[d.GetInput().Length];
            r.NextBytes(input);
            foreach (var it in new[] { d, s, reference })
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(input).CopyTo(it.GetInput());
                it.Invoke();
            }
            var expected = d.GetOutput().ToArray();
            Assert.That(s.GetOutput().ToArray(), Is.EqualTo(expected), $"{name}: sparse (fast paths) vs dense");
            Assert.That(reference.GetOutput().ToArray(), Is.EqualTo(expected), $"{name}: sparse (reference kernels) vs dense");
        }
    }
}
