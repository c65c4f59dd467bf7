namespace EdgeQuant.Converter.Tests.Pipeline;

internal static class Metrics
{
    /// <summary>Signal-to-quantization-noise ratio of <paramref name="got"/> against <paramref name="want"/>, dB.</summary>
    public static double SqnrDb(float[] want, float[] got)
    {
        double signal = 0, noise = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double d = want[i] - (double)got[i];
            signal += want[i] * (double)want[i];
            noise += d * d;
        }
        return 10 * Math.Log10(signal / Math.Max(noise, 1e-30));
    }
}
