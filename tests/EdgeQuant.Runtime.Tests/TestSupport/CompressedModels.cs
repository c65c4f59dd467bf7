using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// One-op models with a compressed (Int4, Index4, Index8) or sparse filter, each built together with
/// its dense twin: the same op with the decoded weights as a plain int8 filter. The compressed
/// model must compute exactly what the twin computes.
/// </summary>
public static class CompressedModels
{
    public enum Kind { Conv2D, Depthwise, FullyConnected }

    public sealed record Case(string Name, byte[] Blob, byte[] DenseBlob, int InputBytes);

    /// <param name="foldedBias">
    /// When given, both blobs carry a folded bias: it receives the exact fold per channel,
    /// <c>bias + inputOffset × Σ w</c> (as a long, unwrapped), and returns the int32 values to store.
    /// </param>
    /// <param name="tweakBias">Replaces the random biases (e.g. with values near the int32 limits).</param>
    /// <param name="packed">
    /// Ops 55-57 (Int4 / Index4 / Index8 only): no bias tensor, the packed per-channel record instead (int16 biases
    /// when they all fit, else int32; multipliers rounded to 16 bits for both blobs), the filter without a
    /// quantization record, the codebook as input 2.
    /// </param>
    /// <param name="tiledSparse">
    /// A sparse Conv2D declares the scratch of the pixel-tiled path (<see cref="SparseTiling.ScratchBytesFor"/>), as the
    /// converter writes it; without it the op declares none and runs the window-offset path.
    /// </param>
    /// <param name="dilation">Dilation of a convolution (both axes); 1 keeps the random stream of earlier cases.</param>
    /// <param name="keepOneIn">A sparse filter keeps about one weight in this many (4 unless given).</param>
    /// <param name="maxInput">Largest input height and width of a convolution (9 unless given).</param>
    /// <param name="tweakShifts">Replaces the random requantization shifts (in [−12, −4]), e.g. with left shifts.</param>
    public static Case Build(int seed, Kind kind, TensorType encoding, int groups = 1,
        Func<long[], int[]>? foldedBias = null, Func<int[], int[]>? tweakBias = null, bool packed = false,
        bool tiledSparse = false, int dilation = 1, int keepOneIn = 4, Func<int[], int[]>? tweakShifts = null, int maxInput = 9)
    {
        var r = new Rand(seed);
        bool conv = kind != Kind.FullyConnected, dw = kind == Kind.Depthwise;
        int cin = dw ? r.Int(1, 40) : r.Int(1, 70);
        int mult = dw ? r.Int(1, 2) : 1;
        if (dw && r.Bool()) { cin = 16 * r.Int(1, 3); mult = 1; } // the depthwise fast path's shape
        int cout = dw ? cin * mult : r.Int(1, 40);
        if (dw && cout % groups != 0) groups = 1;
        if (cout % groups != 0) cout = groups * System.Math.Max(1, cout / groups);
        int kh = conv ? r.Int(1, 3) : 1, kw = conv ? r.Int(1, 3) : 1;
        int inH = conv ? r.Int(kh, maxInput) : 1, inW = conv ? r.Int(kw, maxInput) : 1;
        if (dilation > 1)
        {
            // A dilated window spans (k - 1)·d + 1 inputs; larger inputs keep the output non-empty.
            inH += (kh - 1) * (dilation - 1);
            inW += (kw - 1) * (dilation - 1);
        }
        var p = new Conv2DParams
        {
            StrideH = r.Int(1, 2), StrideW = r.Int(1, 2), DilationH = dilation, DilationW = dilation,
            PadTop = r.Int(0, kh - 1), PadLeft = r.Int(0, kw - 1), PadBottom = r.Int(0, kh - 1), PadRight = r.Int(0, kw - 1),
            InputOffset = r.Int(-127, 128), OutputOffset = r.Int(-20, 20), ActivationMin = -128, ActivationMax = r.Int(50, 127),
            DepthMultiplier = dw ? mult : 1, FoldedBiasOffset = -1,
        };
        int outH = (inH + p.PadTop + p.PadBottom - (kh - 1) * dilation - 1) / p.StrideH + 1, outW = (inW + p.PadLeft + p.PadRight - (kw - 1) * dilation - 1) / p.StrideW + 1;
        int[] fdims = kind switch { Kind.Conv2D => [cout, kh, kw, cin], Kind.Depthwise => [1, kh, kw, cout], _ => [cout, cin] };
        int n = 1;
        foreach (int d in fdims) n *= d;
        int rows = fdims[0], per = n / rows;
        var values = new int[n];
        var indices = new int[n];
        int size = CompressedWeights.CodebookSize(encoding);
        var codebook = size == 0 ? [] : r.S8(groups * size, -128, 127);
        for (int i = 0; i < n; i++)
        {
            int oc = kind == Kind.Depthwise ? i % cout : i / per;
            switch (encoding)
            {
                case TensorType.Int4: values[i] = r.Int(-8, 7); break;
                case TensorType.SparseInt8: values[i] = r.Int(0, keepOneIn - 1) == 0 ? r.Int(-128, 127) : 0; break;
                default:
                    indices[i] = r.Int(0, size - 1);
                    values[i] = codebook[(oc / (cout / groups)) * size + indices[i]];
                    break;
            }
        }
        var bias = r.I32(cout, -30000, 30000);
        var mults = r.I32(cout, 1 << 30, int.MaxValue);
        var shifts = r.I32(cout, -12, -4);
        if (tweakBias is not null) bias = tweakBias(bias);
        if (tweakShifts is not null) shifts = tweakShifts(shifts);
        if (packed)
            for (int oc = 0; oc < cout; oc++) (mults[oc], shifts[oc]) = PackedRequant.Round16(mults[oc], shifts[oc]);
        int[]? folded = null;
        if (foldedBias is not null)
        {
            var exact = new long[cout];
            for (int i = 0; i < n; i++) exact[kind == Kind.Depthwise ? i % cout : i / per] += values[i];
            for (int oc = 0; oc < cout; oc++) exact[oc] = bias[oc] + (long)p.InputOffset * exact[oc];
            folded = foldedBias(exact);
        }
        byte[] encoded = encoding switch
        {
            TensorType.Int4 => Pack4(values, rows),
            TensorType.Index4 => Pack4(indices, rows),
            TensorType.Index8 => Array.ConvertAll(indices, v => (byte)v),
            _ => Sparse(values, rows),
        };
        var dense = Array.ConvertAll(values, v => (sbyte)v);
        int batch = conv ? 1 : r.Int(1, 3);
        int[] inDims = conv ? [1, inH, inW, cin] : [batch, cin];
        int[] outDims = conv ? [1, outH, outW, cout] : [batch, cout];
        var type = (kind, encoding) switch
        {
            (Kind.Conv2D, TensorType.SparseInt8) => OpType.Conv2DSparse,
            (Kind.FullyConnected, TensorType.SparseInt8) => OpType.FullyConnectedSparse,
            (Kind.Conv2D, _) => packed ? OpType.Conv2DCompressedPacked : OpType.Conv2DCompressed,
            (Kind.Depthwise, _) => packed ? OpType.DepthwiseConv2DCompressedPacked : OpType.DepthwiseConv2DCompressed,
            _ => packed ? OpType.FullyConnectedCompressedPacked : OpType.FullyConnectedCompressed,
        };
        var denseType = kind switch { Kind.Conv2D => OpType.Conv2D, Kind.Depthwise => OpType.DepthwiseConv2D, _ => OpType.FullyConnected };
        byte[] PackedBlob()
        {
            var w = new ModelWriter { SmallDataAlignment = 4 };
            int x = w.AddActivation(TensorType.Int8, inDims, w.AddQuantization([0.05f], -p.InputOffset));
            int y = w.AddActivation(TensorType.Int8, outDims, w.AddQuantization([0.1f], p.OutputOffset));
            var ins = new List<int> { x, w.AddConstantEncoded(encoding, fdims, encoded, -1) };
            if (size > 0) ins.Add(w.AddConstant<sbyte>(TensorType.Int8, [groups, size], codebook, w.AddQuantization([1f], 0)));
            int biasBytes = PackedRequant.BiasBytesFor(bias);
            int rq = w.AddSmallConstantData(PackedRequant.Encode(bias, mults, shifts, biasBytes));
            if (kind == Kind.FullyConnected)
                w.AddOp(type, ins.ToArray(), [y], new FullyConnectedPackedParams
                {
                    InputOffset = (short)p.InputOffset, OutputOffset = (short)p.OutputOffset, ActivationMin = (sbyte)p.ActivationMin, ActivationMax = (sbyte)p.ActivationMax,
                    RequantOffset = rq, BiasBytes = (byte)biasBytes,
                });
            else
                w.AddOp(type, ins.ToArray(), [y], new Conv2DPackedParams
                {
                    StrideH = (short)p.StrideH, StrideW = (short)p.StrideW, DilationH = (short)p.DilationH, DilationW = (short)p.DilationW,
                    PadTop = (short)p.PadTop, PadLeft = (short)p.PadLeft, PadBottom = (short)p.PadBottom, PadRight = (short)p.PadRight,
                    InputOffset = (short)p.InputOffset, OutputOffset = (short)p.OutputOffset, ActivationMin = (sbyte)p.ActivationMin, ActivationMax = (sbyte)p.ActivationMax,
                    RequantOffset = rq, BiasBytes = (byte)biasBytes, DepthMultiplier = p.DepthMultiplier,
                }, dw ? 0 : KernelScratch.Conv2DBytes(kh, kw, cin, outW));
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w.Build();
        }
        byte[] Blob(bool compressed)
        {
            if (compressed && packed) return PackedBlob();
            var w = new ModelWriter();
            int x = w.AddActivation(TensorType.Int8, inDims, w.AddQuantization([0.05f], -p.InputOffset));
            int y = w.AddActivation(TensorType.Int8, outDims, w.AddQuantization([0.1f], p.OutputOffset));
            int fq = w.AddQuantization(new float[cout].Select(_ => 0.01f).ToArray(), 0, dw ? 3 : 0);
            int f = compressed ? w.AddConstantEncoded(encoding, fdims, encoded, fq) : w.AddConstant<sbyte>(TensorType.Int8, fdims, dense, fq);
            int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
            var ins = new List<int> { x, f, b };
            if (compressed && size > 0) ins.Add(w.AddConstant<sbyte>(TensorType.Int8, [groups, size], codebook, w.AddQuantization([1f], 0)));
            int mo = w.AddConstantData<int>(mults), so = w.AddConstantData<int>(shifts);
            int fo = folded is null ? -1 : w.AddConstantData<int>(folded);
            var op = compressed ? type : denseType;
            if (kind == Kind.FullyConnected)
                w.AddOp(op, ins.ToArray(), [y], new FullyConnectedParams
                {
                    InputOffset = p.InputOffset, OutputOffset = p.OutputOffset, ActivationMin = p.ActivationMin, ActivationMax = p.ActivationMax,
                    MultipliersOffset = mo, ShiftsOffset = so, FoldedBiasOffset = fo,
                });
            else
            {
                var cp = p;
                cp.MultipliersOffset = mo;
                cp.ShiftsOffset = so;
                cp.FoldedBiasOffset = fo;
                int scratch = op == OpType.Conv2DSparse
                    ? (tiledSparse ? SparseTiling.ScratchBytesFor(new Shape4(1, inH, inW, cin), new Shape4(cout, kh, kw, cin), new Shape4(1, outH, outW, cout), p.StrideH, p.StrideW, dilation, dilation) : 0)
                    : dw ? 0 : KernelScratch.Conv2DBytes(kh, kw, cin, outW);
                w.AddOp(op, ins.ToArray(), [y], cp, scratch);
            }
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w.Build();
        }
        int inputBytes = 1;
        foreach (int d in inDims) inputBytes *= d;
        return new Case($"{kind} {encoding} seed {seed} in [{string.Join(",", inDims)}] filter [{string.Join(",", fdims)}] groups {groups}", Blob(true), Blob(false), inputBytes);
    }

