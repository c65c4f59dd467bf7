using EdgeQuant.Boards.Decoding;
using EdgeQuant.Boards.Imu;
using EdgeQuant.Boards.Simulation;
using EdgeQuant.Runtime;
using Iot.Device.Imu;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Imu;

/// <summary>The zoo's imu_gesture model on its own replay recording, through the simulated MPU6050 and the real binding.</summary>
public class ZooImuGestureTests
{
    private static readonly float[] Mean = [0, 0, 0, 0, 0, 0];
    private static readonly float[] Std = [9.81f, 9.81f, 9.81f, 100, 100, 100];

    [Test]
    public void ReplayThroughTheSimulatedMpu6050_ClassifiesAtTheEvalAccuracy()
    {
        var model = Model.LoadFile(TestModels.ZooEqm("imu_gesture.eqm"));
        var goldenIn = File.ReadAllBytes(TestModels.ZooEqm("imu_gesture.input.bin"));
        var goldenOut = File.ReadAllBytes(TestModels.ZooEqm("imu_gesture.output.bin"));
        var labels = NpyFile.Read(TestModels.Zoo("imu_gesture.test_labels.npy")).ToInt64("labels");
        var replay = NpyFile.Read(TestModels.Zoo("imu_gesture.replay.npy")).ToFloat32("replay");
        int windowBytes = 6 * 64, classes = 5;

        // The replay's own float values through the window writer reproduce the golden input bytes
        // (the test set is the replay cut at hop 64, normalized as the window does).
        var direct = new Interpreter(model);
        var w0 = new ImuWindow(direct, 6, 64, Mean, Std);
        int k = 0, sameDirect = 0;
        for (int i = 0; i < replay.Length / 6; i++)
        {
            if (!w0.Push(replay.AsSpan(6 * i, 6))) continue;
            if (direct.GetInput().ToArray().Select(b => (byte)b).SequenceEqual(goldenIn.AsSpan(k * windowBytes, windowBytes).ToArray())) sameDirect++;
            k++;
        }
        Assert.That(k, Is.EqualTo(labels.Length));
        Assert.That(sameDirect, Is.EqualTo(labels.Length), "window writer vs the zoo's golden inputs");

        // Through the simulated sensor at ±4 g / ±500 °/s (the data stay within those ranges).
        using var sim = new SimulatedMpu6050(replay);
        using var reader = new Mpu6050Reader(sim, false, AccelerometerRange.Range04G, GyroscopeRange.Range0500Dps);
        Assert.That((sim.AccelRangeG, sim.GyroRangeDps), Is.EqualTo((4, 500)));
        var interp = new Interpreter(model);
        var win = new ImuWindow(interp, 6, 64, Mean, Std);
        var sample = new float[6];
        var logits = new float[classes];
        int windows = 0, correct = 0, goldenCorrect = 0, sameBytes = 0;
        while (!sim.Exhausted)
        {
            reader.Read(sample);
            if (!win.Push(sample)) continue;
            if (interp.GetInput().ToArray().Select(b => (byte)b).SequenceEqual(goldenIn.AsSpan(windows * windowBytes, windowBytes).ToArray())) sameBytes++;
            interp.Invoke();
            interp.GetOutput(logits);
            if (TopK.ArgMax(logits) == labels[windows]) correct++;
            var g = goldenOut.AsSpan(windows * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++) if ((sbyte)g[c] > (sbyte)g[best]) best = c;
            if (best == labels[windows]) goldenCorrect++;
            windows++;
        }
        double acc = 100.0 * correct / windows, evalAcc = 100.0 * goldenCorrect / windows;
        TestContext.Out.WriteLine($"imu_gesture replay through the simulated MPU6050: {windows} windows, top-1 {acc:F2}% (eval of the same .eqm on the test set: {evalAcc:F2}%); {sameBytes}/{windows} windows byte-identical to the test set's inputs after register rounding");
        Assert.That(windows, Is.EqualTo(labels.Length));
        Assert.That(acc, Is.EqualTo(evalAcc));
    }
}
