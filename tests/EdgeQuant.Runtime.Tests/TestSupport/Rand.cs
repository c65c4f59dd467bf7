namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>Seeded random data for kernel tests; every test fixes its seed so failures reproduce.</summary>
internal sealed class Rand(int seed)
{
    private readonly Random _r = new(seed);

    /// <summary>Uniform integer in [lo, hi] (both inclusive).</summary>
    public int Int(int lo, int hi) => (int)_r.NextInt64(lo, (long)hi + 1);

    public bool Bool() => _r.Next(2) == 0;

    public double Double() => _r.NextDouble();

    /// <summary>Log-uniform positive value in [lo, hi].</summary>
    public float Scale(double lo, double hi) => (float)System.Math.Exp(System.Math.Log(lo) + _r.NextDouble() * (System.Math.Log(hi) - System.Math.Log(lo)));

    public sbyte[] S8(int n, int lo = -128, int hi = 127)
    {
        var a = new sbyte[n];
        for (int i = 0; i < n; i++) a[i] = (sbyte)Int(lo, hi);
        return a;
    }

    public int[] I32(int n, int lo, int hi)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = Int(lo, hi);
        return a;
    }

    public float[] Scales(int n, double lo, double hi)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = Scale(lo, hi);
        return a;
    }

    public void Fill(Span<byte> bytes) => _r.NextBytes(bytes);
}