    public static byte[] Pack4(int[] values, int rows)
    {
        int per = values.Length / rows, rb = CompressedWeights.PackedRowBytes(per);
        var b = new byte[rows * rb];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < per; i++) b[r * rb + i / 2] |= (byte)((values[r * per + i] & 15) << (4 * (i & 1)));
        return b;
    }

    public static byte[] Sparse(int[] values, int rows)
    {
        int per = values.Length / rows;
        int nnz = values.Count(v => v != 0);
        var b = new byte[CompressedWeights.SparseBytes(rows, nnz)];
        int co = CompressedWeights.SparseColumnsOffset(rows), vo = CompressedWeights.SparseValuesOffset(rows, nnz), k = 0;
        for (int r = 0; r < rows; r++)
        {
            BitConverter.TryWriteBytes(b.AsSpan(4 * r), k);
            for (int c = 0; c < per; c++)
            {
                if (values[r * per + c] == 0) continue;
                BitConverter.TryWriteBytes(b.AsSpan(co + 2 * k), (ushort)c);
                b[vo + k++] = (byte)(sbyte)values[r * per + c];
            }
        }
        BitConverter.TryWriteBytes(b.AsSpan(4 * rows), k);
        return b;
    }

    /// <summary>Runs a blob on one random input; reference kernels only or the fast paths.</summary>
    public static byte[] Run(byte[] blob, byte[] input, bool reference)
    {
        var m = Model.Load(blob);
        using var it = new Interpreter(m, new InterpreterOptions { ReferenceKernelsOnly = reference });
        System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(it.GetInput()).Clear();
        input.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(it.GetInput()));
        it.Invoke();
        return System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(it.GetOutput()).ToArray();
    }
}
