namespace EdgeQuant.Boards.Camera;

/// <summary>Camera frame layouts as V4L2 delivers them (packed, rows without padding).</summary>
public enum FrameFormat
{
    /// <summary>One byte per pixel (V4L2 GREY).</summary>
    Gray8,
    /// <summary>Three bytes per pixel, R, G, B (V4L2 RGB24).</summary>
    Rgb24,
    /// <summary>Two bytes per pixel: Y0 U Y1 V for each pair of pixels (V4L2 YUYV, 4:2:2, BT.601 limited range). Width must be even.</summary>
    Yuyv,
}

/// <summary>Sizes of frame formats.</summary>
public static class FrameFormats
{
    /// <summary>Bytes of one frame of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    public static int FrameBytes(FrameFormat format, int width, int height) => format switch
    {
        FrameFormat.Gray8 => width * height,
        FrameFormat.Rgb24 => 3 * width * height,
        FrameFormat.Yuyv => 2 * width * height,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Parses "gray", "rgb" / "rgb24" or "yuyv" (case-insensitive).</summary>
    public static FrameFormat Parse(string text) => text.ToLowerInvariant() switch
    {
        "gray" or "gray8" or "grey" => FrameFormat.Gray8,
        "rgb" or "rgb24" => FrameFormat.Rgb24,
        "yuyv" => FrameFormat.Yuyv,
        _ => throw new BoardsException($"frame format '{text}' is not supported; use gray, rgb24 or yuyv"),
    };
}
