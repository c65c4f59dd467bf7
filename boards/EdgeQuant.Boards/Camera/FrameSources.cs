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
/// Frames from a V4L2 camera through Iot.Device.Media's <see cref="VideoDevice"/>. The binding
/// returns a new array per captured frame (its own allocation; the pipeline after it allocates
/// nothing).
/// </summary>
public sealed class VideoDeviceFrameSource : IFrameSource
{
    private readonly VideoDevice _device;

    public int Width { get; }
    public int Height { get; }
    public FrameFormat Format { get; }

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
        try { _device = VideoDevice.Create(new VideoConnectionSettings(bus, ((uint)width, (uint)height), pf)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or PlatformNotSupportedException or ArgumentException)
        {
            throw new BoardsException($"camera: cannot open {devicePath} at {width}x{height} {format}: {e.Message}", e);
        }
        Width = width; Height = height; Format = format;
    }

    public bool TryReadFrame(out ReadOnlyMemory<byte> frame)
    {
        frame = _device.Capture();
        return true;
    }

    public void Dispose() => _device.Dispose();
}
