using EdgeQuant.Boards;
using EdgeQuant.Boards.Decoding;
using EdgeQuant.Runtime;

namespace EdgeQuant.Pi;

/// <summary>
/// Reads a model's outputs after Invoke: a classifier (one output: top-1 class and its score) or
/// an SSD detector with BlazeFace's anchors (two outputs: [1, 896, 16] boxes and [1, 896, 1]
/// scores, in either order). Buffers are made once.
/// </summary>
internal sealed class Outputs
{
    private readonly Interpreter _interp;
    private readonly float[] _first;
    private readonly float[]? _second;
    private readonly SsdDecoder? _decoder;
    private readonly int _boxesOutput, _scoresOutput;
    private readonly Detection[] _detections = new Detection[16];
    private readonly string[] _labels;

    public bool IsDetector => _decoder is not null;
    public int Class { get; private set; }
    public float Score { get; private set; }
    public int DetectionCount { get; private set; }
    public ReadOnlySpan<Detection> Detections => _detections.AsSpan(0, DetectionCount);
    public string? Label => Class < _labels.Length ? _labels[Class] : null;

    public Outputs(Interpreter interp)
    {
        _interp = interp;
        var m = interp.Model;
        _labels = m.Metadata.TryGetValue("labels", out var l) ? l.Split('\n') : [];
        int Count(int i) => m.Tensors[m.Outputs[i].TensorIndex].ElementCount;
        _first = new float[Count(0)];
        if (m.Outputs.Count == 1) return;
        var anchors = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        int n = anchors.Length;
        if (m.Outputs.Count == 2 && (Count(0), Count(1)) is var (a, b) && ((a == n * 16 && b == n) || (a == n && b == n * 16)))
        {
            _boxesOutput = a == n * 16 ? 0 : 1;
            _scoresOutput = 1 - _boxesOutput;
            _second = new float[Count(1)];
            _decoder = new SsdDecoder(anchors, SsdDecoderOptions.BlazeFace);
            return;
        }
        throw new BoardsException($"the model has {m.Outputs.Count} outputs; expected one (a classifier) or two with BlazeFace's {n} anchors ([1, {n}, 16] boxes and [1, {n}, 1] scores)");
    }

    /// <summary>Decodes the outputs of the last Invoke. Allocates nothing.</summary>
    public void Read()
    {
        _interp.GetOutput(_first, 0);
        if (_decoder is null)
        {
            Class = TopK.ArgMax(_first);
            Score = _first[Class];
            return;
        }
        _interp.GetOutput(_second!, 1);
        var boxes = _boxesOutput == 0 ? _first : _second!;
        var scores = _scoresOutput == 0 ? _first : _second!;
        DetectionCount = _decoder.Decode(boxes, scores, _detections);
        Score = DetectionCount > 0 ? _detections[0].Score : 0;
    }
}
