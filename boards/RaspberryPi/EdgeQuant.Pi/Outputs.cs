using EdgeQuant.Boards;
using EdgeQuant.Boards.Decoding;
using EdgeQuant.Runtime;

namespace EdgeQuant.Pi;

/// <summary>
/// Reads a model's outputs after Invoke: a classifier (one output: top-1 class and its score) or
/// an SSD detector with BlazeFace's anchors (outputs adding up to 896 scores and 896 boxes of
/// 16 values, split per feature map or not). Buffers are made once.
/// </summary>
internal sealed class Outputs
{
    private readonly Interpreter _interp;
    private readonly float[] _first;
    private readonly DetectorOutputs? _detector;
    private readonly Detection[] _detections = new Detection[16];
    private readonly string[] _labels;

    public bool IsDetector => _detector is not null;
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
        _first = new float[m.Tensors[m.Outputs[0].TensorIndex].ElementCount];
        if (m.Outputs.Count == 1) return;
        var decoder = new SsdDecoder(SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront), SsdDecoderOptions.BlazeFace);
        try { _detector = new DetectorOutputs(interp, decoder); }
        catch (BoardsException e)
        {
            throw new BoardsException($"the model has {m.Outputs.Count} outputs, so it should be a BlazeFace-style detector, but {e.Message}", e);
        }
    }

    /// <summary>Decodes the outputs of the last Invoke. Allocates nothing.</summary>
    public void Read()
    {
        if (_detector is null)
        {
            _interp.GetOutput(_first, 0);
            Class = TopK.ArgMax(_first);
            Score = _first[Class];
            return;
        }
        DetectionCount = _detector.Decode(_detections);
        Score = DetectionCount > 0 ? _detections[0].Score : 0;
    }
}
