using System.Device.I2c;
using Iot.Device.Imu;

namespace EdgeQuant.Boards.Imu;

/// <summary>
/// Reads MPU6050 samples through the dotnet/iot binding (<see cref="Mpu6050"/>, which sets
/// ±2 g and ±250 °/s): six values, accelerations in m/s² (x, y, z) then angular rates in °/s
/// (x, y, z). Allocates nothing per sample.
/// </summary>
public sealed class Mpu6050Reader : IDisposable
{
    private readonly Mpu6050 _sensor;
    private readonly bool _shouldDispose;

    /// <param name="device">The I2C device at the sensor's address.</param>
    /// <param name="shouldDispose">Dispose <paramref name="device"/> with this reader.</param>
    /// <param name="accelerometerRange">Full scale (the binding's default ±2 g; gestures need ±4 g or more).</param>
    /// <param name="gyroscopeRange">Full scale (the binding's default ±250 °/s).</param>
    /// <exception cref="BoardsException">No MPU6050 answers at that address (I/O error or wrong WHO_AM_I).</exception>
    public Mpu6050Reader(I2cDevice device, bool shouldDispose = true,
        AccelerometerRange accelerometerRange = AccelerometerRange.Range02G, GyroscopeRange gyroscopeRange = GyroscopeRange.Range0250Dps)
    {
        ArgumentNullException.ThrowIfNull(device);
        _shouldDispose = shouldDispose;
        try
        {
            _sensor = new Mpu6050(device);
            if (accelerometerRange != AccelerometerRange.Range02G) _sensor.AccelerometerRange = accelerometerRange;
            if (gyroscopeRange != GyroscopeRange.Range0250Dps) _sensor.GyroscopeRange = gyroscopeRange;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            var s = device.ConnectionSettings;
            throw new BoardsException($"imu: no MPU6050 on I2C bus {s.BusId} at address 0x{s.DeviceAddress:x2}: {e.Message}", e);
        }
    }

    /// <summary>Reads one sample into <paramref name="sample"/> (6 values).</summary>
    /// <exception cref="IOException">A transient bus error; the caller may skip the sample and carry on.</exception>
    public void Read(Span<float> sample)
    {
        var a = _sensor.GetAccelerometer();
        var g = _sensor.GetGyroscopeReading();
        sample[0] = a.X; sample[1] = a.Y; sample[2] = a.Z;
        sample[3] = g.X; sample[4] = g.Y; sample[5] = g.Z;
    }

    public void Dispose()
    {
        if (_shouldDispose) _sensor.Dispose();
    }
}
