using System.Diagnostics;
using EdgeQuant.Boards;
using EdgeQuant.Boards.Camera;
using EdgeQuant.Boards.Imu;
using EdgeQuant.Boards.Simulation;
using EdgeQuant.Pi;
using EdgeQuant.Runtime;

const string Usage = """
    EdgeQuant.Pi: int8 models on a Raspberry Pi's camera and IMU. One JSON line per inference on stdout; logs on stderr.

      EdgeQuant.Pi camera --model M.eqm [--device /dev/video0] [--width 320 --height 240] [--format yuyv|gray|rgb24]
                          [--led-pin N] [--led-class K] [--frames N] [--simulate FRAMES.npy]
      EdgeQuant.Pi imu    --model M.eqm [--bus 1 --address 0x68] [--hop N] [--rate HZ] [--mean M0,..,M5 --std S0,..,S5]
                          [--accel-range 2|4|8|16 (g, default 4)] [--gyro-range 250|500|1000|2000 (deg/s, default 500)]
                          [--led-pin N] [--led-class K] [--samples N] [--simulate REPLAY.npy]
      EdgeQuant.Pi bench  --model M.eqm [--width 320 --height 240] [--frames N] [--imu-model M.eqm] [--windows N]

    camera: {"frame":i,"class":k,"score":s,"latency_us":t} for a classifier, {"frame":i,"detections":[...],...} for a
      BlazeFace-style detector. --simulate reads uint8 frames [N,H,W] (gray), [N,H,W,3] (RGB) or [N,H,W,2] (YUYV).
    imu: {"window":i,"class":k,"score":s,"latency_us":t}; --simulate replays float32 [T,6] (m/s^2, then deg/s)
      through a simulated MPU6050 register map read by the Iot.Device.Imu.Mpu6050 binding.
    --led-pin drives a LED (debounced) while the class is --led-class (default 1) or a detection is present;
      with --simulate the pin is a VirtualGpioController pin and its changes are logged.
    Normalization: the model's 'pixels' metadata (edgequant convert --pixels MEAN,STD).
    Exit codes: 0 success, 1 bad input or missing device (one line on stderr), 2 internal error.
    """;

var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
var stderr = Console.Error;
Args a;
try { a = new Args(args); }
catch (UsageException e) { stderr.WriteLine($"EdgeQuant.Pi: {e.Message}"); return 1; }
if (a.Command is null || a.Command is "help" || a.Has("--help"))
{
    (a.Command is null ? stderr : stdout).WriteLine(Usage);
    return a.Command is null ? 1 : 0;
}
try
{
    return a.Command switch
    {
        "camera" => Camera(a, stdout, stderr),
        "imu" => Imu(a, stdout, stderr),
        "bench" => Bench(a, stdout),
        _ => throw new UsageException($"unknown command '{a.Command}'; commands: camera, imu, bench"),
    };
}
catch (Exception e) when (e is UsageException or BoardsException or InvalidModelException)
{
    stderr.WriteLine($"EdgeQuant.Pi: {e.Message}");
    if (a.Has("--verbose")) stderr.WriteLine(e);
    return 1;
}
catch (Exception e)
{
    stderr.WriteLine($"EdgeQuant.Pi {a.Command}: internal error: {e.Message}");
    stderr.WriteLine(e);
    return 2;
}

static Model LoadModel(string path)
{
    if (!File.Exists(path)) throw new BoardsException($"model {path} does not exist");
    try { return Model.LoadFile(path); }
    catch (InvalidModelException e) { throw new BoardsException($"{path}: {e.Message}", e); }
}

static int Camera(Args a, TextWriter stdout, TextWriter log)
{
    a.AllowOnly("--model", "--device", "--width", "--height", "--format", "--led-pin", "--led-class", "--frames", "--simulate");
    var model = LoadModel(a.Require("--model", "M.eqm"));
    string? sim = a.Get("--simulate");
    long maxFrames = a.Int("--frames", int.MaxValue, 1, int.MaxValue);
    IFrameSource source = sim is not null ? new NpyFrameSource(sim) : OpenCamera(a);
    using var _ = source;
    var interp = new Interpreter(model);
    var pipe = new CameraPipeline(interp, source.Width, source.Height, source.Format);
    var outputs = new Outputs(interp);
    int ledClass = a.Int("--led-class", 1, 0, int.MaxValue);
    using var led = Devices.Led(a.OptionalInt("--led-pin", 0, 1023), sim is not null, log);
    var json = new JsonLines(stdout);
    long frame = 0;
    while (frame < maxFrames)
    {
        ReadOnlyMemory<byte> f;
        try
        {
            if (!source.TryReadFrame(out f)) break;
        }
        catch (IOException e)
        {
            log.WriteLine($"camera: skipped a frame: {e.Message}");
            continue;
        }
        long t0 = Stopwatch.GetTimestamp();
        try { pipe.Process(f.Span); }
        catch (BoardsException e)
        {
            // A short or torn frame from the driver: skip it, keep going.
            log.WriteLine($"camera: skipped frame {frame}: {e.Message}");
            frame++;
            continue;
        }
        interp.Invoke();
        outputs.Read();
        long us = (long)Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        if (outputs.IsDetector) json.Detections(frame, outputs.Detections, us);
        else json.Classification("frame", frame, outputs.Class, outputs.Score, us, outputs.Label);
        led?.Update(outputs.IsDetector ? outputs.DetectionCount > 0 : outputs.Class == ledClass);
        frame++;
    }
    log.WriteLine($"camera: {frame} frames ({source.Width}x{source.Height} {source.Format} -> {pipe.InputWidth}x{pipe.InputHeight}x{pipe.Channels}, crop {pipe.Crop.Width}x{pipe.Crop.Height})");
    return 0;
}

