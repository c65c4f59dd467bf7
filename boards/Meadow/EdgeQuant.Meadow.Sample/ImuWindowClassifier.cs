using System;
using EdgeQuant.Runtime;

namespace EdgeQuant.Meadow.Sample
{
    /// <summary>
    /// Sliding windows of IMU samples into a model: each sample (e.g. ax, ay, az, gx, gy, gz) is appended
    /// to a ring of <see cref="WindowLength"/> samples; every <see cref="Hop"/> samples, once the ring is
    /// full, the window (oldest first, time-major: [t][channel]) is quantized into the model's input and
    /// the model runs. No Meadow types: the board code feeds it, and the tests run it without a board.
    /// Allocation-free after construction.
    /// </summary>
    public sealed class ImuWindowClassifier
    {
        private readonly Interpreter _interpreter;
        private readonly float[] _ring;
        private readonly float[] _window;
        private readonly float[] _scores;
        private readonly int _channels;
        private int _head;
        private int _count;
        private int _sinceLast;

        /// <param name="model">A model whose single input holds WindowLength x <paramref name="channels"/> values.</param>
        /// <param name="channels">Values per IMU sample.</param>
        /// <param name="hop">Samples between two classifications (1: every sample once the window is full).</param>
        public ImuWindowClassifier(Model model, int channels, int hop)
        {
            if (model is null) throw new ArgumentNullException(nameof(model));
            if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels));
            if (hop < 1) throw new ArgumentOutOfRangeException(nameof(hop));
            _interpreter = new Interpreter(model);
            int inputs = _interpreter.GetInput().Length;
            if (inputs % channels != 0)
                throw new ArgumentException($"the model's input has {inputs} values, not a whole number of {channels}-channel samples", nameof(channels));
            _channels = channels;
            WindowLength = inputs / channels;
            Hop = hop;
            _ring = new float[inputs];
            _window = new float[inputs];
            _scores = new float[_interpreter.GetOutput().Length];
            Labels = model.Metadata.TryGetValue("labels", out var labels) ? labels.Split('\n') : Array.Empty<string>();
        }

        public int WindowLength { get; }
        public int Hop { get; }
        /// <summary>Class names stored in the blob (metadata "labels"), or empty.</summary>
        public string[] Labels { get; }
        /// <summary>The scores of the last classification (dequantized model output).</summary>
        public ReadOnlySpan<float> Scores => _scores;

        /// <summary>Appends one sample; returns the winning class index when a classification ran, else -1.</summary>
        public int Push(ReadOnlySpan<float> sample)
        {
            if (sample.Length != _channels) throw new ArgumentException($"a sample has {_channels} values, got {sample.Length}", nameof(sample));
            sample.CopyTo(_ring.AsSpan(_head * _channels, _channels));
            _head = (_head + 1) % WindowLength;
            if (_count < WindowLength) _count++;
            _sinceLast++;
            if (_count < WindowLength || _sinceLast < Hop) return -1;
            _sinceLast = 0;
            // Oldest sample first: the ring from _head to the end, then from 0.
            int split = _head * _channels;
            _ring.AsSpan(split).CopyTo(_window);
            _ring.AsSpan(0, split).CopyTo(_window.AsSpan(_ring.Length - split));
            _interpreter.SetInput(_window);
            _interpreter.Invoke();
            _interpreter.GetOutput(_scores.AsSpan());
            int best = 0;
            for (int i = 1; i < _scores.Length; i++)
                if (_scores[i] > _scores[best]) best = i;
            return best;
        }
    }
}
