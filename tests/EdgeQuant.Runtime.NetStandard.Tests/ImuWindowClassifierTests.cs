using EdgeQuant.Meadow.Sample;

namespace EdgeQuant.Runtime.NetStandard.Tests;

/// <summary>
/// The Meadow sample's sliding windows (boards/Meadow), without a board: digits_mlp's 64 inputs read as
/// 32 samples of 2 channels. Each classification must equal running the model directly on the window,
/// oldest sample first, and pushing allocates nothing.
/// </summary>
public class ImuWindowClassifierTests
{
    private static Model Digits() => Model.LoadFile(Path.Combine(ZooEndToEndTests.GoldenDir, "digits_mlp.eqm"));

    [Test]
    public void ClassifiesEveryHopOnceTheWindowIsFullWithTheSamplesInTimeOrder()
    {
        var model = Digits();
        var classifier = new ImuWindowClassifier(model, channels: 2, hop: 5);
        Assert.That(classifier.WindowLength, Is.EqualTo(32));
        var reference = new Interpreter(model);
        var rng = new Random(7);
        var history = new List<float[]>();
        int runs = 0;
        for (int t = 0; t < 100; t++)
        {
            var sample = new[] { (float)(rng.NextDouble() * 16), (float)(rng.NextDouble() * 16) };
            history.Add(sample);
            int cls = classifier.Push(sample);
            bool due = t >= 31 && (t - 31) % 5 == 0;
            if (!due)
            {
                Assert.That(cls, Is.EqualTo(-1), $"t={t}: no classification due");
                continue;
            }
            runs++;
            var window = history.Skip(history.Count - 32).SelectMany(s => s).ToArray();
            reference.SetInput(window);
            reference.Invoke();
            var expected = new float[reference.GetOutput().Length];
            reference.GetOutput(expected.AsSpan());
            Assert.That(classifier.Scores.ToArray(), Is.EqualTo(expected), $"t={t}");
            Assert.That(cls, Is.EqualTo(Array.IndexOf(expected, expected.Max())));
        }
        Assert.That(runs, Is.EqualTo(14));
        string[] labels = model.Metadata.TryGetValue("labels", out var l) ? l.Split('\n') : [];
        Assert.That(classifier.Labels, Is.EqualTo(labels), "class names from the blob's labels metadata, if any");
    }

    [Test]
    public void PushAllocatesNothingAndRefusesWrongSamples()
    {
        var classifier = new ImuWindowClassifier(Digits(), channels: 2, hop: 1);
        var sample = new float[2];
        for (int i = 0; i < 40; i++) classifier.Push(sample);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) classifier.Push(sample);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(() => classifier.Push(new float[3]), Throws.ArgumentException);
        Assert.That(() => new ImuWindowClassifier(Digits(), channels: 3, hop: 1), Throws.ArgumentException.With.Message.Contains("64 values"));
    }
}
