using System.Runtime.InteropServices;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Boards.Imu;

/// <summary>How a window of T samples of C channels is laid out in the model's input tensor.</summary>
public enum WindowLayout
{
    /// <summary>Time-major, channels fastest: element (t, c) at t·C + c. The runtime's storage of a 1-D conv model's [N, C, T] input (NHWC with H = 1).</summary>
    TimeMajor,
    /// <summary>Channel-major: element (c, t) at c·T + t. A model taking the flattened [N, C·T] window.</summary>
    ChannelMajor,
}

/// <summary>
/// IMU samples to sliding windows: a ring buffer of the last T samples (C channels each); every
/// <see cref="Hop"/> samples once T have arrived, the window (oldest first) is normalized per
/// channel, x = (v - mean[c]) / std[c], and written into the interpreter's input in the model's
/// layout, quantized exactly as <see cref="Interpreter.SetInput"/> would (or as floats for a
/// float32-input model). Allocates nothing per sample or window.
/// </summary>
public sealed class ImuWindow
{
    private readonly Interpreter _interpreter;
    private readonly int _inputIndex;
    private readonly float[] _ring;   // [T * C], sample s at (s % T) * C
    private readonly float[] _mean, _std;
    private readonly float _scale;
    private readonly int _zeroPoint;
    private readonly bool _float;
    private long _count;
    private int _sinceWindow;

    public int Channels { get; }
    /// <summary>Samples per window (T), from the model's input size.</summary>
    public int Length { get; }
    /// <summary>Samples between two windows.</summary>
    public int Hop { get; }
    public WindowLayout Layout { get; }
    /// <summary>Samples pushed so far.</summary>
    public long SampleCount => _count;

    /// <param name="interpreter">Receives the windows in input <paramref name="inputIndex"/>.</param>
    /// <param name="channels">Channels per sample (6 for accelerometer + gyroscope).</param>
    /// <param name="hop">Samples between windows, 1..T.</param>
    /// <param name="mean">Per-channel mean (C values), or empty for 0.</param>
    /// <param name="std">Per-channel std (C values), or empty for 1.</param>
    /// <param name="inputIndex">Which model input.</param>
    /// <exception cref="BoardsException">The model's input is not a whole number of samples, or the hop or normalization do not fit.</exception>
    public ImuWindow(Interpreter interpreter, int channels, int hop, ReadOnlySpan<float> mean = default, ReadOnlySpan<float> std = default, int inputIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(interpreter);
        _interpreter = interpreter;
        _inputIndex = inputIndex;
        var model = interpreter.Model;
        if (inputIndex < 0 || inputIndex >= model.Inputs.Count) throw new BoardsException($"imu: the model has {model.Inputs.Count} input(s); input {inputIndex} does not exist");
        if (channels < 1) throw new BoardsException($"imu: {channels} channels");
        var io = model.Inputs[inputIndex];
        var t = model.Tensors[io.TensorIndex];
        if (t.Type != TensorType.Int8 && t.Type != TensorType.Float32)
            throw new BoardsException($"imu: the model's input '{io.Name}' is {t.Type}; only int8 and float32 inputs can be fed");
        int elements = t.ElementCount;
        int last = t.Rank switch { 1 => t.Shape.D0, 2 => t.Shape.D1, 3 => t.Shape.D2, _ => t.Shape.D3 };
        if (t.Shape.D0 != 1 || elements % channels != 0 || elements / channels < 2)
            throw new BoardsException($"imu: the model's input '{io.Name}' has shape {Describe(t)} ({elements} values); a window of {channels}-channel samples needs [1, ...] with a multiple of {channels} values, at least 2 samples");
        Channels = channels;
        Length = elements / channels;
        // Channels last ([1, T, C], [1, 1, T, C]: time-major) or channels before time ([1, C, T] as
        // the converter keeps a 1-D conv model's input, or a flat [1, C*T] vector in [C, T] order).
        int beforeLast = t.Rank switch { 3 => t.Shape.D1, 4 => t.Shape.D2, _ => -1 };
        Layout = t.Rank >= 3 && last == channels ? WindowLayout.TimeMajor
            : t.Rank == 2 || beforeLast == channels ? WindowLayout.ChannelMajor
            : throw new BoardsException($"imu: the model's input '{io.Name}' has shape {Describe(t)}; expected [1, {channels}, T] (a 1-D conv model over [N, {channels}, T]), [1, T, {channels}], [1, 1, T, {channels}] or [1, {channels}*T]");
        if (hop < 1 || hop > Length) throw new BoardsException($"imu: hop {hop} is outside 1..{Length} (the window length)");
        Hop = hop;
        _mean = Fill(mean, channels, 0f, "mean");
        _std = Fill(std, channels, 1f, "std");
        for (int c = 0; c < channels; c++)
            if (!(_std[c] > 0) || !float.IsFinite(_std[c]) || !float.IsFinite(_mean[c]))
                throw new BoardsException($"imu: channel {c} normalization mean {_mean[c]}, std {_std[c]}: std must be positive and both finite");
        _float = t.Type == TensorType.Float32;
        if (!_float) (_scale, _zeroPoint) = interpreter.GetInputQuantization(inputIndex);
        _ring = new float[Length * channels];
    }

    private static float[] Fill(ReadOnlySpan<float> v, int channels, float dflt, string what)
    {
        if (v.IsEmpty) { var r = new float[channels]; Array.Fill(r, dflt); return r; }
        if (v.Length != channels) throw new BoardsException($"imu: {v.Length} {what} values for {channels} channels");
        return v.ToArray();
    }

    private static string Describe(TensorInfo t)
    {
        var d = new[] { t.Shape.D0, t.Shape.D1, t.Shape.D2, t.Shape.D3 };
        return $"[{string.Join(", ", d[..t.Rank])}]";
    }

    /// <summary>Forgets every sample (after a gap in the data, for example).</summary>
    public void Reset()
    {
        _count = 0;
        _sinceWindow = 0;
    }

    /// <summary>
    /// Adds one sample of <see cref="Channels"/> values. Returns true when a window was written to
    /// the interpreter's input (call <see cref="Interpreter.Invoke"/> then).
    /// </summary>
    public bool Push(ReadOnlySpan<float> sample)
    {
        if (sample.Length != Channels) throw new BoardsException($"imu: sample of {sample.Length} values, expected {Channels}");
        int slot = (int)(_count % Length);
        sample.CopyTo(_ring.AsSpan(slot * Channels, Channels));
        _count++;
        if (_count < Length) return false;
        if (_count > Length && ++_sinceWindow < Hop) return false;
        _sinceWindow = 0;
        WriteWindow();
        return true;
    }

    private void WriteWindow()
    {
        int T = Length, C = Channels;
        int oldest = (int)(_count % T);
        Span<sbyte> codes = default;
        Span<float> floats = default;
        if (_float) floats = MemoryMarshal.Cast<sbyte, float>(_interpreter.GetInput(_inputIndex));
        else codes = _interpreter.GetInput(_inputIndex);
        for (int t = 0; t < T; t++)
        {
            int src = ((oldest + t) % T) * C;
            for (int c = 0; c < C; c++)
            {
                float x = (_ring[src + c] - _mean[c]) / _std[c];
                int dst = Layout == WindowLayout.TimeMajor ? t * C + c : c * T + t;
                if (_float) floats[dst] = x;
                else codes[dst] = QuantMath.QuantizeS8(x, _scale, _zeroPoint);
            }
        }
    }
}
