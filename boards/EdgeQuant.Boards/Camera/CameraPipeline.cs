using System.Runtime.InteropServices;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Boards.Camera;

/// <summary>
/// Camera frame to model input, with no float image and no allocation per frame: centre crop to
/// the model's aspect ratio, colour conversion (<see cref="ColorConversion"/>), area resize (a box
/// filter in exact integer arithmetic) and a per-channel pixel table (<see cref="PixelTable"/>)
/// writing straight into the interpreter's input tensor, NHWC <c>[1, H, W, C]</c>, C = 1 or 3.
/// </summary>
/// <remarks>
/// Area resize: along each axis, crop pixel s covers [s·D, (s+1)·D) and output pixel o covers
/// [o·S, (o+1)·S) (S crop pixels, D output pixels); the weight of s in o is the length of the
/// overlap, so each output's weights add up to S. An output value is the weighted sum over its
/// crop rectangle divided by Sx·Sy, rounded half up: (sum + Sx·Sy/2) / (Sx·Sy). Downscaling by an
/// integer factor is a plain block mean; upscaling replicates or blends neighbours.
/// </remarks>
public sealed class CameraPipeline
{
    private readonly Interpreter _interpreter;
    private readonly int _inputIndex;
    private readonly PixelTable _table;
    private readonly sbyte[]? _codes;
    private readonly float[]? _floats;
    private readonly byte[] _yToGray = new byte[256];

    // Axis weights: output o takes crop pixels [start[o], start[o] + count[o]) with weights w[o * maxTaps + k].
    private readonly int[] _xStart, _xCount, _xWeight, _yStart, _yCount, _yWeight;
    private readonly int _xTaps, _yTaps;
    private readonly long[] _acc;      // [W * C] weighted sums of the current output row
    private readonly long[] _hrow;     // [W * C] horizontal sums of the cached crop row
    private readonly byte[] _pixRow;   // [cropW * C] converted pixels of one crop row
    private int _cachedRow = -1;

    public int FrameWidth { get; }
    public int FrameHeight { get; }
    public FrameFormat Format { get; }
    /// <summary>Bytes one frame must have.</summary>
    public int FrameBytes { get; }
    /// <summary>The centre crop used, in frame pixels.</summary>
    public (int X, int Y, int Width, int Height) Crop { get; }
    /// <summary>The model input's height, width and channels.</summary>
    public int InputHeight { get; }
    public int InputWidth { get; }
    public int Channels { get; }
    /// <summary>The normalization in use (the argument, else the model's metadata, else x = pixel / 255).</summary>
    public PixelNormalization Normalization { get; }
    public PixelTable Table => _table;

