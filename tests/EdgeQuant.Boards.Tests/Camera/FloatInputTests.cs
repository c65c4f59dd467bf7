using EdgeQuant.Boards.Camera;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Camera;

/// <summary>
/// A float32-input model (it starts with a Quantize op): the pipeline writes the normalized floats
/// and the model's own Quantize produces the int8 codes. Those codes must equal what the int8
/// table gives for the same pixels, and what SetInput of the float image gives.
/// </summary>
public class FloatInputTests
{
    private static (byte[] Blob, int QuantizedTensor) QuantizeDequantizeModel(int h, int w, float scale, int zp)
    {
        var mw = new ModelWriter();
        int q = mw.AddQuantization([scale], zp);
        int xf = mw.AddActivation(TensorType.Float32, [1, h, w, 3], -1);
        int xq = mw.AddActivation(TensorType.Int8, [1, h, w, 3], q);
        int yf = mw.AddActivation(TensorType.Float32, [1, h, w, 3], -1);
        mw.AddOp(OpType.Quantize, [xf], [xq], new QuantizeParams { Scale = scale, ZeroPoint = zp });
        mw.AddOp(OpType.Dequantize, [xq], [yf], new QuantizeParams { Scale = scale, ZeroPoint = zp });
        mw.AddInput("image", xf);
        mw.AddOutput("same", yf);
        mw.SetMetadata(PixelNormalization.MetadataKey, new PixelNormalization([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]).ToMetadataValue());
        return (mw.Build(), xq);
    }

    [TestCase(0.02f, -5)]
    [TestCase(0.0173f, 12)]
    [TestCase(0.05f, 0)]
    public void FloatTablePath_GivesTheCodesOfTheInt8Table(float scale, int zp)
    {
        var (blob, xq) = QuantizeDequantizeModel(12, 16, scale, zp);
        var model = Model.Load(blob);
        Assert.That(model.Tensors[model.Inputs[0].TensorIndex].Type, Is.EqualTo(TensorType.Float32));
        var interp = new Interpreter(model);
        var pipe = new CameraPipeline(interp, 50, 30, FrameFormat.Rgb24);
        Assert.That(pipe.Table.IsFloat);
        var int8Table = PixelTable.ForInt8(pipe.Normalization, 3, scale, zp);
        var check = new Interpreter(model);
        var rng = new Random(9);
        var frame = new byte[50 * 30 * 3];
        for (int trial = 0; trial < 5; trial++)
        {
            rng.NextBytes(frame);
            pipe.Process(frame);
            interp.Invoke();
            var codes = interp.GetTensorS8(xq).ToArray();
            var (cx, cy, cw, ch) = pipe.Crop;
            var pixels = CameraPipelineTests.AreaResizeReference(frame, 50, 3, cx, cy, cw, ch, 16, 12);
            var expected = new sbyte[pixels.Length];
            var floats = new float[pixels.Length];
            for (int i = 0; i < pixels.Length; i++)
            {
                expected[i] = int8Table.Codes(i % 3)[pixels[i]];
                floats[i] = pipe.Normalization.Normalize(pixels[i], i % 3);
            }
            Assert.That(codes, Is.EqualTo(expected));
            check.SetInput(floats);
            check.Invoke();
            Assert.That(check.GetTensorS8(xq).ToArray(), Is.EqualTo(codes));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) { pipe.Process(frame); interp.Invoke(); }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
