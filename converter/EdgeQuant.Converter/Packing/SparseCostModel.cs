using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Packing;

/// <summary>Which pruned layers the converter stores as sparse rows (ops 53, 54).</summary>
public enum SparseStorage
{
    /// <summary>Only where <see cref="SparseCostModel"/> estimates the sparse kernel clearly faster than the dense one (the default).</summary>
    Auto,
    /// <summary>Every pruned Conv2D / FullyConnected layer (to measure the kernels; may be slower than dense).</summary>
    Always,
    /// <summary>None: pruned layers keep dense int8 filters with zeros.</summary>
    Never,
}

/// <summary>
/// Estimated single-thread time of a pruned layer with the dense int8 kernels and with the sparse ones
/// (x64 AVX2 / AVX-512, the kernels of this repository), calibrated by per-op measurements on the zoo at
/// 50-95% sparsity (docs/compression.md, "Break-even"). The estimate is a deterministic function of the
/// layer's shapes and stored weights, so a conversion is reproducible; a layer is stored sparse only when
/// its sparse estimate is below <see cref="Margin"/> times the dense one, so that the error of the model
/// (±30% on this shared machine) does not turn into a slower layer: <c>--prune F</c> is never slower than
/// dense by design.
/// </summary>
public static class SparseCostModel
{
    /// <summary>Sparse is chosen only below this fraction of the dense estimate.</summary>
    public const double Margin = 0.8;

    // Dense int8 kernels: per multiply-accumulate and per output element (requantization, im2col, stores).
    internal const double DenseNsPerMac = 0.02, DenseNsPerOutput = 0.5;
    // Pixel-tiled sparse Conv2D: per (16-pixel tile, output channel) (requantization, stores), per
    // (tile, pair of stored weights) (two loads, two PMADDWD), per staged input element.
    // Staging is vectorized (8x8 transposes) from 8 input channels on, element by element below.
    internal const double TiledNsPerChannelTile = 8, TiledNsPerPairTile = 1.5, TiledNsPerStagedElement = 0.15, TiledNsPerStagedElementScalar = 0.5;
    // Sparse FullyConnected: per stored weight and per output.
    internal const double FcNsPerStored = 0.5, FcNsPerOutput = 2;
    // Dense FullyConnected: per multiply-accumulate and per output.
    internal const double DenseFcNsPerMac = 0.03, DenseFcNsPerOutput = 1;

    /// <summary>The two estimates for a Conv2D or FullyConnected layer with its quantized weights (nanoseconds per inference).</summary>
    public static (double DenseNs, double SparseNs) Estimate(IrOp op, ReadOnlySpan<sbyte> weights)
    {
        int cout = op.WeightShape[0];
        int row = weights.Length / cout;
        long stored = 0, pairs = 0;
        for (int oc = 0; oc < cout; oc++)
        {
            int n = 0;
            foreach (var v in weights.Slice(oc * row, row)) if (v != 0) n++;
            stored += n;
            pairs += (n + 1) / 2;
        }
        if (op.Type == OpType.FullyConnected)
        {
            long batch = 1;
            for (int i = 0; i < op.Inputs[0].Shape.Length; i++) batch *= op.Inputs[0].Shape[i];
            batch /= row;
            return (batch * ((double)cout * row * DenseFcNsPerMac + cout * DenseFcNsPerOutput),
                    batch * (stored * FcNsPerStored + cout * FcNsPerOutput));
        }
        var inS = op.Inputs[0].Shape;
        var outS = op.Output.Shape;
        long outputs = (long)outS[1] * outS[2] * cout;
        double dense = outS[0] * ((double)outputs * row * DenseNsPerMac + outputs * DenseNsPerOutput);
        // The tiled kernel's geometry (Runtime.Kernels.SparseTiling): flat pixels over rows of RowLength.
        int kh = op.WeightShape[1], kw = op.WeightShape[2];
        int rows = op.StrideH == 1 ? outS[1] + (kh - 1) * op.DilationH : kh * outS[1];
        int rowLength = outS[2] + (kw - 1) * op.DilationW / op.StrideW;
        long tiles = ((long)outS[1] * rowLength + 15) / 16;
        long staged = (long)inS[3] * op.StrideW * rows * rowLength;
        double stagedNs = staged * (inS[3] >= 8 ? TiledNsPerStagedElement : TiledNsPerStagedElementScalar);
        double sparse = outS[0] * (tiles * cout * TiledNsPerChannelTile + tiles * pairs * TiledNsPerPairTile + stagedNs);
        return (dense, sparse);
    }

    /// <summary>True when the layer is estimated clearly faster with the sparse kernel.</summary>
    public static bool SparseIsFaster(IrOp op, ReadOnlySpan<sbyte> weights)
    {
        var (dense, sparse) = Estimate(op, weights);
        return sparse < Margin * dense;
    }
}
