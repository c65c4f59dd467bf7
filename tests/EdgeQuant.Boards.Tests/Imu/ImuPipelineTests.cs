using System.Device.I2c;
using EdgeQuant.Boards.Decoding;
using EdgeQuant.Boards.Imu;
using EdgeQuant.Boards.Simulation;
using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Imu;

public class ImuPipelineTests
{
    private const int Window = 32;
    private const int Segment = 96;

    /// <summary>
    /// A recording of <paramref name="segments"/> segments of <see cref="Segment"/> samples; in
    /// segment k the board lies with gravity along axis k % 3 (sign alternating), plus noise and
    /// random rotation rates. Returns [N, 6] and the axis of each segment.
    /// </summary>
    internal static (float[] Samples, int[] Axis) Recording(int segments, int seed = 1)
    {
        var rng = new Random(seed);
        var s = new float[segments * Segment * 6];
        var axis = new int[segments];
        for (int k = 0; k < segments; k++)
        {
            axis[k] = rng.Next(3);
            float sign = rng.Next(2) == 0 ? 1 : -1;
            for (int i = 0; i < Segment; i++)
            {
                int o = (k * Segment + i) * 6;
                for (int c = 0; c < 3; c++) s[o + c] = (float)(rng.NextDouble() - 0.5) * 2f;
                s[o + axis[k]] += 9.807f * Math.Abs(sign);
                for (int c = 3; c < 6; c++) s[o + c] = (float)(rng.NextDouble() * 400 - 200);
            }
        }
        return (s, axis);
    }

    private static Model OrientationModel()
    {
        var (cal, _) = Recording(8, 99);
        // Calibration windows [N, 6, T] cut from the recording.
        int n = cal.Length / 6 / Window;
        var calib = new float[n * 6 * Window];
        for (int w = 0; w < n; w++)
            for (int t = 0; t < Window; t++)
                for (int c = 0; c < 6; c++)
                    calib[(w * 6 + c) * Window + t] = cal[(w * Window + t) * 6 + c];
        return TestModels.Convert(TestModels.OrientationOnnx(Window), calib, [n, 6, Window]);
    }

    [Test]
    public void SimulatedMpu6050_ThroughTheBinding_ReturnsTheRecordingAtRegisterResolution()
    {
        var (rec, _) = Recording(2);
        using var sim = new SimulatedMpu6050(rec);
        using var reader = new Mpu6050Reader(sim, shouldDispose: false);
        // The binding configured ±2 g and ±250 °/s through the config registers.
        Assert.That(sim.AccelRangeG, Is.EqualTo(2));
        Assert.That(sim.GyroRangeDps, Is.EqualTo(250));
        Assert.That(sim.Registers[SimulatedMpu6050.PwrMgmt1], Is.EqualTo(0x01), "clock source PLL, awake");
        float accLsb = 2 * 9.807f / 32768f, gyroLsb = 250f / 32768f;
        Span<float> v = stackalloc float[6];
        for (int i = 0; i < rec.Length / 6; i++)
        {
            reader.Read(v);
            for (int c = 0; c < 6; c++)
            {
                float lsb = c < 3 ? accLsb : gyroLsb;
                float full = c < 3 ? 2 * 9.807f : 250f;
                float x = Math.Clamp(rec[6 * i + c], -full, full - lsb);
                Assert.That(v[c], Is.EqualTo(x).Within(lsb * 0.5f + 1e-5f), $"sample {i} channel {c}");
                // Exactly the int16 code times the binding's scale.
                float code = MathF.Round(v[c] / lsb);
                Assert.That(v[c], Is.EqualTo(code * lsb).Within(1e-6f));
            }
        }
        Assert.That(sim.Exhausted);
    }

