using System;
using System.IO;
using System.Threading.Tasks;
using EdgeQuant.Runtime;
using Meadow;
using Meadow.Devices;
using Meadow.Foundation.Leds;
using Meadow.Foundation.Sensors.Motion;
using Meadow.Peripherals.Leds;

namespace EdgeQuant.Meadow.Sample
{
    /// <summary>
    /// IMU gesture classification on a Meadow F7 Feather: an MPU6050 on the I2C bus streams acceleration and
    /// angular velocity; windows of samples go through an EdgeQuant model (the netstandard2.1 runtime,
    /// scalar kernels); the onboard RGB LED shows the class. Written against Meadow.Foundation's documented
    /// API; not compiled here (Meadow packages are not served), see docs/meadow.md.
    /// </summary>
    public class MeadowApp : App<F7FeatherV2>
    {
        // Model deployed next to the app (Meadow's file system), time-major input [window][6].
        private const string ModelFile = "imu_classifier.eqm";
        private const int Channels = 6;
        private const int Hop = 10;

        private static readonly Color[] ClassColors = { Color.Blue, Color.Green, Color.Yellow, Color.Red, Color.Magenta, Color.Cyan };

        private Mpu6050 _imu = null!;
        private RgbPwmLed _led = null!;
        private ImuWindowClassifier _classifier = null!;
        private readonly float[] _sample = new float[Channels];

        public override Task Initialize()
        {
            _led = new RgbPwmLed(Device.Pins.OnboardLedRed, Device.Pins.OnboardLedGreen, Device.Pins.OnboardLedBlue, CommonType.CommonAnode);
            _led.SetColor(Color.White);

            string path = Path.Combine(MeadowOS.FileSystem.UserFileSystemRoot, ModelFile);
            var model = Model.LoadFile(path);
            _classifier = new ImuWindowClassifier(model, Channels, Hop);
            Resolver.Log.Info($"EdgeQuant: {ModelFile} loaded, window {_classifier.WindowLength} samples, arena {model.ArenaBytes} bytes");

            _imu = new Mpu6050(Device.CreateI2cBus());
            _imu.Updated += (sender, result) =>
            {
                var a = result.New.Acceleration3D;
                var g = result.New.AngularVelocity3D;
                if (a is null || g is null) return;
                _sample[0] = (float)a.Value.X.MetersPerSecondSquared;
                _sample[1] = (float)a.Value.Y.MetersPerSecondSquared;
                _sample[2] = (float)a.Value.Z.MetersPerSecondSquared;
                _sample[3] = (float)g.Value.X.DegreesPerSecond;
                _sample[4] = (float)g.Value.Y.DegreesPerSecond;
                _sample[5] = (float)g.Value.Z.DegreesPerSecond;
                int cls = _classifier.Push(_sample);
                if (cls < 0) return;
                _led.SetColor(ClassColors[cls % ClassColors.Length]);
                string name = cls < _classifier.Labels.Length ? _classifier.Labels[cls] : cls.ToString();
                Resolver.Log.Info($"class {name} ({_classifier.Scores[cls]:F2})");
            };
            return Task.CompletedTask;
        }

        public override Task Run()
        {
            // 50 Hz sampling: the window length (from the model) times 20 ms is the time span one classification sees.
            _imu.StartUpdating(TimeSpan.FromMilliseconds(20));
            return Task.CompletedTask;
        }
    }
}
