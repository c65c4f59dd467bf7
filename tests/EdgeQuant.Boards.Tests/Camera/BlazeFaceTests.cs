using System.Text.Json;
using EdgeQuant.Boards.Camera;
using EdgeQuant.Boards.Decoding;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Calibration;
using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Camera;

/// <summary>
/// BlazeFace (the zoo's real pretrained face detector) through the camera pipeline: RGB frames of
/// real photos, int8 inference, anchors, decoding and NMS, against ONNX Runtime's float decoding
/// of the same frames.
/// </summary>
public class BlazeFaceTests
{
    private static string Dir(string f) => Path.Combine(TestModels.Zoo("blazeface"), f);
    private static Model? _model;

    private static Model Int8Model()
    {
        if (_model is not null) return _model;
        var loaded = ModelConverter.Load(Dir("face_detection_front_128x128_barracuda.onnx"));
        var calib = NpyFile.Read(Dir("blazeface.calib.npy"));
        var set = new SampleSet(calib.ToFloat32("calibration"), calib.Shape, "blazeface.calib.npy");
        // MSE calibration: the zoo README explains why min-max leaves the stride-16 score logits coarse.
        var result = ModelConverter.Convert(loaded, set, new ConvertOptions
        {
            Method = CalibrationMethod.Mse,
            Pixels = new PixelNormalization([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]),
        });
        return _model = Model.Load(result.Blob);
    }

    private static List<(float Score, float[] Box)> OrtDetections(JsonElement frame)
    {
        var r = new List<(float, float[])>();
        foreach (var d in frame.GetProperty("detections").EnumerateArray())
            r.Add(((float)d.GetProperty("score").GetDouble(), d.GetProperty("box").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()));
        return r;
    }

    private static float IoU(float[] b, in Detection d) =>
        Detection.IoU(new Detection { XMin = b[0], YMin = b[1], XMax = b[2], YMax = b[3] }, d);

    [Test]
    public void OurDecoder_OnOrtsRawOutputs_GivesOrtsDetections()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Dir("blazeface.json")));
        var scores = NpyFile.Read(Dir("blazeface.ort_scores.npy")).ToFloat32("scores");
        var boxes = NpyFile.Read(Dir("blazeface.ort_boxes.npy")).ToFloat32("boxes");
        var anchors = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        var centres = NpyFile.Read(Dir("blazeface.anchors.npy")).ToFloat32("anchors");
        for (int i = 0; i < anchors.Length; i++)
        {
            Assert.That(anchors[i].XCenter, Is.EqualTo(centres[2 * i]).Within(1e-6), $"anchor {i} x");
            Assert.That(anchors[i].YCenter, Is.EqualTo(centres[2 * i + 1]).Within(1e-6), $"anchor {i} y");
        }
        var dec = new SsdDecoder(anchors, SsdDecoderOptions.BlazeFace with { Nms = NmsMode.Hard });
        var res = new Detection[16];
        int f = 0;
        foreach (var frame in json.RootElement.GetProperty("frames").EnumerateArray())
        {
            int n = dec.Decode(boxes.AsSpan(f * 896 * 16, 896 * 16), scores.AsSpan(f * 896, 896), res);
            var ort = OrtDetections(frame);
            Assert.That(n, Is.EqualTo(ort.Count), $"frame {f}");
            for (int k = 0; k < n; k++)
            {
                Assert.That(res[k].Score, Is.EqualTo(ort[k].Score).Within(1e-4));
                Assert.That(IoU(ort[k].Box, res[k]), Is.GreaterThan(0.999));
            }
            f++;
        }
    }

    [Test]
    public void CameraPipeline_Int8_FindsTheFacesOrtFinds()
    {
        var model = Int8Model();
        using var json = JsonDocument.Parse(File.ReadAllText(Dir("blazeface.json")));
        var frames = NpyFile.Read(Dir("blazeface.frames.npy"));
        var interp = new Interpreter(model);
        var pipe = new CameraPipeline(interp, 128, 128, FrameFormat.Rgb24);
        Assert.That(pipe.Normalization.ToMetadataValue(), Is.EqualTo("mean=0.5,0.5,0.5;std=0.5,0.5,0.5"));
        var outputs = new DetectorOutputs(interp, new SsdDecoder(SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront), SsdDecoderOptions.BlazeFace));
        var res = new Detection[16];
        int f = 0, faces = 0, found = 0;
        foreach (var frame in json.RootElement.GetProperty("frames").EnumerateArray())
        {
            pipe.Process(frames.Data.AsSpan(f * 128 * 128 * 3, 128 * 128 * 3));
            interp.Invoke();
            int n = outputs.Decode(res);
            var ort = OrtDetections(frame);
            foreach (var (score, box) in ort)
            {
                faces++;
                float best = 0;
                for (int k = 0; k < n; k++) best = Math.Max(best, IoU(box, res[k]));
                TestContext.Out.WriteLine($"frame {f} ({frame.GetProperty("name").GetString()}): ORT face {score:F3}, best int8 IoU {best:F3}");
                if (best >= 0.5f) found++;
            }
            // Extra int8 detections (no ORT face within IoU 0.5) must be borderline.
            for (int k = 0; k < n; k++)
            {
                bool matched = ort.Any(o => IoU(o.Box, res[k]) >= 0.5f);
                if (!matched) TestContext.Out.WriteLine($"frame {f}: extra int8 detection {res[k].Score:F3}");
                if (!matched) Assert.That(res[k].Score, Is.LessThan(0.6f), $"frame {f}: confident extra detection");
            }
            f++;
        }
        Assert.That(faces, Is.EqualTo(6));
        Assert.That(found, Is.EqualTo(faces));
    }

    [Test]
    public void Yuyv320x240_IntoBlazeFace_AllocatesNothingPerFrame()
    {
        var model = Int8Model();
        var interp = new Interpreter(model);
        var pipe = new CameraPipeline(interp, 320, 240, FrameFormat.Yuyv);
        Assert.That(pipe.Crop, Is.EqualTo((40, 0, 240, 240)));
        var outputs = new DetectorOutputs(interp, new SsdDecoder(SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront), SsdDecoderOptions.BlazeFace));
        var frame = new byte[pipe.FrameBytes];
        new Random(2).NextBytes(frame);
        var res = new Detection[16];
        for (int i = 0; i < 3; i++) { pipe.Process(frame); interp.Invoke(); outputs.Decode(res); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) { pipe.Process(frame); interp.Invoke(); outputs.Decode(res); }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
