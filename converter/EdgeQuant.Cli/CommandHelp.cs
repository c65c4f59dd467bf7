namespace EdgeQuant.Cli;

/// <summary>`edgequant COMMAND --help`: what one command does, its options and its data formats.</summary>
public static class CommandHelp
{
    private const string DataShapes = """
          Data files are NumPy .npy, float32 (float64 is converted), in the source model's own
          layout (NCHW for an NCHW model). An input whose first dimension is dynamic, or 1, is
          batched: data [N, ...rest] is N samples. Any other fully static input shape is one
          sample: data of exactly that shape ([3, 4, 5] for an input [3, 4, 5]) is one invocation,
          and [K, 3, 4, 5] is K invocations.
          A model with several inputs takes one file per input, each as NAME=FILE.npy, repeating
          the option (--input a=A.npy --input b=B.npy); every file holds the same number of
          samples. A file given without NAME= is for a model with one input.
        """;

    private static readonly Dictionary<string, string> Texts = new(StringComparer.Ordinal)
    {
        ["convert"] = $"""
            edgequant convert MODEL.onnx --calib X.npy|NAME=X.npy... [options]

              Converts a float ONNX model to a calibrated int8 .eqm blob. A QDQ model (QuantizeLinear /
              DequantizeLinear pairs, e.g. a quantization-aware-trained export) keeps its own scales and
              zero points and needs no --calib.

              --calib X.npy | NAME=X.npy   calibration data (repeat NAME=X.npy once per model input)
              --dynamic                    no calibration: int8 weights, activations quantized per inference
              --weights W                  int8 (default), int4, codebook4 or codebook8
              --rounding R                 nearest (default) or adaptive (teacher-guided, uses --calib)
              --prune F [--structured]     magnitude-prune a fraction F of the weights (or of the channels)
              --sparse auto|always|never   pruned layers as sparse rows where the cost model expects them faster
                                           than dense (auto, default), always, or never
              --precision L=P,...          mixed precision by hand: layer L (name or #row of the report, * for all)
                                           at P = int8, int16 (16x8), float, int4, codebook4 or codebook8
              --mixed-precision --data X.npy --labels Y.npy [--accuracy-budget POINTS] [--sensitivity-samples N]
                [--objective size|latency] measure each layer's sensitivity and search the smallest (or, with
                                           latency, fastest) assignment within POINTS (default 0.2) of float
                                           and no worse than int8 on X
              -o, --output OUT.eqm         the blob to write (default: MODEL.eqm)
              --method M                   minmax (default), percentile, entropy or mse
              --per-tensor                 per-tensor weight scales (default: per-channel)
              --report R.json              write the conversion report as JSON
              --labels FILE                class names, one per line, stored in the blob's metadata
              --pixels MEAN,STD | M0,M1,M2,S0,S1,S2   camera normalization stored for board pipelines
              --json                       print the report as JSON

            {DataShapes}
            """,
        ["eval"] = $"""
            edgequant eval MODEL.onnx|MODEL.eqm --data X.npy|NAME=X.npy... --labels Y.npy [options]

              Top-1 accuracy of a float ONNX model or an int8 .eqm blob (argmax of the first output).

              --data X.npy | NAME=X.npy    test data (repeat NAME=X.npy once per model input)
              --labels Y.npy               int64 labels, one per sample
              --reference MODEL.onnx       also run the float source of an .eqm and compare
              --json                       print the result as JSON

            {DataShapes}
            """,
        ["report"] = """
            edgequant report MODEL.onnx --calib X.npy --data X.npy --labels Y.npy -o REPORT.html [options]

              Converts the model with every configuration of the evaluation sweep (calibration methods,
              per-tensor weights, int8 / int4 / codebook weights with nearest or teacher-guided rounding,
              unstructured pruning 30-90%, structured pruning 10-30%, dynamic quantization, mixed
              precision searched within 0.2 points) and writes one self-contained HTML page (no
              network needed to open it): a table of top-1 accuracy, blob, arena and weight bytes,
              latency and output SQNR per configuration, the accuracy-vs-size Pareto front, and the
              chosen configuration's per-layer SQNR and weight histograms.

              --calib X.npy            calibration data
              --data X.npy             evaluation data; --labels Y.npy its int64 labels
              -o, --output R.html      the page to write (optional with --json)
              --json                   print the same data as JSON on stdout
              --configs LIST           comma-separated configuration ids or groups (default: all):
                                       minmax, percentile, entropy, mse (group calibration); per-tensor
                                       (granularity); int8-adaptive, int4, int4-adaptive, codebook4,
                                       codebook4-adaptive, codebook8 (weights); prune30, prune50,
                                       prune70, prune90 (pruning); structured10, structured30 (structured);
                                       dynamic (dynamic: no calibration, no per-layer detail);
                                       mixed (mixed: the precision search, on the evaluation data)
              --samples N              evaluate on the first N samples of --data
              --calib-samples N        calibrate on the first N samples of --calib
              --iterations N           latency: median of N single-thread invocations (default 200)
              --sqnr-samples N         per-layer SQNR on the first N calibration samples (default 32)
              --choose CONFIG          the configuration to detail (default: the smallest blob within
                                       --budget points of float top-1, else the most accurate)
              --budget POINTS          accuracy loss the automatic choice accepts (default 1.0)

              Progress: one line per configuration on stdout as it completes, and the configuration
              being converted on stderr when that is a terminal.
            """,
        ["run"] = $"""
            edgequant run MODEL.onnx|MODEL.eqm --input X.npy|NAME=X.npy... --output Y.npy|NAME=Y.npy... [--json]

              Runs a float ONNX model or an int8 .eqm blob on every sample and writes its first output,
              or the outputs named (a detector's scores and boxes).

              --input X.npy | NAME=X.npy   input data (repeat NAME=X.npy once per model input)
              --output Y.npy               the first output, float32: [N, ...output without its batch]
                                           for a batched input, the output's own shape for data given
                                           in exactly a static input's shape, [K, ...output] otherwise
              --output NAME=Y.npy          the output NAME, shaped the same way (repeat for each output
                                           wanted; `edgequant inspect` lists a blob's outputs)
              --json                       print what was written as JSON

            {DataShapes}
            """,
    };

    /// <summary>The help of <paramref name="command"/>: its own text, or its lines of the general usage; null for an unknown command.</summary>
    public static string? For(string command)
    {
        if (Texts.TryGetValue(command, out var text)) return text;
        var lines = Program.Usage.Split('\n').Where(l => l.TrimStart().StartsWith($"edgequant {command} ", StringComparison.Ordinal)).ToList();
        if (lines.Count == 0) return null;
        return string.Join("\n", lines.Select(l => l.Trim())) + "\n\noptions common to every command: --verbose (stack traces on errors), --help\n";
    }
}
