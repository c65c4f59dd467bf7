using System.Device.Gpio;

namespace EdgeQuant.Boards.Simulation;

/// <summary>
/// A GPIO driver over memory, with no hardware behind it: the pins a VirtualGpioController maps
/// come from a <see cref="GpioController"/> on this driver. Records every write (pin, value) and
/// reports it through <see cref="Written"/>.
/// </summary>
public sealed class MemoryGpioDriver : GpioDriver
{
    private readonly PinValue[] _values;
    private readonly PinMode[] _modes;

    /// <summary>Called on every write with (pin, value).</summary>
    public Action<int, PinValue>? Written { get; set; }
    /// <summary>Writes so far.</summary>
    public int WriteCount { get; private set; }

    public MemoryGpioDriver(int pinCount = 64)
    {
        _values = new PinValue[pinCount];
        _modes = new PinMode[pinCount];
    }

    protected override int PinCount => _values.Length;
    /// <summary>The last value written to (or the initial Low of) pin <paramref name="pin"/>.</summary>
    public PinValue ValueOf(int pin) => _values[pin];
    protected override void OpenPin(int pinNumber) => Check(pinNumber);
    protected override void ClosePin(int pinNumber) { }
    protected override void SetPinMode(int pinNumber, PinMode mode) => _modes[Check(pinNumber)] = mode;
    protected override PinMode GetPinMode(int pinNumber) => _modes[Check(pinNumber)];
    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;
    protected override PinValue Read(int pinNumber) => _values[Check(pinNumber)];
    protected override void Toggle(int pinNumber) => Write(pinNumber, _values[Check(pinNumber)] == PinValue.High ? PinValue.Low : PinValue.High);

    protected override void Write(int pinNumber, PinValue value)
    {
        _values[Check(pinNumber)] = value;
        WriteCount++;
        Written?.Invoke(pinNumber, value);
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the memory GPIO driver raises no events");
    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException("the memory GPIO driver raises no events");
    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) { }

    private int Check(int pin) =>
        pin >= 0 && pin < _values.Length ? pin : throw new ArgumentException($"pin {pin} is outside 0..{_values.Length - 1}", nameof(pin));
}
