using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// Mutated real ONNX models (random bytes changed, truncated, extended) through import, lowering,
/// calibration and packing: each case converts or fails with a ConversionException, never
/// anything else. Fixed seeds; every failure prints its seed.
/// </summary>
[TestFixture]
public class OnnxMutationTests
{
    [TestCase("mnist_cnn", 400)]
    [TestCase("fashion_mobilenet", 300)]
    [TestCase("quirks/misc_ops", 300)]
    [TestCase("imu_gesture", 300)]
    public void MutatedModelsConvertOrFailClearly(string name, int cases)
    {
        var original = File.ReadAllBytes(Path.Combine(RepoPaths.Zoo, name + ".onnx"));
        string calibPath = name.StartsWith("quirks/") ? Path.Combine(RepoPaths.Zoo, name + ".input.npy") : Path.Combine(RepoPaths.Zoo, name + ".calib.npy");
        var calibAll = ZooConversionTests.Samples(calibPath);
        var calib = new SampleSet(calibAll.Data.AsSpan(0, 4 * calibAll.SampleSize).ToArray(), [4, .. calibAll.Shape[1..]], "calib");
        var dir = Directory.CreateTempSubdirectory("eq-mut-").FullName;
        int converted = 0, refused = 0;
        var failures = new List<string>();
        try
        {
            for (int seed = 0; seed < cases; seed++)
            {
                var r = new Random(seed);
                var bytes = (byte[])original.Clone();
                switch (r.Next(4))
                {
                    case 0: // a few random bytes
                        for (int k = r.Next(1, 6); k > 0; k--) bytes[r.Next(bytes.Length)] = (byte)r.Next(256);
                        break;
                    case 1: // truncation
                        bytes = bytes.AsSpan(0, r.Next(bytes.Length)).ToArray();
                        break;
                    case 2: // a varint-sized field set to an extreme value
                    {
                        int at = r.Next(bytes.Length - 5);
                        var v = new byte[][] { [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x80, 0x80, 0x80, 0x80, 0x08], [0x00], [0x7F] }[r.Next(4)];
                        v.CopyTo(bytes.AsSpan(at));
                        break;
                    }
                    default: // bytes in the first kilobyte (graph structure, names, attributes)
                        for (int k = r.Next(1, 4); k > 0; k--) bytes[r.Next(Math.Min(1024, bytes.Length))] ^= (byte)(1 << r.Next(8));
                        break;
                }
                string path = Path.Combine(dir, $"m{seed}.onnx");
                File.WriteAllBytes(path, bytes);
                try
                {
                    var loaded = ModelConverter.Load(path);
                    var result = ModelConverter.Convert(loaded, calib, new ConvertOptions { ReportSamples = 1 });
                    var interp = new Runtime.Interpreter(Runtime.Model.Load(result.Blob));
                    interp.Invoke();
                    converted++;
                }
                catch (ConversionException)
                {
                    refused++;
                }
                catch (Exception e)
                {
                    failures.Add($"seed {seed}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
        TestContext.Out.WriteLine($"{name}: {converted} converted, {refused} refused clearly, {failures.Count} other");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }
}