    /// <summary>Sets up a pipeline for frames of one size and format. All buffers and tables are made here.</summary>
    /// <param name="interpreter">The interpreter whose input <paramref name="inputIndex"/> receives the frames.</param>
    /// <param name="frameWidth">Frame width in pixels (even for YUYV).</param>
    /// <param name="frameHeight">Frame height in pixels.</param>
    /// <param name="format">Frame layout.</param>
    /// <param name="normalization">Overrides the model's <see cref="Model.PixelNormalization"/>; null uses it, or x = pixel / 255 when the blob has none.</param>
    /// <param name="inputIndex">Which model input.</param>
    /// <exception cref="BoardsException">The model's input is not an image this source can feed, or the frame size is invalid.</exception>
    public CameraPipeline(Interpreter interpreter, int frameWidth, int frameHeight, FrameFormat format, PixelNormalization? normalization = null, int inputIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(interpreter);
        _interpreter = interpreter;
        _inputIndex = inputIndex;
        var model = interpreter.Model;
        if (inputIndex < 0 || inputIndex >= model.Inputs.Count) throw new BoardsException($"camera: the model has {model.Inputs.Count} input(s); input {inputIndex} does not exist");
        var io = model.Inputs[inputIndex];
        var t = model.Tensors[io.TensorIndex];
        if (t.Rank != 4 || t.Shape.D0 != 1 || (t.Shape.D3 != 1 && t.Shape.D3 != 3))
            throw new BoardsException($"camera: the model's input '{io.Name}' is {Describe(t)}; a camera feeds an image [1, H, W, C] with C = 1 (gray) or 3 (RGB)");
        if (t.Type != TensorType.Int8 && t.Type != TensorType.Float32)
            throw new BoardsException($"camera: the model's input '{io.Name}' is {t.Type}; only int8 and float32 inputs can be fed");
        if (frameWidth <= 0 || frameHeight <= 0 || frameWidth > 16384 || frameHeight > 16384)
            throw new BoardsException($"camera: frame size {frameWidth}x{frameHeight} is outside 1..16384");
        if (format == FrameFormat.Yuyv && frameWidth % 2 != 0)
            throw new BoardsException($"camera: YUYV frames need an even width, got {frameWidth}");
        FrameWidth = frameWidth;
        FrameHeight = frameHeight;
        Format = format;
        FrameBytes = FrameFormats.FrameBytes(format, frameWidth, frameHeight);
        InputHeight = t.Shape.D1;
        InputWidth = t.Shape.D2;
        Channels = t.Shape.D3;

        Normalization = normalization ?? model.PixelNormalization ?? PixelNormalization.Identity;
        if (Normalization.ChannelCount == 3 && Channels != 3)
            throw new BoardsException($"camera: the pixel normalization has 3 channels but the model's input '{io.Name}' has {Channels}");
        if (t.Type == TensorType.Int8)
        {
            var (scale, zp) = interpreter.GetInputQuantization(inputIndex);
            _table = PixelTable.ForInt8(Normalization, Channels, scale, zp);
            _codes = new sbyte[Channels * 256];
            for (int c = 0; c < Channels; c++) _table.Codes(c).CopyTo(_codes.AsSpan(c * 256));
        }
        else
        {
            _table = PixelTable.ForFloat32(Normalization, Channels);
            _floats = new float[Channels * 256];
            for (int c = 0; c < Channels; c++) _table.Floats(c).CopyTo(_floats.AsSpan(c * 256));
        }

        // Centre crop to the model's aspect ratio (W/H), in exact integers.
        int cw = frameWidth, ch = frameHeight;
        if ((long)frameWidth * InputHeight > (long)frameHeight * InputWidth) cw = (int)((long)frameHeight * InputWidth / InputHeight);
        else ch = (int)((long)frameWidth * InputHeight / InputWidth);
        cw = Math.Max(cw, 1);
        ch = Math.Max(ch, 1);
        Crop = ((frameWidth - cw) / 2, (frameHeight - ch) / 2, cw, ch);

        (_xStart, _xCount, _xWeight, _xTaps) = AxisWeights(cw, InputWidth);
        (_yStart, _yCount, _yWeight, _yTaps) = AxisWeights(ch, InputHeight);
        _acc = new long[InputWidth * Channels];
        _hrow = new long[InputWidth * Channels];
        _pixRow = new byte[cw * Channels];
        for (int y = 0; y < 256; y++) _yToGray[y] = ColorConversion.YToGray(y);
    }

    private static string Describe(TensorInfo t)
    {
        var d = new[] { t.Shape.D0, t.Shape.D1, t.Shape.D2, t.Shape.D3 };
        return $"{t.Type} [{string.Join(", ", d[..t.Rank])}]";
    }

    private static (int[] Start, int[] Count, int[] Weight, int Taps) AxisWeights(int s, int d)
    {
        int taps = (s + d - 1) / d + 1;
        var start = new int[d];
        var count = new int[d];
        var weight = new int[d * taps];
        for (int o = 0; o < d; o++)
        {
            long lo = (long)o * s, hi = (long)(o + 1) * s;
            int first = (int)(lo / d);
            int last = (int)((hi - 1) / d);
            start[o] = first;
            count[o] = last - first + 1;
            for (int k = 0; k < count[o]; k++)
            {
                long a = Math.Max(lo, (long)(first + k) * d), b = Math.Min(hi, (long)(first + k + 1) * d);
                weight[o * taps + k] = (int)(b - a);
            }
        }
        return (start, count, weight, taps);
    }

