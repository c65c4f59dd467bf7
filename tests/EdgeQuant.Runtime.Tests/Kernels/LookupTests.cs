using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>Lookup, and Logistic / Tanh, which are Lookup with a table of the function.</summary>
public class LookupTests
{
    [Test]
    public void IndexesTheTableAtXPlus128()
    {
        var table = new sbyte[256];
        for (int i = 0; i < 256; i++) table[i] = (sbyte)(127 - i); // -1 - x
        var y = new sbyte[4];
        Lookup.EvalS8([-128, -1, 0, 127], y, table);
        Assert.That(y, Is.EqualTo(new sbyte[] { 127, 0, -1, -128 }));
    }

    [Test]
    public void LogisticTableAtZeroIsOneHalf()
    {
        // sigmoid(0) = 0.5 -> 128 at scale 1/256, minus 128.
        var t = ConverterMath.LookupTable(ConverterMath.Sigmoid, 0.1f, 0, 1f / 256, -128);
        Assert.That((t[128], t[0], t[255]), Is.EqualTo(((sbyte)0, (sbyte)-128, (sbyte)127)));
    }

    [Test]
    public void TanhTableIsOddAroundTheZeroPoint()
    {
        var t = ConverterMath.LookupTable(System.Math.Tanh, 0.01f, 0, 1f / 128, 0); // no saturation at this scale
        Assert.That(t[128], Is.EqualTo((sbyte)0));
        for (int x = -127; x < 128; x++)
            Assert.That(t[x + 128], Is.EqualTo((sbyte)-t[-x + 128]), $"x = {x}");
    }

    [TestCase("logistic")]
    [TestCase("tanh")]
    public void RandomInputsMatchTheFloatFunction(string function)
    {
        var r = new Rand(function == "tanh" ? 11001 : 11002);
        Func<double, double> f = function == "tanh" ? System.Math.Tanh : ConverterMath.Sigmoid;
        var (so, zo) = function == "tanh" ? (1f / 128, 0) : (1f / 256, -128);
        for (int i = 0; i < 50; i++)
        {
            float si = r.Scale(0.005, 0.2);
            int zi = r.Int(-100, 100);
            var table = ConverterMath.LookupTable(f, si, zi, so, zo);
            var x = r.S8(500);
            var y = new sbyte[x.Length];
            Lookup.EvalS8(x, y, table);
            var expected = x.Select(v => ConverterMath.Quantize(f((v - zi) * (double)si), so, zo)).ToArray();
            Lsb.AssertWithin(y, expected, 0, $"{function} case {i}");
        }
    }
    /// <summary>
    /// Every length up to 300 (64-byte steps and every tail, below 64 the scalar loop), random tables, separate buffers and
    /// in place (output over input), against output[i] = table[input[i] + 128] element by element.
    /// </summary>
    [Test]
    public void EveryLengthAndInPlaceMatchTheDefinition()
    {
        var r = new Random(4401);
        for (int n = 0; n <= 300; n++)
        {
            var table = new sbyte[256];
            r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(table.AsSpan()));
            var x = new sbyte[n];
            r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
            var expected = new sbyte[n];
            for (int i = 0; i < n; i++) expected[i] = table[x[i] + 128];
            var y = new sbyte[n];
            Lookup.EvalS8(x, y, table);
            Assert.That(y, Is.EqualTo(expected), $"n {n}");
            var inPlace = (sbyte[])x.Clone();
            Lookup.EvalS8(inPlace, inPlace, table);
            Assert.That(inPlace, Is.EqualTo(expected), $"in place, n {n}");
        }
    }
}

