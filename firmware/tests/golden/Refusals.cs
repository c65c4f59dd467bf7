using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// Valid one-op blobs (the C# reader loads each) of ops 50, 52 (int4 filters with int32 bias tensors) and 54 (a sparse
/// filter), and the status a C build without those op families (-DEQ_WITH_COMPRESSED_WEIGHTS=0
/// -DEQ_WITH_SPARSE_WEIGHTS=0) must refuse each with. tools/firmware-host/check.sh runs eq_run built that way on each
/// and expects the named refusal, and the default build, which runs ops 50-54, to load each. Written to a scratch
/// folder on request (not committed).
/// </summary>
internal static class Refusals
{
    /// <summary>(file name, blob, the C status eq_run must name).</summary>
    public static List<(string File, byte[] Blob, string Status)> All()
    {
        var list = new List<(string, byte[], string)>
        {
            ("op50_conv2d_compressed_int4.eqm", Compressed(OpType.Conv2DCompressed), "EQ_ERR_TENSORS"),
            ("op52_fully_connected_compressed_int4.eqm", Compressed(OpType.FullyConnectedCompressed), "EQ_ERR_TENSORS"),
            ("op54_fully_connected_sparse.eqm", Compressed(OpType.FullyConnectedSparse), "EQ_ERR_TENSORS"),
        };
        foreach (var (name, blob, _) in list) Model.Load(blob); // each must be a blob the C# runtime accepts
        return list;
    }

    /// <summary>Ops 50 (as a 1x1 Conv2D) and 52 with an int4 filter, op 54 with a dense-stored sparse filter.</summary>
    private static byte[] Compressed(OpType type)
    {
        const int cin = 5, cout = 3;
        var w = new ModelWriter();
        bool conv = type == OpType.Conv2DCompressed;
        int x = w.AddActivation(TensorType.Int8, conv ? [1, 2, 2, cin] : [1, cin], w.AddQuantization([0.05f], 3));
        int y = w.AddActivation(TensorType.Int8, conv ? [1, 2, 2, cout] : [1, cout], w.AddQuantization([0.1f], -7));
        int[] fdims = conv ? [cout, 1, 1, cin] : [cout, cin];
        int f;
        if (type == OpType.FullyConnectedSparse)
        {
            // Every weight stored: row starts 0, 5, 10, 15; columns 0-4 per row; values 1..15.
            var data = new byte[CompressedWeights.SparseBytes(cout, cout * cin)];
            for (int r = 0; r <= cout; r++) BitConverter.TryWriteBytes(data.AsSpan(4 * r), r * cin);
            for (int i = 0; i < cout * cin; i++) BitConverter.TryWriteBytes(data.AsSpan(CompressedWeights.SparseColumnsOffset(cout) + 2 * i), (ushort)(i % cin));
            for (int i = 0; i < cout * cin; i++) data[CompressedWeights.SparseValuesOffset(cout, cout * cin) + i] = (byte)(i + 1);
            f = w.AddConstantEncoded(TensorType.SparseInt8, fdims, data, -1);
        }
        else f = w.AddConstantEncoded(TensorType.Int4, fdims, new byte[cout * CompressedWeights.PackedRowBytes(cin)], -1);
        int b = w.AddConstant<int>(TensorType.Int32, [cout], new int[cout], -1);
        int mo = w.AddConstantData<int>(new int[] { 1 << 30, 1 << 30, 1 << 30 }), so = w.AddConstantData<int>(new int[] { -3, -3, -3 });
        if (conv)
            w.AddOp(type, [x, f, b], [y], new Conv2DParams
            {
                StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, InputOffset = -3, OutputOffset = -7,
                ActivationMin = -128, ActivationMax = 127, MultipliersOffset = mo, ShiftsOffset = so, DepthMultiplier = 1, FoldedBiasOffset = -1,
            });
        else
            w.AddOp(type, [x, f, b], [y], new FullyConnectedParams
            {
                InputOffset = -3, OutputOffset = -7, ActivationMin = -128, ActivationMax = 127, MultipliersOffset = mo, ShiftsOffset = so, FoldedBiasOffset = -1,
            });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w.Build();
    }
}