    /// <summary>
    /// Converts one frame into the interpreter's input. Allocates nothing.
    /// </summary>
    /// <exception cref="BoardsException">The frame does not have <see cref="FrameBytes"/> bytes.</exception>
    public void Process(ReadOnlySpan<byte> frame)
    {
        if (frame.Length != FrameBytes)
            throw new BoardsException($"camera: frame of {frame.Length} bytes does not match {FrameWidth}x{FrameHeight} {Format} ({FrameBytes} bytes)");
        _cachedRow = -1;
        int w = InputWidth, c = Channels, wc = w * c;
        long den = (long)Crop.Width * Crop.Height, half = den / 2;
        Span<sbyte> dstCodes = default;
        Span<float> dstFloats = default;
        if (_codes is not null) dstCodes = _interpreter.GetInput(_inputIndex);
        else dstFloats = MemoryMarshal.Cast<sbyte, float>(_interpreter.GetInput(_inputIndex));
        for (int oy = 0; oy < InputHeight; oy++)
        {
            Array.Clear(_acc);
            int y0 = _yStart[oy];
            for (int k = 0; k < _yCount[oy]; k++)
            {
                int wy = _yWeight[oy * _yTaps + k];
                if (wy == 0) continue;
                HorizontalRow(frame, y0 + k);
                for (int i = 0; i < wc; i++) _acc[i] += wy * _hrow[i];
            }
            int rowBase = oy * wc;
            if (_codes is not null)
            {
                for (int i = 0; i < wc; i++)
                    dstCodes[rowBase + i] = _codes[(i % c) * 256 + (int)((_acc[i] + half) / den)];
            }
            else
            {
                for (int i = 0; i < wc; i++)
                    dstFloats[rowBase + i] = _floats![(i % c) * 256 + (int)((_acc[i] + half) / den)];
            }
        }
    }

    // Converts crop row `row` to the model's channels and sums it horizontally into _hrow (cached: a crop row shared by two output rows is done once).
    private void HorizontalRow(ReadOnlySpan<byte> frame, int row)
    {
        if (row == _cachedRow) return;
        _cachedRow = row;
        ConvertRow(frame, Crop.Y + row);
        int c = Channels;
        for (int ox = 0; ox < InputWidth; ox++)
        {
            int x0 = _xStart[ox], n = _xCount[ox], wb = ox * _xTaps;
            for (int ch = 0; ch < c; ch++)
            {
                long s = 0;
                for (int k = 0; k < n; k++) s += _xWeight[wb + k] * _pixRow[(x0 + k) * c + ch];
                _hrow[ox * c + ch] = s;
            }
        }
    }

    private void ConvertRow(ReadOnlySpan<byte> frame, int y)
    {
        int cw = Crop.Width, x0 = Crop.X;
        var dst = _pixRow.AsSpan();
        switch (Format)
        {
            case FrameFormat.Gray8:
            {
                var src = frame.Slice(y * FrameWidth + x0, cw);
                if (Channels == 1) src.CopyTo(dst);
                else for (int x = 0; x < cw; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
                break;
            }
            case FrameFormat.Rgb24:
            {
                var src = frame.Slice(3 * (y * FrameWidth + x0), 3 * cw);
                if (Channels == 3) src.CopyTo(dst);
                else for (int x = 0; x < cw; x++) dst[x] = ColorConversion.RgbToGray(src[3 * x], src[3 * x + 1], src[3 * x + 2]);
                break;
            }
            default:
            {
                var src = frame.Slice(2 * y * FrameWidth, 2 * FrameWidth);
                for (int x = 0; x < cw; x++)
                {
                    int fx = x0 + x, pair = (fx >> 1) * 4;
                    int yv = src[pair + ((fx & 1) << 1)];
                    if (Channels == 1) dst[x] = _yToGray[yv];
                    else ColorConversion.YuvToRgb(yv, src[pair + 1], src[pair + 3], out dst[3 * x], out dst[3 * x + 1], out dst[3 * x + 2]);
                }
                break;
            }
        }
    }
}
