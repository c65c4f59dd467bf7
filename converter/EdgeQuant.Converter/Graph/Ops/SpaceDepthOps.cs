using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX DepthToSpace (modes DCR, the default, and CRD) and SpaceToDepth on [N, C, H, W] with
/// blocksize b. DCR reads output (c, h*b + i, w*b + j) from input channel (i*b + j)*C' + c; CRD
/// from c*b*b + i*b + j. SpaceToDepth is the inverse of DCR.
/// </summary>
internal static class SpaceDepthOps
{
    public static int[] InferShape(OpContext c)
    {
        var x = c.ShapeOfRank(0, 4, 4, "input");
        int b = BlockSize(c);
        if (c.Node.OpType == "DepthToSpace")
        {
            if (x[1] % (b * b) != 0) throw c.Node.Error($"channels {x[1]} are not a multiple of blocksize^2 = {b * b}");
            if (c.Node.GetString("mode", "DCR") is not ("DCR" or "CRD")) throw c.Node.Error($"attribute mode='{c.Node.GetString("mode", "DCR")}' is not valid; supported: DCR, CRD");
            return [x[0], x[1] / (b * b), x[2] * b, x[3] * b];
        }

        if (x[2] % b != 0 || x[3] % b != 0) throw c.Node.Error($"spatial size [{x[2]}, {x[3]}] is not a multiple of blocksize {b}");
        return [x[0], x[1] * b * b, x[2] / b, x[3] / b];
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var outShape = InferShape(c);
        var x = c.FloatTensor(0).FloatData;
        var y = new float[x.Length];
        int b = BlockSize(c);
        bool d2s = c.Node.OpType == "DepthToSpace";
        bool crd = d2s && c.Node.GetString("mode", "DCR") == "CRD";
        var (deep, wide) = d2s ? (c.Shape(0), outShape) : (outShape, c.Shape(0));
        int n = deep[0], cs = wide[1], h = deep[2], w = deep[3];
        for (int ni = 0; ni < n; ni++)
            for (int ci = 0; ci < cs; ci++)
                for (int yi = 0; yi < h * b; yi++)
                    for (int xi = 0; xi < w * b; xi++)
                    {
                        int i = yi % b, j = xi % b;
                        int dc = crd ? (ci * b * b) + (i * b) + j : (((i * b) + j) * cs) + ci;
                        int deepIndex = (((ni * deep[1]) + dc) * h + (yi / b)) * w + (xi / b);
                        int wideIndex = (((ni * cs) + ci) * h * b + yi) * w * b + xi;
                        if (d2s) y[wideIndex] = x[deepIndex];
                        else y[deepIndex] = x[wideIndex];
                    }

        return OnnxTensor.FromFloats(outShape, y);
    }

    public static int BlockSize(OpContext c)
    {
        long b = c.Node.GetInt("blocksize");
        if (b < 1 || b > 64) throw c.Node.Error($"attribute blocksize={b} must be in [1, 64]");
        return (int)b;
    }
}
