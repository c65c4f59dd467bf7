using System.Device.Gpio;

namespace EdgeQuant.Boards.Gpio;

/// <summary>
/// Drives one output pin (a LED or a relay) from a stream of per-inference decisions, with
/// debounce and hysteresis: the pin turns on after <see cref="OnCount"/> consecutive active
/// inferences and off after <see cref="OffCount"/> consecutive inactive ones, so a single
/// flickering frame does not toggle it. With scores, "active" starts at the on-threshold and only
/// ends below the (lower) off-threshold. Allocates nothing per update.
/// </summary>
public sealed class GpioAction : IDisposable
{
    private readonly GpioController _controller;
    private readonly bool _shouldDispose;
    private readonly PinValue _activeLevel;
    private int _run;
    private bool _scoreActive;

    public int Pin { get; }
    public int OnCount { get; }
    public int OffCount { get; }
    /// <summary>The debounced state (true: the pin is at the active level).</summary>
    public bool IsOn { get; private set; }
    /// <summary>Called after each pin change with (pin, on); made once by the caller, so no allocation per call.</summary>
    public Action<int, bool>? Changed { get; set; }

    /// <param name="controller">The controller owning <paramref name="pin"/> (a real <see cref="GpioController"/> or a VirtualGpioController).</param>
    /// <param name="pin">Pin number in the controller's numbering; opened as an output, driven inactive.</param>
    /// <param name="shouldDispose">Dispose <paramref name="controller"/> with this action.</param>
    /// <param name="onCount">Consecutive active updates needed to switch on (1 = no debounce).</param>
    /// <param name="offCount">Consecutive inactive updates needed to switch off.</param>
    /// <param name="activeHigh">The pin level meaning "on".</param>
    /// <exception cref="BoardsException">The pin cannot be opened as an output.</exception>
    public GpioAction(GpioController controller, int pin, bool shouldDispose = true, int onCount = 3, int offCount = 3, bool activeHigh = true)
    {
        ArgumentNullException.ThrowIfNull(controller);
        if (onCount < 1 || offCount < 1) throw new ArgumentOutOfRangeException(nameof(onCount), "debounce counts must be at least 1");
        _controller = controller;
        _shouldDispose = shouldDispose;
        _activeLevel = activeHigh ? PinValue.High : PinValue.Low;
        Pin = pin;
        OnCount = onCount;
        OffCount = offCount;
        try
        {
            if (!controller.IsPinOpen(pin)) controller.OpenPin(pin);
            controller.SetPinMode(pin, PinMode.Output);
            controller.Write(pin, activeHigh ? PinValue.Low : PinValue.High);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new BoardsException($"gpio: cannot drive pin {pin} as an output: {e.Message}", e);
        }
    }

    /// <summary>Feeds one decision; returns the debounced state.</summary>
    public bool Update(bool active)
    {
        if (active == IsOn) { _run = 0; return IsOn; }
        if (++_run >= (active ? OnCount : OffCount))
        {
            _run = 0;
            IsOn = active;
            _controller.Write(Pin, active ? _activeLevel : (_activeLevel == PinValue.High ? PinValue.Low : PinValue.High));
            Changed?.Invoke(Pin, active);
        }
        return IsOn;
    }

    /// <summary>Feeds a score with hysteresis: active from <paramref name="onThreshold"/> up, inactive below <paramref name="offThreshold"/>, unchanged in between.</summary>
    public bool Update(float score, float onThreshold, float offThreshold)
    {
        if (score >= onThreshold) _scoreActive = true;
        else if (score < offThreshold) _scoreActive = false;
        return Update(_scoreActive);
    }

    public void Dispose()
    {
        if (_shouldDispose) _controller.Dispose();
    }
}
