using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime;

// Chains (InterpreterOptions.Threads > 1): a run of ops that Invoke hands to the threads as ONE job, so the
// threads meet once per chain instead of once per op. A chain starts with a split convolution (bands of rows,
// or of pixels for a pointwise one) or an Add/Sub of equal shapes, and continues with ops that read only the
// pixels they write (pointwise Conv2D, Add/Sub of equal shapes) over the same H x W pixels: part i of every
// op of the chain covers the same pixels as part i of its first op, so it reads only what part i wrote earlier
// in the chain (or what ops before the chain wrote) and each part runs its ops in order without waiting for
// the others. The arena planner reuses memory, so a tensor written late in a chain may occupy bytes another part
// still reads early in it: when the interpreter owns its arena, such a tensor is moved to bytes of its own
// after the planned arena (the interpreter's copy of the tensor table; the model is unchanged), else the chain
// ends before that op.
public sealed partial class Interpreter
{
    /// <summary>
    /// Per op, the last op of the chain it starts (the op itself when it starts none), the chain's parts, and the
    /// bytes added after the arena for moved tensors (<paramref name="arenaBytes"/> &lt; 0: the caller's arena, none).
    /// </summary>
    private (int[] End, int[] Parts, int Extra) BuildChains(int threads, int arenaBytes)
    {
        int extra = 0;
        // Moved tensors: bytes after the arena (relative offset, length) and the ops from the one writing them to
        // the last one reading them; two share bytes only if those spans do not meet.
        var moved = new List<(int At, int Bytes, int First, int Last)>();
        var end = new int[_ops.Length];
        var chainParts = new int[_ops.Length];
        for (int i = 0; i < end.Length; i++) end[i] = i;
        for (int h = 0; h < _ops.Length; h++)
        {
            int parts = HeadParts(h, threads, out int pixels);
            if (parts < 2) continue;
            int last = h;
            while (last + 1 < _ops.Length && IsPixelLocal(last + 1, pixels))
            {
                if (!PartsAreDisjoint(h, last + 1, parts))
                {
                    // Move the op's output to bytes nothing else uses (64-byte aligned), if that is allowed and helps.
                    int t = _ops[last + 1].Output0;
                    var before = _tensors[t];
                    if (arenaBytes < 0 || IsModelInput(t)) break;
                    int first = last + 1, lastUse = LastUse(t, first);
                    int rel = MovedSlot(moved, before.ByteLength, first, lastUse);
                    int at = ((arenaBytes + 63) & ~63) + rel;
                    _tensors[t] = before with { Offset = at };
                    if (!PartsAreDisjoint(h, last + 1, parts))
                    {
                        _tensors[t] = before;
                        break;
                    }
                    moved.Add((rel, before.ByteLength, first, lastUse));
                    extra = System.Math.Max(extra, at + before.ByteLength - arenaBytes);
                }
                last++;
            }
            if (last == h) continue;
            end[h] = last;
            chainParts[h] = parts;
            h = last;
        }
        return (end, chainParts, extra);
    }

    /// <summary>The last op reading <paramref name="tensor"/> (written by op <paramref name="first"/>); past the last op for a model output.</summary>
    private int LastUse(int tensor, int first)
    {
        foreach (var o in _model.Outputs) if (o.TensorIndex == tensor) return _ops.Length;
        int last = first;
        for (int k = first + 1; k < _ops.Length; k++)
            for (int i = 0; i < _ops[k].InputCount; i++)
                if (_ops[k].Input(i) == tensor) last = k;
        return last;
    }

    /// <summary>The lowest 64-byte aligned offset after the arena where <paramref name="bytes"/> live over ops [first, last] meet no moved tensor live at the same time.</summary>
    private static int MovedSlot(List<(int At, int Bytes, int First, int Last)> moved, int bytes, int first, int last)
    {
        int at = 0;
        bool clash = true;
        while (clash)
        {
            clash = false;
            foreach (var m in moved)
            {
                if (m.Last < first || last < m.First) continue;
                if (at < m.At + m.Bytes && m.At < at + bytes)
                {
                    at = (m.At + m.Bytes + 63) & ~63;
                    clash = true;
                }
            }
        }
        return at;
    }

    private bool IsModelInput(int tensor)
    {
        foreach (var i in _model.Inputs) if (i.TensorIndex == tensor) return true;
        return false;
    }

