using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// One-op cases of ops 50-54 (docs/format.md 5.10, 5.11): Conv2DCompressed, DepthwiseConv2DCompressed and
/// FullyConnectedCompressed (int4, index4 and index8 filters in turn, one to Cout codebook groups, the int32 bias
/// tensor and per-channel multiplier/shift arrays of the int8 ops) and Conv2DSparse / FullyConnectedSparse (sparse
/// rows from empty to full, every density in between). Random geometry (padding, strides 1-3, dilations 1-2, depth
/// multipliers 1-3, rank-2 and rank-4 FullyConnected inputs), converter-style and extreme requantization, and in
/// about half the cases a folded bias (bias + input_offset × Σ decoded weights, the reader checks it against the
/// decoded filter). Expected outputs: the C# Interpreter with ReferenceKernelsOnly.
/// </summary>
internal static class UnpackedCases
{
    private static readonly TensorType[] Types = [TensorType.Int4, TensorType.Index4, TensorType.Index8];

    /// <summary>A random compressed filter [rows, rowElements] as its bytes and codebook (empty for int4).</summary>
    private static (byte[] Data, sbyte[] Codebook) Filter(Random r, TensorType type, int rows, int rowElements, int cout)
    {
        int rowBytes = type == TensorType.Index8 ? rowElements : CompressedWeights.PackedRowBytes(rowElements);
        var data = new byte[rows * rowBytes];
        for (int row = 0; row < rows; row++)
            for (int c = 0; c < rowElements; c++)
            {
                int v = type switch { TensorType.Int4 => r.Next(-8, 8) & 15, TensorType.Index4 => r.Next(16), _ => r.Next(256) };
                if (type == TensorType.Index8) data[row * rowBytes + c] = (byte)v;
                else data[row * rowBytes + c / 2] |= (byte)(v << (4 * (c & 1)));
            }
        if (type == TensorType.Int4) return (data, []);
        var divisors = new List<int>();
        for (int g = 1; g <= cout; g++) if (cout % g == 0) divisors.Add(g);
        int groups = divisors[r.Next(divisors.Count)];
        var book = new sbyte[groups * CompressedWeights.CodebookSize(type)];
        for (int k = 0; k < book.Length; k++) book[k] = (sbyte)r.Next(-128, 128);
        return (data, book);
    }

    /// <summary>Sparse rows (docs/format.md 5.11) of <paramref name="k"/> elements, each row at its own random density.</summary>
    private static (byte[] Data, int[] RowSums) Sparse(Random r, int rows, int k)
    {
        var starts = new int[rows + 1];
        var cols = new List<ushort>();
        var values = new List<sbyte>();
        var sums = new int[rows];
        for (int row = 0; row < rows; row++)
        {
            double density = r.Next(5) switch { 0 => 0, 1 => 1, _ => r.NextDouble() };
            for (int c = 0; c < k; c++)
                if (r.NextDouble() < density)
                {
                    cols.Add((ushort)c);
                    sbyte v = (sbyte)r.Next(-128, 128);
                    values.Add(v);
                    sums[row] += v;
                }
            starts[row + 1] = cols.Count;
        }
        int nnz = cols.Count;
        var data = new byte[CompressedWeights.SparseBytes(rows, nnz)];
        for (int i = 0; i <= rows; i++) BitConverter.TryWriteBytes(data.AsSpan(4 * i), starts[i]);
        for (int i = 0; i < nnz; i++) BitConverter.TryWriteBytes(data.AsSpan(CompressedWeights.SparseColumnsOffset(rows) + 2 * i), cols[i]);
        for (int i = 0; i < nnz; i++) data[CompressedWeights.SparseValuesOffset(rows, nnz) + i] = (byte)values[i];
        return (data, sums);
    }

    /// <summary>Bias, multipliers and shifts of <paramref name="cout"/> channels; some int32 biases near the limits.</summary>
    private static (int[] Bias, int[] M, int[] S) Requant(Random r, int cout, float si, float so)
    {
        var bias = new int[cout];
        var mult = new int[cout];
        var shifts = new int[cout];
        bool extremeBias = r.Next(4) == 0;
        for (int c = 0; c < cout; c++)
        {
            bias[c] = extremeBias && r.Next(3) == 0 ? (r.Next(2) == 0 ? int.MaxValue - r.Next(1000) : int.MinValue + r.Next(1000)) : r.Next(-200000, 200001);
            (mult[c], shifts[c]) = Cases.Requant(r, (double)si * Cases.Scale(r, 0.001, 0.05) / so);
        }
        return (bias, mult, shifts);
    }

    /// <summary>bias + input_offset × Σ w per channel, wrapping as the accumulator (CompressedPrepared's fold).</summary>
    private static int[] Fold(int[] bias, int inputOffset, Func<int, int> channelSum)
    {
        var f = new int[bias.Length];
        for (int oc = 0; oc < bias.Length; oc++) f[oc] = unchecked(bias[oc] + inputOffset * channelSum(oc));
        return f;
    }

