using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Onnx;

/// <summary>Locates the repository and its model zoo from the test's output directory.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>
    /// The folder holding EdgeQuant.sln, found by walking up from the test directory; when there
    /// is none, the nearest folder containing tests/zoo. Null when neither exists.
    /// </summary>
    public static string? RepoRoot => Root.Value;

    /// <summary>tests/zoo under the repository root (it may not exist).</summary>
    public static string Zoo => Path.Combine(RepoRoot ?? ".", "tests", "zoo");

    /// <summary>tests/zoo/quirks under the repository root (it may not exist).</summary>
    public static string Quirks => Path.Combine(Zoo, "quirks");

    private static string? FindRoot()
    {
        string start = TestContext.CurrentContext.TestDirectory;
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeQuant.sln")))
            {
                return dir.FullName;
            }
        }

        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "tests", "zoo")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