    [Test]
    public void ImuWindows_EqualSetInputOfTheSameWindow_AndClassifyTheOrientation()
    {
        var model = OrientationModel();
        var (rec, axis) = Recording(12);
        using var sim = new SimulatedMpu6050(rec);
        using var reader = new Mpu6050Reader(sim, shouldDispose: false);
        var interp = new Interpreter(model);
        var check = new Interpreter(model);
        int hop = 8;
        var win = new ImuWindow(interp, 6, hop);
        // The converter keeps a 1-D model's [N, C, T] input as [1, C, T]: channel-major.
        Assert.That((win.Length, win.Layout), Is.EqualTo((Window, WindowLayout.ChannelMajor)));
        var read = new List<float>();
        var sample = new float[6];
        var logits = new float[3];
        int windows = 0, scored = 0, correct = 0;
        for (int i = 0; i < rec.Length / 6; i++)
        {
            reader.Read(sample);
            read.AddRange(sample);
            if (!win.Push(sample)) continue;
            windows++;
            int end = i + 1, start = end - Window;
            // The same window, built by hand from the read samples in the model's [1, 6, T] order.
            var f = new float[Window * 6];
            for (int t = 0; t < Window; t++)
                for (int c = 0; c < 6; c++) f[c * Window + t] = read[(start + t) * 6 + c];
            check.SetInput(f);
            Assert.That(interp.GetInput().ToArray(), Is.EqualTo(check.GetInput().ToArray()), $"window ending at {end}");
            interp.Invoke();
            interp.GetOutput(logits);
            if (start / Segment == (end - 1) / Segment)
            {
                scored++;
                if (TopK.ArgMax(logits) == axis[start / Segment]) correct++;
            }
        }
        Assert.That(windows, Is.EqualTo((rec.Length / 6 - Window) / hop + 1));
        TestContext.Out.WriteLine($"orientation: {correct}/{scored} windows inside one segment classified correctly ({windows} windows)");
        Assert.That(correct, Is.EqualTo(scored));
    }

    [Test]
    public void ChannelMajorLayout_ForAFlatInput_AndNormalization()
    {
        // digits_mlp takes [1, 64]: as 4 channels x 16 samples, channel-major.
        var model = Model.LoadFile(TestModels.ZooEqm("digits_mlp.eqm"));
        var interp = new Interpreter(model);
        var check = new Interpreter(model);
        float[] mean = [1, 2, 3, 4], std = [2, 2, 4, 4];
        var win = new ImuWindow(interp, 4, 16, mean, std);
        Assert.That((win.Length, win.Layout), Is.EqualTo((16, WindowLayout.ChannelMajor)));
        var rng = new Random(2);
        var all = new float[40 * 4];
        for (int i = 0; i < all.Length; i++) all[i] = (float)(rng.NextDouble() * 20);
        int emitted = 0;
        for (int i = 0; i < 40; i++)
        {
            if (!win.Push(all.AsSpan(i * 4, 4))) continue;
            emitted++;
            int start = i + 1 - 16;
            var f = new float[64];
            for (int c = 0; c < 4; c++)
                for (int t = 0; t < 16; t++) f[c * 16 + t] = (all[(start + t) * 4 + c] - mean[c]) / std[c];
            check.SetInput(f);
            Assert.That(interp.GetInput().ToArray(), Is.EqualTo(check.GetInput().ToArray()));
        }
        Assert.That(emitted, Is.EqualTo(2)); // after samples 16 and 32
    }

    [Test]
    public void TimeMajorLayout_ForAChannelsLastInput()
    {
        // An int8 [1, 16, 6] input (channels last), reshaped to the output.
        var mw = new EdgeQuant.Runtime.Format.ModelWriter();
        int q = mw.AddQuantization([0.05f], 3);
        int x = mw.AddActivation(EdgeQuant.Runtime.Format.TensorType.Int8, [1, 16, 6], q);
        int y = mw.AddActivation(EdgeQuant.Runtime.Format.TensorType.Int8, [1, 96], q);
        mw.AddOp(EdgeQuant.Runtime.Format.OpType.Reshape, [x], [y]);
        mw.AddInput("imu", x);
        mw.AddOutput("flat", y);
        var model = Model.Load(mw.Build());
        var interp = new Interpreter(model);
        var check = new Interpreter(model);
        var win = new ImuWindow(interp, 6, 5, [0, 0, 9.8f, 0, 0, 0], [2, 2, 2, 50, 50, 50]);
        Assert.That((win.Length, win.Layout), Is.EqualTo((16, WindowLayout.TimeMajor)));
        var (rec, _) = Recording(1);
        int emitted = 0;
        for (int i = 0; i < 60; i++)
        {
            if (!win.Push(rec.AsSpan(6 * i, 6))) continue;
            emitted++;
            int start = i + 1 - 16;
            var f = new float[96];
            for (int t = 0; t < 16; t++)
                for (int c = 0; c < 6; c++)
                    f[t * 6 + c] = (rec[(start + t) * 6 + c] - (c == 2 ? 9.8f : 0)) / (c < 3 ? 2 : 50);
            check.SetInput(f);
            Assert.That(interp.GetInput().ToArray(), Is.EqualTo(check.GetInput().ToArray()), $"window ending at {i + 1}");
        }
        Assert.That(emitted, Is.EqualTo((60 - 16) / 5 + 1));
    }

