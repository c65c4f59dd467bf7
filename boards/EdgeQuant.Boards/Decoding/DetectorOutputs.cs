using EdgeQuant.Runtime;

namespace EdgeQuant.Boards.Decoding;

/// <summary>
/// Binds an SSD detector's outputs to an <see cref="SsdDecoder"/>: score outputs (last dimension
/// 1) and box outputs (last dimension <see cref="SsdDecoderOptions.NumCoords"/>) are each
/// concatenated in output order, as detectors split per feature map (BlazeFace: 512 stride-8
/// anchors then 384 stride-16 anchors) or not at all. Buffers are made once;
/// <see cref="Decode"/> allocates nothing.
/// </summary>
public sealed class DetectorOutputs
{
    private readonly Interpreter _interp;
    private readonly SsdDecoder _decoder;
    private readonly float[] _scores, _boxes;
    private readonly int[] _scoreOutputs, _boxOutputs;
    private readonly float[][] _staging;

    public SsdDecoder Decoder => _decoder;

    /// <exception cref="BoardsException">The outputs do not add up to the decoder's anchors.</exception>
    public DetectorOutputs(Interpreter interpreter, SsdDecoder decoder)
    {
        _interp = interpreter;
        _decoder = decoder;
        var m = interpreter.Model;
        int nc = decoder.Options.NumCoords, n = decoder.AnchorCount;
        var scoreOuts = new List<int>();
        var boxOuts = new List<int>();
        int scoreTotal = 0, boxTotal = 0;
        _staging = new float[m.Outputs.Count][];
        for (int i = 0; i < m.Outputs.Count; i++)
        {
            var t = m.Tensors[m.Outputs[i].TensorIndex];
            int last = t.Rank switch { 1 => t.Shape.D0, 2 => t.Shape.D1, 3 => t.Shape.D2, _ => t.Shape.D3 };
            _staging[i] = new float[t.ElementCount];
            if (last == nc) { boxOuts.Add(i); boxTotal += t.ElementCount; }
            else if (last == 1 || t.ElementCount <= n) { scoreOuts.Add(i); scoreTotal += t.ElementCount; }
        }
        if (scoreTotal != n || boxTotal != n * nc)
            throw new BoardsException($"detector: the model's outputs hold {scoreTotal} scores and {boxTotal / Math.Max(nc, 1)} boxes of {nc} values; the anchors need {n} of each");
        _scoreOutputs = scoreOuts.ToArray();
        _boxOutputs = boxOuts.ToArray();
        _scores = new float[n];
        _boxes = new float[n * nc];
    }

    /// <summary>Dequantizes the outputs of the last Invoke and decodes them into <paramref name="results"/>; returns the count.</summary>
    public int Decode(Span<Detection> results)
    {
        Gather(_scoreOutputs, _scores);
        Gather(_boxOutputs, _boxes);
        return _decoder.Decode(_boxes, _scores, results);
    }

    private void Gather(int[] outputs, float[] into)
    {
        int at = 0;
        foreach (int o in outputs)
        {
            var buf = _staging[o];
            _interp.GetOutput(buf, o);
            buf.CopyTo(into, at);
            at += buf.Length;
        }
    }
}
