using System.Text;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Format;

public class Crc32Tests
{
    [TestCase("", 0x00000000u)]
    [TestCase("a", 0xE8B7BE43u)]
    [TestCase("abc", 0x352441C2u)]
    [TestCase("123456789", 0xCBF43926u)]
    [TestCase("The quick brown fox jumps over the lazy dog", 0x414FA339u)]
    public void KnownCheckValues(string text, uint expected)
    {
        Assert.That(Crc32.Compute(Encoding.ASCII.GetBytes(text)), Is.EqualTo(expected));
    }

    [Test]
    public void SlicedImplementationMatchesBitwiseDefinitionForEveryTailLength()
    {
        var r = new Rand(7);
        var data = new byte[300];
        r.Fill(data);
        for (int start = 0; start < 4; start++)
            for (int len = 0; len + start <= 80; len++)
            {
                var s = data.AsSpan(start, len);
                Assert.That(Crc32.Compute(s), Is.EqualTo(Bitwise(s)), $"start {start}, length {len}");
            }
        Assert.That(Crc32.Compute(data), Is.EqualTo(Bitwise(data)));
    }

    [Test]
    public void AllZeroAndAllOnesBlocks()
    {
        Assert.That(Crc32.Compute(new byte[32]), Is.EqualTo(0x190A55ADu));
        var ones = new byte[32];
        Array.Fill(ones, (byte)0xFF);
        Assert.That(Crc32.Compute(ones), Is.EqualTo(0xFF6CAB0Bu));
    }

    /// <summary>CRC-32/ISO-HDLC one bit at a time: reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF.</summary>
    private static uint Bitwise(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