    [Test]
    public void TransientI2cReadError_IsSkipped_AndThePipelineCarriesOn()
    {
        var model = OrientationModel();
        var (rec, _) = Recording(2);
        using var sim = new SimulatedMpu6050(rec);
        using var reader = new Mpu6050Reader(sim, shouldDispose: false);
        sim.FailOnSample(40);
        sim.FailOnSample(41);
        var win = new ImuWindow(new Interpreter(model), 6, 16);
        var sample = new float[6];
        int skipped = 0, windows = 0;
        var log = new List<string>();
        while (!sim.Exhausted)
        {
            try { reader.Read(sample); }
            catch (IOException e) { skipped++; log.Add($"skip: {e.Message}"); continue; }
            if (win.Push(sample)) windows++;
        }
        Assert.That(skipped, Is.EqualTo(2));
        Assert.That(log[0], Is.EqualTo("skip: simulated I2C read error at sample 40 (bus 1, address 0x68)"));
        Assert.That(win.SampleCount, Is.EqualTo(rec.Length / 6 - 2));
        Assert.That(windows, Is.EqualTo((rec.Length / 6 - 2 - Window) / 16 + 1));
    }

    private sealed class DeadBus : I2cDevice
    {
        public override I2cConnectionSettings ConnectionSettings { get; } = new(1, 0x68);
        public override byte ReadByte() => throw new IOException("Error 121 performing I2C data transfer (remote I/O error)");
        public override void Read(Span<byte> buffer) => throw new IOException("Error 121 performing I2C data transfer (remote I/O error)");
        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("Error 121 performing I2C data transfer (remote I/O error)");
        public override void WriteByte(byte value) => throw new IOException("Error 121 performing I2C data transfer (remote I/O error)");
        public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer) => throw new IOException("Error 121 performing I2C data transfer (remote I/O error)");
    }

    [Test]
    public void MissingSensor_IsAOneLineError()
    {
        var e = Assert.Throws<BoardsException>(() => new Mpu6050Reader(new DeadBus()));
        Assert.That(e!.Message, Is.EqualTo("imu: no MPU6050 on I2C bus 1 at address 0x68: Error 121 performing I2C data transfer (remote I/O error)"));
    }

    [Test]
    public void ModelWhoseInputDoesNotFitTheSensor_IsRefused()
    {
        var mnist = new Interpreter(Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm")));
        var e = Assert.Throws<BoardsException>(() => new ImuWindow(mnist, 6, 4));
        Assert.That(e!.Message, Does.StartWith("imu: the model's input 'input' has shape [1, 28, 28, 1] (784 values)"));
        var model = OrientationModel();
        var hop = Assert.Throws<BoardsException>(() => new ImuWindow(new Interpreter(model), 6, 33));
        Assert.That(hop!.Message, Is.EqualTo("imu: hop 33 is outside 1..32 (the window length)"));
        var norm = Assert.Throws<BoardsException>(() => new ImuWindow(new Interpreter(model), 6, 4, [0f, 0f], [1f, 1f]));
        Assert.That(norm!.Message, Is.EqualTo("imu: 2 mean values for 6 channels"));
    }

    [Test]
    public void SteadyState_AllocatesNothingPerWindow()
    {
        var model = OrientationModel();
        var (rec, _) = Recording(20);
        using var sim = new SimulatedMpu6050(rec);
        using var reader = new Mpu6050Reader(sim, shouldDispose: false);
        var interp = new Interpreter(model);
        var win = new ImuWindow(interp, 6, 4);
        var sample = new float[6];
        var logits = new float[3];
        int windows = 0;
        void Step()
        {
            reader.Read(sample);
            if (win.Push(sample)) { interp.Invoke(); interp.GetOutput(logits); windows++; }
        }
        for (int i = 0; i < 100; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        int w0 = windows;
        for (int i = 0; i < 1500; i++) Step();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(windows - w0, Is.EqualTo(375));
        Assert.That(allocated, Is.Zero, $"{allocated} bytes over 1500 samples (I2C reads through the binding) and 375 windows");
    }
}
