namespace EdgeQuant.NanoFramework.Tests;

/// <summary>The committed zoo golden files (tests/zoo/eqm, made by the C# converter and runtime).</summary>
internal static class ZooFiles
{
    public static string GoldenDir
    {
        get
        {
            for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d != null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "tests", "zoo", "eqm");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException("tests/zoo/eqm not found above " + TestContext.CurrentContext.TestDirectory);
        }
    }

    public static IEnumerable<string> Names()
    {
        var names = Directory.GetFiles(GoldenDir, "*.eqm").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        if (names.Count < 13) throw new InvalidOperationException($"expected the 3 zoo and 10 quirk golden blobs in {GoldenDir}, found {names.Count}");
        return names!;
    }

    public static byte[] Blob(string name) => File.ReadAllBytes(Path.Combine(GoldenDir, name + ".eqm"));
    public static byte[] Inputs(string name) => File.ReadAllBytes(Path.Combine(GoldenDir, name + ".input.bin"));
    public static byte[] Outputs(string name) => File.ReadAllBytes(Path.Combine(GoldenDir, name + ".output.bin"));
}