    /// <summary>
    /// Parts op <paramref name="h"/> splits into as the first op of a chain (0: it cannot start one), and the
    /// H x W pixels of its output.
    /// </summary>
    private int HeadParts(int h, int threads, out int pixels)
    {
        ref readonly var op = ref _ops[h];
        var oS = _tensors[op.Output0].Shape;
        pixels = oS.D1 * oS.D2;
        if (op.Type is OpType.Conv2D or OpType.DepthwiseConv2D)
            return _bands[h] > 1 && oS.D0 == 1 ? _bands[h] : 0;
        if (op.Type is OpType.Add or OpType.Sub && IsPixelLocal(h, pixels)) return System.Math.Min(threads, pixels);
        return 0;
    }

    /// <summary>
    /// Op <paramref name="k"/> reads only the pixels it writes, over <paramref name="pixels"/> = H x W: a batch-1
    /// pointwise Conv2D (<see cref="IsPointwise"/>) or an int8 batch-1 Add/Sub of three equal rank-4 shapes.
    /// </summary>
    private bool IsPixelLocal(int k, int pixels)
    {
        ref readonly var op = ref _ops[k];
        ref readonly var o = ref _tensors[op.Output0];
        var oS = o.Shape;
        if (oS.D0 != 1 || oS.D1 * oS.D2 != pixels || o.Type != TensorType.Int8 || o.Rank != 4) return false;
        if (op.Type == OpType.Conv2D) return _pointwise[k];
        if (op.Type is OpType.Add or OpType.Sub)
            return _tensors[op.Input0].Shape == oS && _tensors[op.Input1].Shape == oS
                && _tensors[op.Input0].Type == TensorType.Int8 && _tensors[op.Input1].Type == TensorType.Int8;
        return false;
    }

    /// <summary>Pixels [p0, p1) part <paramref name="part"/> of the chain starting at op <paramref name="h"/> covers.</summary>
    private void ChainPixels(int h, int part, int parts, out int p0, out int p1)
    {
        ref readonly var op = ref _ops[h];
        if (op.Type is OpType.Conv2D or OpType.DepthwiseConv2D && !_pixelBands[h])
        {
            // The first op's own bands: rows of its view (pixels for a pointwise op, whose view is H x W rows of 1).
            int rows = ConvolutionView(h, out _, out var oS);
            p0 = (int)((long)rows * part / parts) * oS.D2;
            p1 = (int)((long)rows * (part + 1) / parts) * oS.D2;
            return;
        }
        var s = _tensors[op.Output0].Shape;
        int n = s.D1 * s.D2;
        p0 = (int)((long)n * part / parts);
        p1 = (int)((long)n * (part + 1) / parts);
    }

    /// <summary>
    /// The pixels part <paramref name="part"/> of the chain starting at op <paramref name="h"/> covers, as ranges
    /// [bounds[2i], bounds[2i + 1]) in order; returns how many (at most 3; 0 for none). One range, but for a Winograd
    /// convolution split by tiles (<see cref="TileSegments"/>).
    /// </summary>
    private int ChainSegments(int h, int part, int parts, Span<int> bounds)
    {
        if (_tileBands[h]) return TileSegments(h, part, parts, bounds);
        ChainPixels(h, part, parts, out bounds[0], out bounds[1]);
        return bounds[1] > bounds[0] ? 1 : 0;
    }

    /// <summary>
    /// The pixels of part <paramref name="part"/>'s range of 2x2 tiles (<see cref="TileRange"/>) as ranges of pixels:
    /// the rest of the first tile row's two pixel rows (two ranges when it starts inside the row), the whole tile rows
    /// after it joined to those, and the start of the last tile row's two rows. 14x14 in two parts: tiles 0-24 are
    /// pixels [0, 92) and [98, 106), tiles 25-48 [92, 98) and [106, 196).
    /// </summary>
    private int TileSegments(int h, int part, int parts, Span<int> bounds)
    {
        TileRange(h, part, parts, out int t0, out int t1, out int tw);
        if (t1 <= t0) return 0;
        var oS = _tensors[_ops[h].Output0].Shape;
        int ho = oS.D1, wo = oS.D2, n = 0;
        for (int ty = t0 / tw; ty <= (t1 - 1) / tw; ty++)
        {
            int x0 = 2 * System.Math.Max(t0 - ty * tw, 0), x1 = System.Math.Min(2 * System.Math.Min(t1 - ty * tw, tw), wo);
            for (int y = 2 * ty; y < System.Math.Min(2 * ty + 2, ho); y++)
            {
                int s0 = y * wo + x0, s1 = y * wo + x1;
                if (n > 0 && bounds[2 * n - 1] == s0)
                    bounds[2 * n - 1] = s1;
                else
                {
                    bounds[2 * n] = s0;
                    bounds[2 * n + 1] = s1;
                    n++;
                }
            }
        }
        return n;
    }

