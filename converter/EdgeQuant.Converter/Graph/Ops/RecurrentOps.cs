using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX LSTM and GRU (one layer; forward, reverse or bidirectional): inputs X, W, R and the optional
/// B, sequence_lens, initial_h (and for LSTM initial_c and the peepholes P); outputs Y, Y_h (and Y_c).
/// Gate order as ONNX: LSTM i, o, f, c; GRU z, r, h. Default activations only (sigmoid for the gates,
/// tanh for the cell and hidden candidates); <c>clip</c> clamps every gate's pre-activation; GRU's
/// <c>linear_before_reset</c> applies the reset gate after the recurrent product; <c>layout</c> 1 puts
/// the batch first (X [B, T, I], Y [B, T, D, H], Y_h [B, D, H]). With sequence_lens, steps at or past a
/// sequence's length leave its state as it was and give zeros in Y; a reverse pass starts at its last
/// valid step. Like Split, a node with several outputs is imported as one node per output
/// (<see cref="SplitOp.Expand"/>), each computing the whole recurrence and returning its part.
/// </summary>
internal static class RecurrentOps
{
    /// <summary>True for the recurrent op types.</summary>
    public static bool Handles(string opType) => opType is "LSTM" or "GRU";

    /// <summary>Gates per hidden unit: LSTM 4, GRU 3.</summary>
    public static int Gates(string opType) => opType == "LSTM" ? 4 : 3;

    /// <summary>The dimensions of one node.</summary>
    public readonly record struct Dims(int Seq, int Batch, int Input, int Hidden, int Directions, bool Reverse, bool BatchFirst);

    /// <summary>Which output a single-output node computes: 0 Y, 1 Y_h, 2 Y_c.</summary>
    public static int Part(OnnxNode node) => (int)node.GetInt(SplitOp.PartAttribute, 0);

    public static Dims Read(OpContext c)
    {
        var node = c.Node;
        int gates = Gates(node.OpType);
        bool batchFirst = node.GetInt("layout", 0) == 1;
        var x = c.ShapeOfRank(0, 3, 3, "X");
        var w = c.ShapeOfRank(1, 3, 3, "W");
        var r = c.ShapeOfRank(2, 3, 3, "R");
        string direction = node.GetString("direction", "forward");
        int dirs = direction == "bidirectional" ? 2 : 1;
        int seq = batchFirst ? x[1] : x[0], batch = batchFirst ? x[0] : x[1], input = x[2];
        int hidden = r[2];
        if (node.HasAttribute("hidden_size") && node.GetInt("hidden_size") != hidden)
            throw node.Error($"attribute hidden_size={node.GetInt("hidden_size")} does not match R {OnnxTensor.FormatShape(r)} (hidden size {hidden})");
        if (w[0] != dirs || w[1] != gates * hidden || w[2] != input)
            throw node.Error($"W has shape {OnnxTensor.FormatShape(w)}; expected [{dirs}, {gates * hidden}, {input}] (directions, {gates} x hidden, input)");
        if (r[0] != dirs || r[1] != gates * hidden)
            throw node.Error($"R has shape {OnnxTensor.FormatShape(r)}; expected [{dirs}, {gates * hidden}, {hidden}]");
        CheckShape(c, 3, [dirs, 2 * gates * hidden], "B");
        CheckShape(c, 4, [batch], "sequence_lens");
        int[] state = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
        CheckShape(c, 5, state, "initial_h");
        if (node.OpType == "LSTM")
        {
            CheckShape(c, 6, state, "initial_c");
            CheckShape(c, 7, [dirs, 3 * hidden], "P");
        }

        return new Dims(seq, batch, input, hidden, dirs, direction == "reverse", batchFirst);
    }

    public static int[] InferShape(OpContext c)
    {
        var d = Read(c);
        int part = Part(c.Node);
        if (part == 0) return d.BatchFirst ? [d.Batch, d.Seq, d.Directions, d.Hidden] : [d.Seq, d.Directions, d.Batch, d.Hidden];
        return d.BatchFirst ? [d.Batch, d.Directions, d.Hidden] : [d.Directions, d.Batch, d.Hidden];
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var d = Read(c);
        var node = c.Node;
        bool lstm = node.OpType == "LSTM";
        long[]? lens = null;
        if (c.Has(4))
        {
            var t = c.Tensor(4);
            lens = new long[t.ElementCount];
            for (int i = 0; i < lens.Length; i++) lens[i] = t.GetAsInt64(i);
        }

        var (y, yh, yc) = Compute(node, lstm, d, c.FloatTensor(0).FloatData, c.FloatTensor(1).FloatData, c.FloatTensor(2).FloatData,
            c.Has(3) ? c.FloatTensor(3).FloatData : null, lens, c.Has(5) ? c.FloatTensor(5).FloatData : null,
            lstm && c.Has(6) ? c.FloatTensor(6).FloatData : null, lstm && c.Has(7) ? c.FloatTensor(7).FloatData : null,
            node.HasAttribute("clip") ? node.GetFloat("clip") : float.PositiveInfinity, node.GetInt("linear_before_reset", 0) != 0);
        return OnnxTensor.FromFloats(InferShape(c), Part(node) switch { 0 => y, 1 => yh, _ => yc });
    }

