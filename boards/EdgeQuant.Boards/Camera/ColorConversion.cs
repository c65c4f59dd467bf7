namespace EdgeQuant.Boards.Camera;

/// <summary>
/// Colour conversions in integers (BT.601), the definition the camera pipeline uses.
/// YUV is limited range (Y 16..235, U/V 16..240, as USB and Pi cameras deliver YUYV); RGB and
/// gray are full range 0..255.
/// <list type="bullet">
/// <item>YUV to RGB: c = Y - 16, d = U - 128, e = V - 128;
/// R = clamp((298c + 409e + 128) &gt;&gt; 8), G = clamp((298c - 100d - 208e + 128) &gt;&gt; 8),
/// B = clamp((298c + 516d + 128) &gt;&gt; 8), clamp to [0, 255] (the 8-bit form of the BT.601
/// matrix: 1.164, 1.596, -0.392, -0.813, 2.017, scaled by 256).</item>
/// <item>Y to gray: clamp((298(Y - 16) + 128) &gt;&gt; 8): luma expanded to full range (the
/// gray of the RGB above when U = V = 128).</item>
/// <item>RGB to gray: (77R + 150G + 29B + 128) &gt;&gt; 8: BT.601 luma weights 0.299, 0.587, 0.114
/// scaled by 256 (they add up to 256, so gray stays in 0..255).</item>
/// </list>
/// </summary>
public static class ColorConversion
{
    public static byte YToGray(int y) => Clamp((298 * (y - 16) + 128) >> 8);

    public static byte RgbToGray(int r, int g, int b) => (byte)((77 * r + 150 * g + 29 * b + 128) >> 8);

    public static void YuvToRgb(int y, int u, int v, out byte r, out byte g, out byte b)
    {
        int c = 298 * (y - 16), d = u - 128, e = v - 128;
        r = Clamp((c + 409 * e + 128) >> 8);
        g = Clamp((c - 100 * d - 208 * e + 128) >> 8);
        b = Clamp((c + 516 * d + 128) >> 8);
    }

    /// <summary>Converts a whole YUYV frame to RGB24 (for tests and tools; the pipeline converts on the fly).</summary>
    public static void YuyvToRgb24(ReadOnlySpan<byte> yuyv, Span<byte> rgb, int width, int height)
    {
        for (int i = 0; i < width * height; i++)
        {
            int pair = (i >> 1) * 4;
            YuvToRgb(yuyv[pair + ((i & 1) << 1)], yuyv[pair + 1], yuyv[pair + 3], out rgb[3 * i], out rgb[3 * i + 1], out rgb[3 * i + 2]);
        }
    }

    /// <summary>
    /// Encodes RGB24 as YUYV with the inverse BT.601 matrix (limited range, U and V averaged over
    /// each pixel pair), for simulated cameras: Y = ((66R + 129G + 25B + 128) &gt;&gt; 8) + 16,
    /// U = ((-38R - 74G + 112B + 128) &gt;&gt; 8) + 128, V = ((112R - 94G - 18B + 128) &gt;&gt; 8) + 128.
    /// </summary>
    public static void Rgb24ToYuyv(ReadOnlySpan<byte> rgb, Span<byte> yuyv, int width, int height)
    {
        for (int i = 0; i < width * height; i += 2)
        {
            int r0 = rgb[3 * i], g0 = rgb[3 * i + 1], b0 = rgb[3 * i + 2];
            int r1 = rgb[3 * i + 3], g1 = rgb[3 * i + 4], b1 = rgb[3 * i + 5];
            int o = 2 * i;
            yuyv[o] = Clamp(((66 * r0 + 129 * g0 + 25 * b0 + 128) >> 8) + 16);
            yuyv[o + 2] = Clamp(((66 * r1 + 129 * g1 + 25 * b1 + 128) >> 8) + 16);
            int u0 = ((-38 * r0 - 74 * g0 + 112 * b0 + 128) >> 8) + 128, u1 = ((-38 * r1 - 74 * g1 + 112 * b1 + 128) >> 8) + 128;
            int v0 = ((112 * r0 - 94 * g0 - 18 * b0 + 128) >> 8) + 128, v1 = ((112 * r1 - 94 * g1 - 18 * b1 + 128) >> 8) + 128;
            yuyv[o + 1] = Clamp((u0 + u1 + 1) >> 1);
            yuyv[o + 3] = Clamp((v0 + v1 + 1) >> 1);
        }
    }

    private static byte Clamp(int v) => (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
}
