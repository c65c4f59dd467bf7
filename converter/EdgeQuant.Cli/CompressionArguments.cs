using System.Globalization;
using EdgeQuant.Converter.Packing;
using EdgeQuant.Converter.Quantization;

namespace EdgeQuant.Cli;

/// <summary>The compression options of <c>convert</c>: --weights, --rounding, --prune SPARSITY [--structured].</summary>
public sealed record CompressionArguments(WeightEncoding Weights, RoundingMode Rounding, double Prune, double PruneChannels,
    SparseStorage Sparse = SparseStorage.Auto)
{
    /// <summary>True when any option differs from the default (int8, nearest, no pruning).</summary>
    public bool IsActive => Weights != WeightEncoding.Int8 || Rounding != RoundingMode.Nearest || Prune > 0 || PruneChannels > 0;

    public static CompressionArguments Parse(Args a)
    {
        var weights = (a.Get("--weights") ?? "int8") switch
        {
            "int8" => WeightEncoding.Int8,
            "int4" => WeightEncoding.Int4,
            "codebook4" => WeightEncoding.Codebook4,
            "codebook8" => WeightEncoding.Codebook8,
            var v => throw new UsageException($"--weights {v}: expected int8, int4, codebook4 or codebook8"),
        };
        var rounding = (a.Get("--rounding") ?? "nearest") switch
        {
            "nearest" => RoundingMode.Nearest,
            "adaptive" => RoundingMode.Adaptive,
            var v => throw new UsageException($"--rounding {v}: expected nearest or adaptive"),
        };
        double prune = 0;
        if (a.Get("--prune") is { } p)
        {
            if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out prune) || !(prune >= 0 && prune < 1))
                throw new UsageException($"--prune {p}: expected a fraction in [0, 1), e.g. 0.5 for 50%");
        }
        else if (a.Has("--structured")) throw new UsageException("--structured needs --prune FRACTION (the fraction of channels to remove)");
        bool structured = a.Has("--structured");
        var sparse = (a.Get("--sparse") ?? "auto") switch
        {
            "auto" => SparseStorage.Auto,
            "always" => SparseStorage.Always,
            "never" => SparseStorage.Never,
            var v => throw new UsageException($"--sparse {v}: expected auto, always or never"),
        };
        if (a.Get("--sparse") is not null && (prune == 0 || structured))
            throw new UsageException("--sparse applies to unstructured pruning: it needs --prune FRACTION without --structured");
        return new CompressionArguments(weights, rounding, structured ? 0 : prune, structured ? prune : 0, sparse);
    }
}
