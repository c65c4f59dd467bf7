using Iot.Device.Media;

namespace EdgeQuant.Boards.Camera;

/// <summary>Where camera frames come from: a V4L2 device or a file of frames.</summary>
public interface IFrameSource : IDisposable
{
    int Width { get; }
    int Height { get; }
    FrameFormat Format { get; }
    /// <summary>The next frame, valid until the next call; false at the end of the stream.</summary>
    /// <exception cref="IOException">A transient capture error; the caller may skip and carry on.</exception>
    bool TryReadFrame(out ReadOnlyMemory<byte> frame);
}

/// <summary>
/// Frames from a .npy file in place of a camera: uint8 [N, H, W] (gray), [N, H, W, 3] (RGB24) or
/// [N, H, W, 2] (YUYV bytes as the camera sends them, two per pixel). Serves slices of one buffer:
/// no allocation per frame.
/// </summary>
public sealed class NpyFrameSource : IFrameSource
{
    private readonly byte[] _data;
    private readonly int _frameBytes;
    private int _next;

    public int Width { get; }
    public int Height { get; }
    public FrameFormat Format { get; }
    public int FrameCount { get; }
    /// <summary>Restart from the first frame after the last one (for benchmarks).</summary>
    public bool Loop { get; set; }

    /// <exception cref="BoardsException">The file is missing or not a uint8 array of frames.</exception>
    public NpyFrameSource(string path)
    {
        var npy = NpyFile.Read(path);
        if (npy.Type != "u1") throw new BoardsException($"{path}: frames must be uint8, found {npy.Type}");
        var s = npy.Shape;
        Format = s.Length == 3 ? FrameFormat.Gray8
            : s.Length == 4 && s[3] == 3 ? FrameFormat.Rgb24
            : s.Length == 4 && s[3] == 2 ? FrameFormat.Yuyv
            : throw new BoardsException($"{path}: shape ({string.Join(", ", s)}) is not [N, H, W] (gray), [N, H, W, 3] (RGB) or [N, H, W, 2] (YUYV)");
        FrameCount = s[0]; Height = s[1]; Width = s[2];
        if (FrameCount == 0 || Width == 0 || Height == 0) throw new BoardsException($"{path}: no frames (shape ({string.Join(", ", s)}))");
        _data = npy.Data;
        _frameBytes = FrameFormats.FrameBytes(Format, Width, Height);
    }

    public bool TryReadFrame(out ReadOnlyMemory<byte> frame)
    {
        if (_next >= FrameCount)
        {
            if (!Loop) { frame = default; return false; }
            _next = 0;
        }
        frame = new ReadOnlyMemory<byte>(_data, _next++ * _frameBytes, _frameBytes);
        return true;
    }

    public void Dispose() { }
}

/// <summary>
/// Frames from a V4L2 camera through Iot.Device.Media's <see cref="VideoDevice"/>, streaming:
/// the binding's continuous capture runs on a background thread with pooled image buffers; each
/// new frame is copied into one of two buffers made here and its pooled buffer returned, so the
/// steady state allocates nothing on our side. <see cref="TryReadFrame"/> waits for the next
/// frame (a frame that arrives while the previous one is processed replaces the waiting one: the
/// pipeline always sees the newest frame).
/// </summary>
public sealed class VideoDeviceFrameSource : IFrameSource
{
    private readonly VideoDevice _device;
    private readonly byte[][] _buffers;
    private readonly AutoResetEvent _ready = new(false);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _capture;
    private readonly object _lock = new();
    private readonly int _frameBytes;
    private int _latest = -1, _front;
    private int _badLength;
    private Exception? _error;

    public int Width { get; }
    public int Height { get; }
    public FrameFormat Format { get; }
    /// <summary>How long <see cref="TryReadFrame"/> waits for a frame before reporting a transient error.</summary>
    public TimeSpan FrameTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <param name="devicePath">/dev/videoN.</param>
    /// <param name="width">Capture width in pixels.</param>
    /// <param name="height">Capture height in pixels.</param>
    /// <param name="format">Pixel format to request.</param>
    /// <exception cref="BoardsException">The device does not exist or cannot be opened.</exception>
    public VideoDeviceFrameSource(string devicePath, int width, int height, FrameFormat format)
    {
        if (!File.Exists(devicePath))
            throw new BoardsException($"camera: {devicePath} does not exist (is a camera connected and enabled? see docs/raspberry-pi.md)");
        string name = Path.GetFileName(devicePath);
        if (!name.StartsWith("video", StringComparison.Ordinal) || !int.TryParse(name.AsSpan(5), out int bus))
            throw new BoardsException($"camera: {devicePath} is not a /dev/videoN device");
        var pf = format switch { FrameFormat.Gray8 => VideoPixelFormat.GREY, FrameFormat.Rgb24 => VideoPixelFormat.RGB24, _ => VideoPixelFormat.YUYV };
        Width = width; Height = height; Format = format;
        _frameBytes = FrameFormats.FrameBytes(format, width, height);
        _buffers = [new byte[_frameBytes], new byte[_frameBytes]];
        try
        {
            _device = VideoDevice.Create(new VideoConnectionSettings(bus, ((uint)width, (uint)height), pf));
            _device.ImageBufferPoolingEnabled = true;
            _device.NewImageBufferReady += OnFrame;
            _device.StartCaptureContinuous();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or PlatformNotSupportedException or ArgumentException)
        {
            throw new BoardsException($"camera: cannot open {devicePath} at {width}x{height} {format}: {e.Message}", e);
        }
        _capture = new Thread(Capture) { IsBackground = true, Name = "V4L2 capture" };
        _capture.Start();
    }

    private void Capture()
    {
        try { _device.CaptureContinuous(_stop.Token); }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            _error = e;
            _ready.Set();
        }
    }

    private void OnFrame(object sender, NewImageBufferReadyEventArgs e)
    {
        try
        {
            lock (_lock)
            {
                if (e.Length != _frameBytes) { _badLength = e.Length; }
                else
                {
                    // The consumer holds _front until its next TryReadFrame; write the other one.
                    int back = 1 - _front;
                    e.ImageBuffer.AsSpan(0, _frameBytes).CopyTo(_buffers[back]);
                    _latest = back;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(e.ImageBuffer);
        }
        _ready.Set();
    }

    /// <exception cref="IOException">No frame within <see cref="FrameTimeout"/>, or a frame of the wrong size (transient: skip and carry on).</exception>
    /// <exception cref="BoardsException">The capture stopped with an error.</exception>
    public bool TryReadFrame(out ReadOnlyMemory<byte> frame)
    {
        while (true)
        {
            if (_error is { } err) throw new BoardsException($"camera: capture stopped: {err.Message}", err);
            lock (_lock)
            {
                if (_badLength != 0)
                {
                    int n = _badLength;
                    _badLength = 0;
                    throw new IOException($"the driver delivered a frame of {n} bytes, expected {_frameBytes} ({Width}x{Height} {Format})");
                }
                if (_latest >= 0)
                {
                    _front = _latest;
                    _latest = -1;
                    frame = _buffers[_front];
                    return true;
                }
            }
            if (!_ready.WaitOne(FrameTimeout))
                throw new IOException($"no frame from the camera within {FrameTimeout.TotalSeconds:0.#} s");
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _device.StopCaptureContinuous(); } catch (Exception e) when (e is IOException or InvalidOperationException) { }
        _capture.Join(TimeSpan.FromSeconds(2));
        _device.NewImageBufferReady -= OnFrame;
        _device.Dispose();
        _ready.Dispose();
        _stop.Dispose();
    }
}
