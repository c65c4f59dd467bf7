using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Format;

[TestFixture]
public class ModelWriterTests
{
    [Test]
    public void AnUnusedArenaTensorStillGetsAPlaceInsideTheArena()
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 0);
        int x = w.AddActivation(TensorType.Int8, [1, 4], q);
        int y = w.AddActivation(TensorType.Int8, [1, 4], q);
        int unused = w.AddActivation(TensorType.Int8, [1, 4096], q);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        var m = Model.Load(w.Build());
        var t = m.Tensors[unused];
        Assert.That(t.Offset + t.ByteLength, Is.LessThanOrEqualTo(m.ArenaBytes));
        var interp = new Interpreter(m);
        interp.GetInput()[2] = 5;
        interp.Invoke();
        Assert.That(interp.GetOutput()[2], Is.EqualTo(5));
    }
}
