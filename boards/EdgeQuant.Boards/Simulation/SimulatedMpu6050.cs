using System.Device.I2c;

namespace EdgeQuant.Boards.Simulation;

/// <summary>
/// An MPU6050 on a simulated I2C bus: the register file of the datasheet (MPU-6000/6050 Register
/// Map rev 4.2) that replays a recording, so the real <see cref="Iot.Device.Imu.Mpu6050"/> binding
/// code runs against it, register scaling included.
/// </summary>
/// <remarks>
/// Registers: WHO_AM_I (0x75) reads 0x68; PWR_MGMT_1 (0x6B) resets to 0x40 (sleep) and bit 7
/// (DEVICE_RESET) restores every register's reset value; GYRO_CONFIG (0x1B) and ACCEL_CONFIG
/// (0x1C) bits 4:3 select ±250/500/1000/2000 °/s and ±2/4/8/16 g; ACCEL_XOUT_H..GYRO_ZOUT_L
/// (0x3B..0x48) are big-endian int16. A burst read starting at ACCEL_XOUT_H (0x3B) latches the
/// next recorded sample (the data-ready edge); reads of the gyroscope registers return the same
/// sample. Raw codes are round(a / (range_g · 9.807 / 32768)) for accelerations in m/s² and
/// round(w / (range_dps / 32768)) for angular rates in °/s, saturated to int16 (the binding's
/// constants: 1 g = 9.807 m/s², 32768 codes per full scale). Reads and writes auto-increment the
/// register pointer as on the chip. Allocates nothing per transfer.
/// </remarks>
public sealed class SimulatedMpu6050 : I2cSimulatedDeviceBase
{
    public const byte WhoAmI = 0x75, PwrMgmt1 = 0x6B, SmplrtDiv = 0x19, Config = 0x1A, GyroConfig = 0x1B, AccelConfig = 0x1C, AccelXoutH = 0x3B, TempOutH = 0x41, GyroXoutH = 0x43;
    private const float Gravity = 9.807f;

    private readonly byte[] _regs = new byte[128];
    private readonly float[] _samples;     // [N, 6]
    private readonly HashSet<int> _failAt = new();
    private int _next;
    private byte _pointer;

    /// <summary>Samples latched so far.</summary>
    public int SamplesRead => _next;
    /// <summary>Samples in the recording.</summary>
    public int SampleCount => _samples.Length / 6;
    /// <summary>True once every recorded sample has been latched.</summary>
    public bool Exhausted => _next >= SampleCount;

    /// <param name="recording">[N, 6] float32: ax, ay, az in m/s², gx, gy, gz in °/s (copied).</param>
    /// <param name="address">I2C address (0x68 or 0x69).</param>
    /// <param name="busId">Bus number reported in the connection settings.</param>
    public SimulatedMpu6050(ReadOnlySpan<float> recording, int address = 0x68, int busId = 1)
        : base(new I2cConnectionSettings(busId, address))
    {
        if (recording.Length % 6 != 0) throw new BoardsException($"imu replay: {recording.Length} values is not a whole number of 6-channel samples");
        _samples = recording.ToArray();
        ResetRegisters();
    }

    /// <summary>Makes the latch of sample <paramref name="sampleIndex"/> fail with an <see cref="IOException"/> (once), as a glitching bus would; the sample is lost.</summary>
    public void FailOnSample(int sampleIndex) => _failAt.Add(sampleIndex);

    /// <summary>The register file (for tests).</summary>
    public ReadOnlySpan<byte> Registers => _regs;

    private void ResetRegisters()
    {
        Array.Clear(_regs);
        _regs[PwrMgmt1] = 0x40;
        _regs[WhoAmI] = 0x68;
        // 25 °C on the datasheet's TEMP_OUT scale (T = raw / 340 + 36.53).
        short temp = (short)Math.Round((25 - 36.53) * 340);
        _regs[TempOutH] = (byte)(temp >> 8);
        _regs[TempOutH + 1] = (byte)temp;
    }

    /// <summary>Accelerometer full scale in g from ACCEL_CONFIG.</summary>
    public int AccelRangeG => 2 << ((_regs[AccelConfig] >> 3) & 3);
    /// <summary>Gyroscope full scale in °/s from GYRO_CONFIG.</summary>
    public int GyroRangeDps => 250 << ((_regs[GyroConfig] >> 3) & 3);

    private void Latch()
    {
        int i = _next < SampleCount ? _next : SampleCount - 1;
        if (_next < SampleCount) _next++;
        if (_failAt.Remove(i)) throw new IOException($"simulated I2C read error at sample {i} (bus {ConnectionSettings.BusId}, address 0x{ConnectionSettings.DeviceAddress:x2})");
        if (i < 0) return;
        float accLsb = AccelRangeG * Gravity / 32768f, gyroLsb = GyroRangeDps / 32768f;
        for (int k = 0; k < 3; k++)
        {
            Put(AccelXoutH + 2 * k, _samples[6 * i + k] / accLsb);
            Put(GyroXoutH + 2 * k, _samples[6 * i + 3 + k] / gyroLsb);
        }
    }

    private void Put(int reg, float value)
    {
        float r = MathF.Round(value, MidpointRounding.AwayFromZero);
        short s = r >= short.MaxValue ? short.MaxValue : r <= short.MinValue ? short.MinValue : (short)r;
        _regs[reg] = (byte)(s >> 8);
        _regs[reg + 1] = (byte)s;
    }

    private void Store(byte value)
    {
        byte reg = _pointer;
        _pointer = (byte)((_pointer + 1) & 0x7F);
        if (reg == WhoAmI || (reg >= AccelXoutH && reg <= 0x48)) return; // read-only
        if (reg == PwrMgmt1 && (value & 0x80) != 0)
        {
            ResetRegisters();
            return;
        }
        _regs[reg] = value;
    }

    private void Fetch(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        if (_pointer == AccelXoutH) Latch();
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = _regs[_pointer];
            _pointer = (byte)((_pointer + 1) & 0x7F);
        }
    }

    public override void WriteByte(byte value) => _pointer = (byte)(value & 0x7F);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        _pointer = (byte)(buffer[0] & 0x7F);
        for (int i = 1; i < buffer.Length; i++) Store(buffer[i]);
    }

    public override void Read(Span<byte> buffer) => Fetch(buffer);

    public override byte ReadByte()
    {
        Span<byte> b = stackalloc byte[1];
        Fetch(b);
        return b[0];
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Fetch(readBuffer);
    }

    public override void WriteRead(byte[] inputBuffer, byte[] outputBuffer)
    {
        Write(inputBuffer);
        Fetch(outputBuffer);
    }
}
