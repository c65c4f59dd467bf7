using System.Device.Gpio;
using System.Device.I2c;
using EdgeQuant.Boards;
using EdgeQuant.Boards.Gpio;
using EdgeQuant.Boards.Simulation;
using Iot.Device.Gpio;

namespace EdgeQuant.Pi;

/// <summary>Opens the real or simulated devices, with one-line errors for missing ones.</summary>
internal static class Devices
{
    /// <summary>The LED on <paramref name="pin"/>: a real GpioController, or (simulating) a VirtualGpioController whose pin changes are logged to stderr.</summary>
    public static GpioAction? Led(int? pin, bool simulate, TextWriter log)
    {
        if (pin is not { } p) return null;
        GpioController controller;
        if (simulate)
        {
            var driver = new MemoryGpioDriver();
            var backing = new GpioController(driver);
            var v = new VirtualGpioController();
            v.Add(p, backing.OpenPin(p, PinMode.Output));
            controller = v;
        }
        else
        {
            if (!File.Exists("/dev/gpiochip0"))
                throw new BoardsException("gpio: /dev/gpiochip0 does not exist (not a Raspberry Pi, or no GPIO access); run with --simulate or without --led-pin");
            try { controller = new GpioController(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidOperationException)
            {
                throw new BoardsException($"gpio: cannot open the GPIO controller: {e.Message}", e);
            }
        }
        var led = new GpioAction(controller, p, shouldDispose: true, onCount: 2, offCount: 2);
        led.Changed = (pinNumber, on) => log.WriteLine($"gpio: pin {pinNumber} -> {(on ? "high" : "low")}");
        return led;
    }

    public static I2cDevice I2c(int bus, int address)
    {
        string path = $"/dev/i2c-{bus}";
        if (!File.Exists(path))
            throw new BoardsException($"imu: {path} does not exist (enable I2C with raspi-config, see docs/raspberry-pi.md), or run with --simulate REPLAY.npy");
        try { return I2cDevice.Create(new I2cConnectionSettings(bus, address)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidOperationException)
        {
            throw new BoardsException($"imu: cannot open I2C bus {bus} address 0x{address:x2}: {e.Message}", e);
        }
    }
}