    /// <summary>Part <paramref name="part"/> of every op of the chain <paramref name="h"/>..<paramref name="last"/>, in order.</summary>
    private void RunChainPart(int h, int last, int part, int parts)
    {
        Span<int> bounds = stackalloc int[8];
        int segments = ChainSegments(h, part, parts, bounds);
        if (segments == 0) return;
        for (int k = h; k <= last; k++)
        {
            ref readonly var op = ref _ops[k];
            if (k == h && op.Type is OpType.Conv2D or OpType.DepthwiseConv2D)
            {
                RunConvolutionBand(k, part, parts);
                continue;
            }
            for (int g = 0; g < segments; g++)
            {
                int p0 = bounds[2 * g], p1 = bounds[2 * g + 1];
                if (op.Type is OpType.Add or OpType.Sub)
                {
                    int c = _tensors[op.Output0].Shape.D3;
                    RunAddRange(k, p0 * c, p1 * c);
                }
                else RunConvolutionRows(k, p0, p1, part); // pointwise: rows of its view are pixels
            }
        }
    }

    /// <summary>
    /// Whether, in the chain <paramref name="h"/>..<paramref name="last"/> split into <paramref name="parts"/>, no part
    /// writes arena bytes that another part reads or writes (the arena planner reuses memory, so a tensor written
    /// late in the chain may occupy the bytes of one read early in it).
    /// </summary>
    private bool PartsAreDisjoint(int h, int last, int parts)
    {
        var reads = new List<(int From, int To)>[parts];
        var writes = new List<(int From, int To)>[parts];
        Span<int> bounds = stackalloc int[8];
        for (int b = 0; b < parts; b++)
        {
            reads[b] = [];
            writes[b] = [];
            int segments = ChainSegments(h, b, parts, bounds);
            for (int g = 0; g < segments; g++)
            {
                int p0 = bounds[2 * g], p1 = bounds[2 * g + 1];
                for (int k = h; k <= last; k++)
                {
                    ref readonly var op = ref _ops[k];
                    if (op.Type is OpType.Add or OpType.Sub)
                    {
                        int c = _tensors[op.Output0].Shape.D3;
                        AddRange(reads[b], op.Input0, p0 * c, p1 * c);
                        AddRange(reads[b], op.Input1, p0 * c, p1 * c);
                        AddRange(writes[b], op.Output0, p0 * c, p1 * c);
                        continue;
                    }
                    // Pixels [p0, p1) of the op's view (rows of W pixels; a pointwise op's rows are pixels): it reads
                    // whole input rows of the output rows it touches and writes exactly its pixels.
                    var p = _model.ReadParams<Conv2DParams>(op);
                    ConvolutionView(k, out var inS, out var oS);
                    int w = oS.D2;
                    int y0 = p0 / w, y1 = (p1 + w - 1) / w;
                    RowWindow(p.StrideH, p.PadTop, p.DilationH, _tensors[op.Input1].Shape.D1, inS.D1, y0, y1, out int c0, out int c1, out _, out _);
                    int inRow = inS.D2 * inS.D3;
                    AddRange(reads[b], op.Input0, c0 * inRow, c1 * inRow);
                    AddRange(writes[b], op.Output0, p0 * oS.D3, p1 * oS.D3);
                }
            }
        }
        for (int a = 0; a < parts; a++)
            for (int b = 0; b < parts; b++)
            {
                if (a == b) continue;
                foreach (var w in writes[a])
                {
                    foreach (var r in reads[b]) if (w.From < r.To && r.From < w.To) return false;
                    foreach (var x in writes[b]) if (w.From < x.To && x.From < w.To) return false;
                }
            }
        return true;
    }

    /// <summary>Adds elements [from, to) of int8 tensor <paramref name="tensor"/> as arena bytes (constants are never written).</summary>
    private void AddRange(List<(int From, int To)> list, int tensor, int from, int to)
    {
        ref readonly var t = ref _tensors[tensor];
        if (t.Storage == TensorStorage.Arena && to > from) list.Add((t.Offset + from, t.Offset + to));
    }
}
