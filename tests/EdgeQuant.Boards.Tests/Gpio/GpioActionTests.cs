using System.Device.Gpio;
using EdgeQuant.Boards.Gpio;
using EdgeQuant.Boards.Simulation;
using Iot.Device.Gpio;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Gpio;

public class GpioActionTests
{
    private static (VirtualGpioController Virtual, MemoryGpioDriver Driver, GpioController Backing) Controller(int pin)
    {
        var driver = new MemoryGpioDriver();
        var backing = new GpioController(driver);
        var v = new VirtualGpioController();
        v.Add(pin, backing.OpenPin(pin, PinMode.Output));
        return (v, driver, backing);
    }

    [Test]
    public void Debounce_NeedsConsecutiveDecisions()
    {
        var (v, driver, backing) = Controller(17);
        var changes = new List<(int, bool)>();
        using var led = new GpioAction(v, 17, shouldDispose: true, onCount: 3, offCount: 2) { Changed = (p, on) => changes.Add((p, on)) };
        Assert.That(v.Read(17), Is.EqualTo(PinValue.Low));
        bool[] input = [true, true, false, true, true, true, true, false, true, false, false, false];
        bool[] expected = [false, false, false, false, false, true, true, true, true, true, false, false];
        for (int i = 0; i < input.Length; i++)
        {
            Assert.That(led.Update(input[i]), Is.EqualTo(expected[i]), $"step {i}");
            Assert.That(v.Read(17), Is.EqualTo(expected[i] ? PinValue.High : PinValue.Low), $"pin at step {i}");
            Assert.That(driver.ValueOf(17), Is.EqualTo(expected[i] ? PinValue.High : PinValue.Low));
        }
        Assert.That(changes, Is.EqualTo(new[] { (17, true), (17, false) }));
        backing.Dispose();
    }

    [Test]
    public void ScoreHysteresis_HoldsBetweenTheThresholds()
    {
        var (v, _, backing) = Controller(5);
        using var relay = new GpioAction(v, 5, shouldDispose: true, onCount: 1, offCount: 1, activeHigh: false);
        Assert.That(v.Read(5), Is.EqualTo(PinValue.High), "active-low relay starts released");
        float[] scores = [0.5f, 0.81f, 0.7f, 0.5f, 0.39f, 0.6f, 0.85f];
        bool[] on = [false, true, true, true, false, false, true];
        for (int i = 0; i < scores.Length; i++)
        {
            Assert.That(relay.Update(scores[i], 0.8f, 0.4f), Is.EqualTo(on[i]), $"score {scores[i]}");
            Assert.That(v.Read(5), Is.EqualTo(on[i] ? PinValue.Low : PinValue.High));
        }
        backing.Dispose();
    }

    [Test]
    public void Update_AllocatesNothing()
    {
        var (v, _, backing) = Controller(3);
        using var led = new GpioAction(v, 3, shouldDispose: true, onCount: 2, offCount: 2);
        for (int i = 0; i < 10; i++) led.Update(i % 3 != 0);
        // Debounced updates that do not change the pin.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) led.Update(i % 2 == 0);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        // Pin changes cost exactly what the controller's own Write costs (System.Device.Gpio 4.2.0
        // allocates per GpioController.Write); the action adds nothing on top.
        var controller = new GpioController(new MemoryGpioDriver());
        using var direct = new GpioAction(controller, 4, shouldDispose: true, onCount: 1, offCount: 1);
        for (int i = 0; i < 10; i++) direct.Update(i % 2 == 0);
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) direct.Update(i % 2 == 0);
        long viaAction = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) controller.Write(4, i % 2 == 0 ? PinValue.High : PinValue.Low);
        long viaController = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Out.WriteLine($"1000 pin changes: {viaAction} bytes through GpioAction, {viaController} bytes through GpioController.Write alone");
        Assert.That(viaAction, Is.EqualTo(viaController));
        backing.Dispose();
    }

    [Test]
    public void PinThatCannotBeOpened_IsAOneLineError()
    {
        using var v = new VirtualGpioController();
        var e = Assert.Throws<BoardsException>(() => new GpioAction(v, 22, shouldDispose: false));
        Assert.That(e!.Message, Does.StartWith("gpio: cannot drive pin 22 as an output"));
    }
}
