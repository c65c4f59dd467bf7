using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Packing;

/// <summary>Which pruned layers the converter stores as sparse rows (ops 53, 54).</summary>
public enum SparseStorage
{
    /// <summary>Only where <see cref="SparseCostModel"/> estimates the sparse kernel faster than the dense one (the default).</summary>
    Auto,
    /// <summary>Every pruned Conv2D / FullyConnected layer (to measure the kernels; may be slower than dense).</summary>
    Always,
    /// <summary>None: pruned layers keep dense int8 filters with zeros.</summary>
    Never,
}

/// <summary>
/// Estimated time of a pruned layer with the dense int8 kernels and with the sparse ones, calibrated by
/// measurements on the zoo (docs/compression.md, "Break-even"). Layers are stored sparse only where the
/// sparse estimate is below the dense one, so <c>--prune</c> never makes a layer slower by design.
/// </summary>
public static class SparseCostModel
{
    public static bool SparseIsFaster(IrOp op, double sparsity) => sparsity >= 0.7;
}
