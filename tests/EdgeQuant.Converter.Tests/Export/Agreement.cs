namespace EdgeQuant.Converter.Tests.Export;

/// <summary>
/// Element-wise agreement of int8 outputs: EdgeQuant's codes against onnxruntime's dequantized
/// outputs turned back into codes (y / scale + zero point; exact, since DequantizeLinear's
/// (q - zero point) x scale divides back to an integer).
/// </summary>
internal sealed class Agreement
{
    public int Samples { get; private set; }
    public long Elements { get; private set; }
    public long Differing { get; private set; }
    public int MaxLsb { get; private set; }
    public int Top1Agreeing { get; private set; }

    public double DifferingFraction => Elements == 0 ? 0 : (double)Differing / Elements;

    /// <summary>Adds one sample: <paramref name="edgeQuant"/> codes and <paramref name="ort"/> real values, in the same element order.</summary>
    public void Add(ReadOnlySpan<sbyte> edgeQuant, ReadOnlySpan<float> ort, float scale, int zeroPoint)
    {
        if (edgeQuant.Length != ort.Length) throw new ArgumentException($"{edgeQuant.Length} EdgeQuant values, {ort.Length} onnxruntime values");
        int bestE = 0, bestO = 0;
        for (int i = 0; i < edgeQuant.Length; i++)
        {
            int q = (int)MathF.Round(ort[i] / scale) + zeroPoint;
            int d = Math.Abs(q - edgeQuant[i]);
            if (d > 0) Differing++;
            MaxLsb = Math.Max(MaxLsb, d);
            if (edgeQuant[i] > edgeQuant[bestE]) bestE = i;
            if (ort[i] > ort[bestO]) bestO = i;
        }
        Elements += edgeQuant.Length;
        Samples++;
        if (bestE == bestO) Top1Agreeing++;
    }

    public override string ToString() =>
        $"{Samples} samples, {Elements} elements: max |difference| {MaxLsb} LSB, {Differing} elements differ ({100 * DifferingFraction:F3}%), top-1 agreement {Top1Agreeing}/{Samples}";
}
