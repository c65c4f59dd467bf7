using System.Runtime.InteropServices;
using System.Text;

namespace EdgeQuant.Runtime.Tests.TestSupport;

public class Sha256Tests
{
    /// <summary>FIPS 180-4's examples (one and two blocks), the empty message and a million 'a's.</summary>
    [TestCase("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [TestCase("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [TestCase("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void KnownAnswers(string message, string digest) => Assert.That(Sha256.HexOf(Encoding.ASCII.GetBytes(message)), Is.EqualTo(digest));

    [Test]
    public void MillionAs() => Assert.That(Sha256.HexOf(Enumerable.Repeat((byte)'a', 1_000_000).ToArray()),
        Is.EqualTo("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));

    /// <summary>Every length across the padding boundaries, against .NET's (OpenSSL's) SHA-256.</summary>
    [Test]
    public void AgreesWithTheSystemImplementation()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Assert.Ignore("the system SHA-256 needs OpenSSL, which the emulated arm64 sysroot lacks (the process would abort)");
        var r = new Random(5);
        for (int n = 0; n <= 200; n++)
        {
            var data = new byte[n];
            r.NextBytes(data);
            Assert.That(Sha256.HexOf(data), Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data))), $"length {n}");
        }
    }
}
