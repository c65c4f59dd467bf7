namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>The committed zoo blobs (tests/zoo/eqm, copied beside the test assembly), each with its input and output tensors.</summary>
internal static class ZooBlobs
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "zoo", "eqm");

    /// <summary>
    /// The blobs' names in ordinal order. The zoo has its models and at least 10 exporter-quirk models: fewer than 13 means
    /// the copy is broken, which fails the test source rather than running nothing.
    /// </summary>
    public static IEnumerable<string> Names()
    {
        var blobs = Directory.Exists(Dir) ? Directory.GetFiles(Dir, "*.eqm") : [];
        if (blobs.Length < 13)
            throw new InvalidOperationException($"expected at least 13 zoo blobs in {Dir} (copied from tests/zoo/eqm), found {blobs.Length}");
        return blobs.Order(StringComparer.Ordinal).Select(Path.GetFileNameWithoutExtension)!;
    }
}
