using EdgeQuant.Firmware.Golden;

// Usage: dotnet run --project firmware/tests/golden -c Release -- [OUTPUT_DIR] [ZOO_EQM_DIR]
// Writes OUTPUT_DIR/vectors.bin (one-op cases with the C# reference kernels' outputs) and
// OUTPUT_DIR/mutations.bin (mutated blobs with the C# reader's verdicts). Fixed seeds: the same
// runtime produces the same bytes.
if (args.Length == 2 && args[0] == "--refusals")
{
    // Valid blobs the C runtime must refuse with a named status (not committed; tools/firmware-host/check.sh).
    Directory.CreateDirectory(args[1]);
    foreach (var (file, blob, status) in Refusals.All())
    {
        File.WriteAllBytes(Path.Combine(args[1], file), blob);
        Console.WriteLine($"{file} {status}");
    }
    return;
}
if (args.Length == 2 && args[0] == "--int16-io")
{
    // An int16-in, int16-out model with float samples and the C# SetInput / GetOutput floats (not committed;
    // tools/firmware-host/check.sh runs eq_run --float-in --float-out on them).
    Directory.CreateDirectory(args[1]);
    var (blob, inputs, outputs) = MixedCases.Int16FloatIo(seed: 16);
    File.WriteAllBytes(Path.Combine(args[1], "int16_io.eqm"), blob);
    File.WriteAllBytes(Path.Combine(args[1], "int16_io.input.f32"), inputs);
    File.WriteAllBytes(Path.Combine(args[1], "int16_io.output.f32"), outputs);
    return;
}
if (args.Length == 2 && args[0] == "--big")
{
    // A large synthetic model for timing the C reader (not committed): a chain of Lookup, Add and Reshape ops.
    File.WriteAllBytes(args[1], Cases.Big(400));
    return;
}
// This folder (bin/Release/net10.0/ -> ../../../): the default output and where the committed converted blobs are.
string sourceDir = Path.GetDirectoryName(typeof(Cases).Assembly.Location) is { } d ? Path.GetFullPath(Path.Combine(d, "../../../")) : ".";
string outDir = args.Length > 0 ? args[0] : sourceDir;
string zooDir = args.Length > 1 ? args[1] : Path.Combine(outDir, "../../../tests/zoo/eqm");

var cases = Cases.All(seed: 20261203);
// Whole zoo models converted with compressed weights (committed beside this program; see README.md),
// on their first 3 committed test samples.
// Mixed precision (ops 60-72): fashion_mobilenet and mnist_cnn converted with a --precision assignment (README.md).
// Sparse rows (ops 53-54): mnist_cnn pruned by half and stored sparse (README.md).
foreach (var (file, zooName) in new[] { ("fashion_mobilenet.int4.eqm", "fashion_mobilenet"), ("fashion_mobilenet.mixed.eqm", "fashion_mobilenet"), ("mnist_cnn.mixed.eqm", "mnist_cnn"), ("mnist_cnn.sparse.eqm", "mnist_cnn") })
    cases.Add(Cases.FromBlob("zoo_" + Path.GetFileNameWithoutExtension(file).Replace('.', '_'), File.ReadAllBytes(Path.Combine(sourceDir, file)),
        File.ReadAllBytes(Path.Combine(zooDir, zooName + ".input.bin")), 3));
// Dynamic quantization (ops 40-46): fashion_mobilenet and mnist_cnn converted with --dynamic (float32 input), on
// the first 3 samples of their float test data (tests/zoo/NAME.test.npy; one channel, so NCHW is NHWC).
foreach (var (file, zooName) in new[] { ("fashion_mobilenet.dynamic.eqm", "fashion_mobilenet"), ("mnist_cnn.dynamic.eqm", "mnist_cnn") })
    cases.Add(Cases.FromBlob("zoo_" + Path.GetFileNameWithoutExtension(file).Replace('.', '_'), File.ReadAllBytes(Path.Combine(sourceDir, file)),
        Cases.NpyData(Path.Combine(zooDir, "..", zooName + ".test.npy")), 3));
// Recurrent ops 23-26: the zoo's digits_gru (Gru, linear_before_reset 1) and a bidirectional LSTM (lstm_model.py), each
// converted with int8 and with int4 weights (README.md), on the first 3 samples of tests/zoo/digits_gru.test.npy (the
// same 8x8 digits, rows as steps) quantized by the C# SetInput.
foreach (var file in new[] { "digits_gru.eqm", "digits_gru.int4.eqm", "digits_lstm.eqm", "digits_lstm.int4.eqm" })
    cases.Add(Cases.FromFloatSamples("zoo_" + Path.GetFileNameWithoutExtension(file).Replace('.', '_'), File.ReadAllBytes(Path.Combine(sourceDir, file)),
        Cases.NpyData(Path.Combine(zooDir, "..", "digits_gru.test.npy")), 3));
VectorFile.Write(Path.Combine(outDir, "vectors.bin"), cases);
Console.WriteLine($"vectors.bin: {cases.Count} cases, {new FileInfo(Path.Combine(outDir, "vectors.bin")).Length} bytes");

File.WriteAllBytes(Path.Combine(outDir, "labels.eqm"), Cases.WithMetadata());
Console.WriteLine("labels.eqm: a Reshape model with metadata (labels, a repeated key) for the C metadata tests");

var sources = new List<(string Name, byte[] Blob)>();
foreach (var c in cases) sources.Add(("golden:" + c.Name, c.Blob));
foreach (var f in Directory.GetFiles(zooDir, "*.eqm").OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal))
    sources.Add(("zoo:" + Path.GetFileName(f), File.ReadAllBytes(f)));
int accepted = Mutations.Write(Path.Combine(outDir, "mutations.bin"), sources, count: 6000, seed: 8);
Console.WriteLine($"mutations.bin: 6000 mutated blobs from {sources.Count} sources, {accepted} accepted by the C# reader, {new FileInfo(Path.Combine(outDir, "mutations.bin")).Length} bytes");