static IFrameSource OpenCamera(Args a)
{
    string device = a.Get("--device") ?? "/dev/video0";
    int w = a.Int("--width", 320, 2, 8192), h = a.Int("--height", 240, 2, 8192);
    var format = FrameFormats.Parse(a.Get("--format") ?? "yuyv");
    // Iot.Device.Media's V4L2 interop (Marshal.SizeOf(Type), PtrToStructure<T>) is not NativeAOT-safe.
    // IsDynamicCodeSupported is a feature switch: false in a NativeAOT build, so this branch and the
    // binding's V4L2 code are trimmed away there (no trim/AOT warnings) and kept in JIT builds.
    if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        return new VideoDeviceFrameSource(device, w, h, format);
    throw new BoardsException($"camera: this NativeAOT build has no V4L2 capture (Iot.Device.Media's VideoDevice is not AOT-safe); deploy the JIT build (deploy.sh without --aot) for {device}, or use --simulate FRAMES.npy");
}

static int Imu(Args a, TextWriter stdout, TextWriter log)
{
    a.AllowOnly("--model", "--bus", "--address", "--hop", "--rate", "--mean", "--std", "--accel-range", "--gyro-range", "--led-pin", "--led-class", "--samples", "--simulate");
    var model = LoadModel(a.Require("--model", "M.eqm"));
    var interp = new Interpreter(model);
    var outputs = new Outputs(interp);
    if (outputs.IsDetector) throw new BoardsException("imu: the model is a detector; the IMU pipeline needs a classifier");
    string? sim = a.Get("--simulate");
    int bus = a.Int("--bus", 1, 0, 255), address = a.Int("--address", 0x68, 0x03, 0x77);
    var mean = a.Floats("--mean", 6);
    var std = a.Floats("--std", 6);
    // Window length comes from the model; the hop defaults to half a window.
    var probe = new ImuWindow(interp, 6, 1, mean, std);
    var win = new ImuWindow(interp, 6, a.Int("--hop", Math.Max(1, probe.Length / 2), 1, probe.Length), mean, std);
    long maxSamples = a.Int("--samples", int.MaxValue, 1, int.MaxValue);
    int rate = a.Int("--rate", sim is null ? 100 : 0, 0, 8000);
    SimulatedMpu6050? simulated = null;
    System.Device.I2c.I2cDevice device;
    if (sim is not null)
    {
        var npy = NpyFile.Read(sim);
        if (npy.Shape.Length != 2 || npy.Shape[1] != 6) throw new BoardsException($"{sim}: shape ({string.Join(", ", npy.Shape)}) is not [T, 6] (ax, ay, az in m/s^2, gx, gy, gz in deg/s)");
        device = simulated = new SimulatedMpu6050(npy.ToFloat32(sim), address, bus);
    }
    else device = Devices.I2c(bus, address);
    var accelRange = a.Int("--accel-range", 4, 2, 16) switch
    {
        2 => Iot.Device.Imu.AccelerometerRange.Range02G,
        4 => Iot.Device.Imu.AccelerometerRange.Range04G,
        8 => Iot.Device.Imu.AccelerometerRange.Range08G,
        16 => Iot.Device.Imu.AccelerometerRange.Range16G,
        _ => throw new UsageException("--accel-range must be 2, 4, 8 or 16 (g)"),
    };
    var gyroRange = a.Int("--gyro-range", 500, 250, 2000) switch
    {
        250 => Iot.Device.Imu.GyroscopeRange.Range0250Dps,
        500 => Iot.Device.Imu.GyroscopeRange.Range0500Dps,
        1000 => Iot.Device.Imu.GyroscopeRange.Range1000Dps,
        2000 => Iot.Device.Imu.GyroscopeRange.Range2000Dps,
        _ => throw new UsageException("--gyro-range must be 250, 500, 1000 or 2000 (deg/s)"),
    };
    using var reader = new Mpu6050Reader(device, shouldDispose: true, accelRange, gyroRange);
    int ledClass = a.Int("--led-class", 1, 0, int.MaxValue);
    using var led = Devices.Led(a.OptionalInt("--led-pin", 0, 1023), sim is not null, log);
    var json = new JsonLines(stdout);
    var sample = new float[6];
    long windows = 0, samples = 0, skipped = 0;
    long period = rate > 0 ? Stopwatch.Frequency / rate : 0, next = Stopwatch.GetTimestamp();
    while (samples < maxSamples && (simulated is null || !simulated.Exhausted))
    {
        if (period > 0)
        {
            next += period;
            long wait = next - Stopwatch.GetTimestamp();
            if (wait > 0) Thread.Sleep(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
        }
        try { reader.Read(sample); }
        catch (IOException e)
        {
            skipped++;
            log.WriteLine($"imu: skipped sample {samples + skipped - 1}: {e.Message}");
            continue;
        }
        samples++;
        if (!win.Push(sample)) continue;
        long t0 = Stopwatch.GetTimestamp();
        interp.Invoke();
        outputs.Read();
        long us = (long)Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        json.Classification("window", windows++, outputs.Class, outputs.Score, us, outputs.Label);
        led?.Update(outputs.Class == ledClass);
    }
    log.WriteLine($"imu: {samples} samples, {skipped} skipped, {windows} windows of {win.Length} (hop {win.Hop}, {win.Layout})");
    return 0;
}

// The bench's warm-up: at least 20 steps, then until the JIT has compiled nothing for 250 ms (at most 10 s; a NativeAOT
// build compiles nothing, so 250 ms). Twenty steps alone left tier-1 compilations for the timed frames, and one CI run
// counted 30 bytes per frame (6,000 bytes over 200 BlazeFace frames, none in any run here before or after): the bench is
// for the steady state.
static void WarmUp(Action step)
{
    var total = Stopwatch.StartNew();
    var quiet = Stopwatch.StartNew();
    long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
    for (int i = 0; i < 20 || (quiet.ElapsedMilliseconds < 250 && total.ElapsedMilliseconds < 10_000); i++)
    {
        step();
        long now = System.Runtime.JitInfo.GetCompiledMethodCount();
        if (now != compiled)
        {
            compiled = now;
            quiet.Restart();
        }
    }
}

static int Bench(Args a, TextWriter stdout)
{
    a.AllowOnly("--model", "--width", "--height", "--frames", "--imu-model", "--windows");
    var model = LoadModel(a.Require("--model", "M.eqm"));
    int w = a.Int("--width", 320, 2, 8192), h = a.Int("--height", 240, 2, 8192), frames = a.Int("--frames", 2000, 1, int.MaxValue);
    var interp = new Interpreter(model);
    var pipe = new CameraPipeline(interp, w, h, FrameFormat.Yuyv);
    var outputs = new Outputs(interp);
    var frame = new byte[pipe.FrameBytes];
    var rng = new Random(1);
    rng.NextBytes(frame);
    WarmUp(() => { pipe.Process(frame); interp.Invoke(); outputs.Read(); });
    long alloc0 = GC.GetAllocatedBytesForCurrentThread();
    long t0 = Stopwatch.GetTimestamp();
    for (int i = 0; i < frames; i++) pipe.Process(frame);
    double prep = Stopwatch.GetElapsedTime(t0).TotalSeconds;
    t0 = Stopwatch.GetTimestamp();
    for (int i = 0; i < frames; i++) { pipe.Process(frame); interp.Invoke(); outputs.Read(); }
    double full = Stopwatch.GetElapsedTime(t0).TotalSeconds;
    long alloc = GC.GetAllocatedBytesForCurrentThread() - alloc0;
    string inv(double v) => v.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
    stdout.WriteLine($"{{\"bench\":\"camera\",\"frame\":\"{w}x{h} yuyv\",\"input\":\"{pipe.InputWidth}x{pipe.InputHeight}x{pipe.Channels}\",\"frames\":{frames},\"preprocess_fps\":{inv(frames / prep)},\"fps\":{inv(frames / full)},\"allocated_bytes_per_frame\":{alloc / (2 * frames)},\"arch\":\"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}\"}}");
    if (a.Get("--imu-model") is { } imuPath)
    {
        var im = LoadModel(imuPath);
        var ii = new Interpreter(im);
        var io = new Outputs(ii);
        var win = new ImuWindow(ii, 6, 1);
        int windows = a.Int("--windows", 5000, 1, int.MaxValue);
        var s = new float[6];
        for (int i = 0; i < win.Length; i++) { s[i % 6] = i; win.Push(s); }
        int k = 0;
        WarmUp(() => { s[k % 6] = k++; if (win.Push(s)) { ii.Invoke(); io.Read(); } });
        alloc0 = GC.GetAllocatedBytesForCurrentThread();
        t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < windows; i++) { s[i % 6] = (i % 17) * 0.5f; if (win.Push(s)) { ii.Invoke(); io.Read(); } }
        double secs = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        alloc = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        stdout.WriteLine($"{{\"bench\":\"imu\",\"window\":\"6x{win.Length}\",\"hop\":1,\"windows\":{windows},\"windows_per_s\":{inv(windows / secs)},\"allocated_bytes_per_window\":{alloc / windows},\"arch\":\"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}\"}}");
    }
    return 0;
}
