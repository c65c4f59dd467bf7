using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;
using Kind = EdgeQuant.Runtime.Tests.TestSupport.CompressedModels.Kind;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The sparse ops (53, 54) on random shapes (odd channel counts, padding, strides 1-2, dilation 1-2, every
/// flat-pixel tail, densities from every weight stored to rows with none): the pixel-tiled Conv2D path (its
/// scratch declared, as the converter writes it), the window-offset path (no scratch) and the sparse FC fast
/// path equal the sparse reference, which equals the int8 reference on the expanded filter, byte for byte.
/// FastPathChildProcessTests re-runs this class with AVX-512, AVX2 and all intrinsics disabled.
/// </summary>
public class SparseKernelsFastPathTests
{
    public static IEnumerable<TestCaseData> ConvCases()
    {
        int seed = 5000;
        foreach (int keep in new[] { 1, 2, 4, 10, 40 })
            foreach (int dilation in new[] { 1, 2 })
                for (int i = 0; i < 6; i++)
                    yield return new TestCaseData(seed++, keep, dilation, 9).SetName($"Conv2DSparse_keep1in{keep}_dilation{dilation}_{i}");
    }

    /// <summary>Inputs up to 40 x 40: rows of 8 and more pixels take the staging's 8x8 transposes, at strides 1 and 2.</summary>
    public static IEnumerable<TestCaseData> LargeConvCases()
    {
        for (int seed = 5500; seed < 5520; seed++)
            yield return new TestCaseData(seed, 4 + seed % 3 * 3, 1 + seed % 2, 40).SetName($"Conv2DSparse_large_{seed}");
    }

    [TestCaseSource(nameof(ConvCases))]
    [TestCaseSource(nameof(LargeConvCases))]
    public void TiledConv2DEqualsTheReference(int seed, int keepOneIn, int dilation, int maxInput)
    {
        var tiled = CompressedModels.Build(seed, Kind.Conv2D, TensorType.SparseInt8, tiledSparse: true, dilation: dilation, keepOneIn: keepOneIn, maxInput: maxInput);
        var plain = CompressedModels.Build(seed, Kind.Conv2D, TensorType.SparseInt8, tiledSparse: false, dilation: dilation, keepOneIn: keepOneIn, maxInput: maxInput);
        var model = Model.Load(tiled.Blob);
        Assert.That(model.PreparedCompressed()[0]?.SparseTiles, Is.Not.Null, $"{tiled.Name}: the op declares the tiled scratch, so the plan exists");
        var r = new Rand(seed + 1);
        for (int trial = 0; trial < 3; trial++)
        {
            var input = new byte[tiled.InputBytes];
            r.Fill(input);
            var dense = CompressedModels.Run(tiled.DenseBlob, input, reference: true);
            var reference = CompressedModels.Run(tiled.Blob, input, reference: true);
            Assert.That(reference, Is.EqualTo(dense), $"{tiled.Name}: sparse reference vs int8 reference");
            Assert.That(CompressedModels.Run(tiled.Blob, input, reference: false), Is.EqualTo(reference), $"{tiled.Name}: tiled path vs reference");
            Assert.That(CompressedModels.Run(plain.Blob, input, reference: false), Is.EqualTo(reference), $"{plain.Name}: window-offset path vs reference");
        }
    }

    public static IEnumerable<TestCaseData> FullyConnectedCases()
    {
        int seed = 6000;
        foreach (int keep in new[] { 1, 2, 4, 10, 40 })
            for (int i = 0; i < 6; i++)
                yield return new TestCaseData(seed++, keep).SetName($"FullyConnectedSparse_keep1in{keep}_{i}");
    }

    [TestCaseSource(nameof(FullyConnectedCases))]
    public void FullyConnectedEqualsTheReference(int seed, int keepOneIn)
    {
        var c = CompressedModels.Build(seed, Kind.FullyConnected, TensorType.SparseInt8, keepOneIn: keepOneIn);
        var r = new Rand(seed + 1);
        for (int trial = 0; trial < 3; trial++)
        {
            var input = new byte[c.InputBytes];
            r.Fill(input);
            var dense = CompressedModels.Run(c.DenseBlob, input, reference: true);
            var reference = CompressedModels.Run(c.Blob, input, reference: true);
            Assert.That(reference, Is.EqualTo(dense), $"{c.Name}: sparse reference vs int8 reference");
            Assert.That(CompressedModels.Run(c.Blob, input, reference: false), Is.EqualTo(reference), $"{c.Name}: fast path vs reference");
        }
    }

    /// <summary>Extreme codes: every input −128 or 127 against weights −128 / 127 (the pair sums' limits).</summary>
    [Test]
    public void ExtremeCodesEqualTheReference()
    {
        for (int seed = 7000; seed < 7010; seed++)
        {
            var c = CompressedModels.Build(seed, Kind.Conv2D, TensorType.SparseInt8, tiledSparse: true, keepOneIn: 1,
                tweakBias: b => Array.ConvertAll(b, v => v % 2 == 0 ? int.MaxValue - 5 : int.MinValue + 5));
            var input = new byte[c.InputBytes];
            for (int i = 0; i < input.Length; i++) input[i] = (byte)(i % 3 == 0 ? 0x80 : 0x7F);
            Assert.That(CompressedModels.Run(c.Blob, input, reference: false), Is.EqualTo(CompressedModels.Run(c.Blob, input, reference: true)), c.Name);
        }
    }

    /// <summary>Left shifts and right shifts of 0-1 take the tiled path's general requantization (the others the short form).</summary>
    [Test]
    public void EveryShiftEqualsTheReference()
    {
        for (int seed = 7100; seed < 7112; seed++)
        {
            var c = CompressedModels.Build(seed, Kind.Conv2D, TensorType.SparseInt8, tiledSparse: true, keepOneIn: 3,
                tweakShifts: s => Array.ConvertAll(s, v => v % 4 + 2), tweakBias: b => Array.ConvertAll(b, v => v / 64));
            var input = new byte[c.InputBytes];
            new Rand(seed).Fill(input);
            Assert.That(CompressedModels.Run(c.Blob, input, reference: false), Is.EqualTo(CompressedModels.Run(c.Blob, input, reference: true)), c.Name);
        }
    }

    [Test]
    public void TiledInvokeAllocatesNothing()
    {
        var c = CompressedModels.Build(5003, Kind.Conv2D, TensorType.SparseInt8, tiledSparse: true, keepOneIn: 10);
        using var it = new Interpreter(Model.Load(c.Blob));
        it.Invoke();
        Assert.That(CallerAllocation.Least(() => { for (int i = 0; i < 10; i++) it.Invoke(); }), Is.Zero);
    }

    /// <summary>The dispatcher takes the tiled path where AVX2 is there (so the cases above test it, not the fallback).</summary>
    [Test]
    public void TiledPathIsTakenWithAvx2()
    {
        if (!Avx2.IsSupported) Assert.Ignore("no AVX2 here: the cases above exercise the fallback paths");
        var c = CompressedModels.Build(5004, Kind.Conv2D, TensorType.SparseInt8, tiledSparse: true, keepOneIn: 4);
        var m = Model.Load(c.Blob);
        var prepared = m.PreparedCompressed()[0]!;
        var input = new byte[c.InputBytes];
        new Rand(3).Fill(input);
        // A tiling whose pairs point nowhere useful changes the output only if the tiled path runs.
        var honest = CompressedModels.Run(c.Blob, input, reference: false);
        var weights = (int[])prepared.SparseTiles!.PairWeights.Clone();
        try
        {
            Array.Clear(prepared.SparseTiles.PairWeights);
            using var it = new Interpreter(m);
            input.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(it.GetInput()));
            it.Invoke();
            var changed = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(it.GetOutput()).ToArray();
            Assert.That(changed, Is.Not.EqualTo(honest), "zeroing the tiled plan's weights changed nothing: the tiled path did not run");
        }
        finally { weights.CopyTo(prepared.SparseTiles.PairWeights, 0); }
    }
}