    public static ModelWriter Conv(Random r, int index, OpType op)
    {
        bool depthwise = op == OpType.DepthwiseConv2DCompressed, sparse = op == OpType.Conv2DSparse;
        var type = Types[index % 3];
        while (true)
        {
            int n = 1 + r.Next(2), h = 1 + r.Next(9), wd = 1 + r.Next(9);
            int cin = depthwise ? 1 + index % 7 : 1 + index % 13;
            int kh = new[] { 1, 1, 2, 3, 3, 5 }[r.Next(6)], kw = r.Next(3) == 0 ? 1 + r.Next(4) : kh;
            int sh = 1 + r.Next(3), sw = 1 + r.Next(3), dh = 1 + r.Next(2), dw = 1 + r.Next(2);
            int pt = r.Next(3), pl = r.Next(3), pb = r.Next(3), pr = r.Next(3);
            int oh = Cases.OutSize(h, kh, sh, dh, pt, pb), ow = Cases.OutSize(wd, kw, sw, dw, pl, pr);
            if (oh < 1 || ow < 1) continue;
            int dm = depthwise ? 1 + r.Next(3) : 1;
            int cout = depthwise ? cin * dm : 1 + r.Next(17);
            var w = new ModelWriter();
            float si = Cases.Scale(r), so = Cases.Scale(r, 0.01, 1.0);
            int zi = Cases.Zp(r), zo = Cases.Zp(r);
            int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
            int rowElements = fdims[1] * fdims[2] * fdims[3];
            int x = w.AddActivation(TensorType.Int8, [n, h, wd, cin], w.AddQuantization([si], zi));
            int y = w.AddActivation(TensorType.Int8, [n, oh, ow, cout], w.AddQuantization([so], zo));
            var (bias, mult, shifts) = Requant(r, cout, si, so);
            int amin = -128, amax = 127;
            if (r.Next(3) == 0) { int a = r.Next(-128, 128), b = r.Next(-128, 128); (amin, amax) = (Math.Min(a, b), Math.Max(a, b)); }
            int f, cb = -1;
            Func<int, int> sum;
            if (sparse)
            {
                var (data, sums) = Sparse(r, cout, rowElements);
                f = w.AddConstantEncoded(TensorType.SparseInt8, fdims, data, -1);
                sum = oc => sums[oc];
            }
            else
            {
                var (data, book) = Filter(r, type, fdims[0], rowElements, cout);
                f = w.AddConstantEncoded(type, fdims, data, -1);
                if (book.Length > 0) cb = w.AddConstant<sbyte>(TensorType.Int8, [book.Length / CompressedWeights.CodebookSize(type), CompressedWeights.CodebookSize(type)], book, w.AddQuantization([1f], 0));
                sum = oc =>
                {
                    var cf = new CompressedFilter(type, data, rowElements, book, cout);
                    int s = 0;
                    if (depthwise) for (int t = oc; t < rowElements; t += cout) s += cf.At(0, t, oc);
                    else for (int c = 0; c < rowElements; c++) s += cf.At(oc, c, oc);
                    return s;
                };
            }
            int bt = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
            int folded = r.Next(2) == 0 ? w.AddConstantData<int>(Fold(bias, -zi, sum)) : -1;
            w.AddOp(op, cb < 0 ? [x, f, bt] : [x, f, bt, cb], [y], new Conv2DParams
            {
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                InputOffset = -zi, OutputOffset = zo, ActivationMin = amin, ActivationMax = amax,
                MultipliersOffset = w.AddConstantData<int>(mult), ShiftsOffset = w.AddConstantData<int>(shifts),
                DepthMultiplier = dm, FoldedBiasOffset = folded,
            });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    public static ModelWriter FullyConnected(Random r, int index, OpType op)
    {
        bool sparse = op == OpType.FullyConnectedSparse;
        var type = Types[index % 3];
        int cin = 1 + (index * 7) % 72, cout = 1 + r.Next(20), batches = 1 + r.Next(3);
        var w = new ModelWriter();
        float si = Cases.Scale(r), so = Cases.Scale(r, 0.01, 1.0);
        int zi = Cases.Zp(r), zo = Cases.Zp(r);
        int[] inDims = r.Next(2) == 0 ? [batches, cin] : [batches, 1, 1, cin];
        int x = w.AddActivation(TensorType.Int8, inDims, w.AddQuantization([si], zi));
        int y = w.AddActivation(TensorType.Int8, [batches, cout], w.AddQuantization([so], zo));
        var (bias, mult, shifts) = Requant(r, cout, si, so);
        int f, cb = -1;
        Func<int, int> sum;
        if (sparse)
        {
            var (data, sums) = Sparse(r, cout, cin);
            f = w.AddConstantEncoded(TensorType.SparseInt8, [cout, cin], data, -1);
            sum = oc => sums[oc];
        }
        else
        {
            var (data, book) = Filter(r, type, cout, cin, cout);
            f = w.AddConstantEncoded(type, [cout, cin], data, -1);
            if (book.Length > 0) cb = w.AddConstant<sbyte>(TensorType.Int8, [book.Length / CompressedWeights.CodebookSize(type), CompressedWeights.CodebookSize(type)], book, w.AddQuantization([1f], 0));
            sum = oc =>
            {
                var cf = new CompressedFilter(type, data, cin, book, cout);
                int s = 0;
                for (int c = 0; c < cin; c++) s += cf.At(oc, c, oc);
                return s;
            };
        }
        int bt = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
        int folded = r.Next(2) == 0 ? w.AddConstantData<int>(Fold(bias, -zi, sum)) : -1;
        w.AddOp(op, cb < 0 ? [x, f, bt] : [x, f, bt, cb], [y], new FullyConnectedParams
        {
            InputOffset = -zi, OutputOffset = zo, ActivationMin = -128, ActivationMax = 127,
            MultipliersOffset = w.AddConstantData<int>(mult), ShiftsOffset = w.AddConstantData<int>(shifts), FoldedBiasOffset = folded,
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }
}