    /// <summary>
    /// The layer in double precision (the float executor and the lowered graph's float run): Y, Y_h and
    /// Y_c in the layouts of <paramref name="d"/>. Optional inputs are null when absent.
    /// </summary>
    public static (float[] Y, float[] Yh, float[] Yc) Compute(OnnxNode? node, bool lstm, Dims d, float[] x, float[] w, float[] r, float[]? b,
        long[]? lens, float[]? h0, float[]? c0, float[]? peep, float clip, bool linearBeforeReset)
    {
        int gates = lstm ? 4 : 3, h = d.Hidden, g = gates * h;
        var y = new float[d.Seq * d.Directions * d.Batch * h];
        var yh = new float[d.Directions * d.Batch * h];
        var yc = new float[d.Directions * d.Batch * h];
        var gx = new double[g];
        var gh = new double[g];
        var hPrev = new double[h];
        var cPrev = new double[h];
        var rh = new double[h];
        for (int dir = 0; dir < d.Directions; dir++)
        {
            bool reverse = d.Reverse || dir == 1;
            int wBase = dir * g * d.Input, rBase = dir * g * h, bBase = dir * 2 * g;
            for (int bi = 0; bi < d.Batch; bi++)
            {
                int len = lens is null ? d.Seq : (int)lens[bi];
                if (len < 0 || len > d.Seq)
                {
                    string message = $"sequence_lens[{bi}] = {len} is outside [0, {d.Seq}]";
                    throw node is null ? new ConversionException(message) : node.Error(message);
                }
                for (int j = 0; j < h; j++)
                {
                    hPrev[j] = h0 is null ? 0 : h0[StateIndex(d, dir, bi, j)];
                    cPrev[j] = c0 is null ? 0 : c0[StateIndex(d, dir, bi, j)];
                }

                for (int s = 0; s < len; s++)
                {
                    int t = reverse ? len - 1 - s : s;
                    int xBase = d.BatchFirst ? ((bi * d.Seq) + t) * d.Input : ((t * d.Batch) + bi) * d.Input;
                    for (int row = 0; row < g; row++)
                    {
                        double ax = b is null ? 0 : b[bBase + row];
                        for (int i = 0; i < d.Input; i++) ax += (double)x[xBase + i] * w[wBase + (row * d.Input) + i];
                        gx[row] = ax;
                        double ah = b is null ? 0 : b[bBase + g + row];
                        for (int j = 0; j < h; j++) ah += hPrev[j] * r[rBase + (row * h) + j];
                        gh[row] = ah;
                    }

                    if (lstm)
                    {
                        for (int j = 0; j < h; j++)
                        {
                            double pi = peep is null ? 0 : peep[(dir * 3 * h) + j];
                            double po = peep is null ? 0 : peep[(dir * 3 * h) + h + j];
                            double pf = peep is null ? 0 : peep[(dir * 3 * h) + (2 * h) + j];
                            double ig = Sigmoid(Clip(gx[j] + gh[j] + (pi * cPrev[j]), clip));
                            double fg = Sigmoid(Clip(gx[(2 * h) + j] + gh[(2 * h) + j] + (pf * cPrev[j]), clip));
                            double cg = Math.Tanh(Clip(gx[(3 * h) + j] + gh[(3 * h) + j], clip));
                            double cNew = (fg * cPrev[j]) + (ig * cg);
                            double og = Sigmoid(Clip(gx[h + j] + gh[h + j] + (po * cNew), clip));
                            cPrev[j] = cNew;
                            rh[j] = og * Math.Tanh(cNew);
                        }
                    }
                    else
                    {
                        if (!linearBeforeReset)
                        {
                            // The candidate's recurrent product is over r ⊙ h_prev: recompute those rows.
                            for (int j = 0; j < h; j++) rh[j] = Sigmoid(Clip(gx[h + j] + gh[h + j], clip)) * hPrev[j];
                            for (int row = 2 * h; row < 3 * h; row++)
                            {
                                double ah = b is null ? 0 : b[bBase + g + row];
                                for (int j = 0; j < h; j++) ah += rh[j] * r[rBase + (row * h) + j];
                                gh[row] = ah;
                            }
                        }

                        for (int j = 0; j < h; j++)
                        {
                            double z = Sigmoid(Clip(gx[j] + gh[j], clip));
                            double rg = Sigmoid(Clip(gx[h + j] + gh[h + j], clip));
                            double pre = linearBeforeReset ? gx[(2 * h) + j] + (rg * gh[(2 * h) + j]) : gx[(2 * h) + j] + gh[(2 * h) + j];
                            double cand = Math.Tanh(Clip(pre, clip));
                            rh[j] = ((1 - z) * cand) + (z * hPrev[j]);
                        }
                    }

                    for (int j = 0; j < h; j++)
                    {
                        hPrev[j] = rh[j];
                        int yi = d.BatchFirst ? ((((bi * d.Seq) + t) * d.Directions) + dir) * h + j : ((((t * d.Directions) + dir) * d.Batch) + bi) * h + j;
                        y[yi] = (float)rh[j];
                    }
                }

                for (int j = 0; j < h; j++)
                {
                    yh[StateIndex(d, dir, bi, j)] = (float)hPrev[j];
                    yc[StateIndex(d, dir, bi, j)] = (float)cPrev[j];
                }
            }
        }

        return (y, yh, yc);
    }

    private static int StateIndex(in Dims d, int dir, int batch, int j) =>
        d.BatchFirst ? ((((batch * d.Directions) + dir) * d.Hidden) + j) : ((((dir * d.Batch) + batch) * d.Hidden) + j);

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static double Clip(double v, float clip) => v < -clip ? -clip : v > clip ? clip : v;

    private static void CheckShape(OpContext c, int index, int[] expected, string what)
    {
        if (!c.Has(index)) return;
        var s = c.Shape(index);
        if (!s.AsSpan().SequenceEqual(expected))
            throw c.Node.Error($"input '{c.Node.Inputs[index]}' ({what}) has shape {OnnxTensor.FormatShape(s)}; expected {OnnxTensor.FormatShape(expected)}");
    }
}
