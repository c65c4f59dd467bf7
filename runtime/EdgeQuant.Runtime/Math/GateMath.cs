using System.Runtime.CompilerServices;

namespace EdgeQuant.Runtime.Math;

/// <summary>
/// The fixed-point gate functions of the recurrent ops (LSTM, GRU), defined once: input a Q3.12
/// int16 (real value x / 4096, range [-8, 8)), output a Q0.15 int16 (real value y / 32768). Each is a
/// 257-entry table of the function at -8 + k/16, k = 0..256 (round(32768 f), saturated to
/// [-32767, 32767]), linearly interpolated: with u = x + 32768, k = u >> 8 and the remainder r = u &amp; 255,
/// y = T[k] + ((T[k + 1] - T[k]) * r + 128) >> 8 (an arithmetic shift, so rounding is half up).
/// Largest error against round(32768 f(x / 4096)) over every int16 input (RecurrentTests): 2 units of 2^-15
/// for sigmoid, 13 for tanh (4e-4).
/// </summary>
public static class GateMath
{
    /// <summary>One in Q0.15, saturated: the largest gate value.</summary>
    public const int One = 32767;

    /// <summary>Fractional bits of gate pre-activations (Q3.12).</summary>
    public const int GateFractionBits = 12;

    /// <summary>Fractional bits of gate outputs and of the hidden state (Q0.15).</summary>
    public const int StateFractionBits = 15;

    /// <summary>round(32768 sigmoid(-8 + k/16)), k = 0..256.</summary>
    public static ReadOnlySpan<short> SigmoidTable => Sigmoid257;

    /// <summary>round(32768 tanh(-8 + k/16)) saturated to ±32767, k = 0..256.</summary>
    public static ReadOnlySpan<short> TanhTable => Tanh257;

    // Arrays, not span literals: netstandard2.1 would allocate a span literal of shorts on every read.
    private static readonly short[] Sigmoid257 =
    [
        11, 12, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 28,
        30, 32, 34, 36, 38, 41, 43, 46, 49, 52, 56, 59, 63, 67, 72, 76,
        81, 86, 92, 98, 104, 111, 118, 125, 133, 142, 151, 161, 171, 182, 194, 206,
        219, 233, 248, 264, 281, 299, 318, 338, 360, 383, 407, 433, 461, 490, 521, 554,
        589, 627, 666, 708, 753, 800, 851, 904, 961, 1021, 1084, 1152, 1223, 1299, 1379, 1464,
        1554, 1649, 1750, 1856, 1969, 2088, 2213, 2346, 2486, 2633, 2789, 2952, 3124, 3306, 3496, 3696,
        3906, 4126, 4357, 4599, 4851, 5115, 5391, 5678, 5978, 6289, 6613, 6949, 7297, 7658, 8031, 8416,
        8813, 9221, 9641, 10072, 10513, 10964, 11424, 11894, 12371, 12856, 13348, 13845, 14347, 14852, 15361, 15872,
        16384, 16896, 17407, 17916, 18421, 18923, 19420, 19912, 20397, 20874, 21344, 21804, 22255, 22696, 23127, 23547,
        23955, 24352, 24737, 25110, 25471, 25819, 26155, 26479, 26790, 27090, 27377, 27653, 27917, 28169, 28411, 28642,
        28862, 29072, 29272, 29462, 29644, 29816, 29979, 30135, 30282, 30422, 30555, 30680, 30799, 30912, 31018, 31119,
        31214, 31304, 31389, 31469, 31545, 31616, 31684, 31747, 31807, 31864, 31917, 31968, 32015, 32060, 32102, 32141,
        32179, 32214, 32247, 32278, 32307, 32335, 32361, 32385, 32408, 32430, 32450, 32469, 32487, 32504, 32520, 32535,
        32549, 32562, 32574, 32586, 32597, 32607, 32617, 32626, 32635, 32643, 32650, 32657, 32664, 32670, 32676, 32682,
        32687, 32692, 32696, 32701, 32705, 32709, 32712, 32716, 32719, 32722, 32725, 32727, 32730, 32732, 32734, 32736,
        32738, 32740, 32742, 32743, 32745, 32746, 32747, 32749, 32750, 32751, 32752, 32753, 32754, 32755, 32756, 32756,
        32757,
    ];

    private static readonly short[] Tanh257 =
    [
        -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
        -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
        -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32766, -32766, -32766, -32766, -32765,
        -32765, -32765, -32764, -32764, -32763, -32762, -32762, -32761, -32760, -32759, -32758, -32756, -32755, -32753, -32751, -32749,
        -32746, -32743, -32740, -32736, -32732, -32727, -32721, -32715, -32708, -32700, -32691, -32681, -32670, -32657, -32642, -32625,
        -32606, -32584, -32560, -32532, -32501, -32466, -32426, -32381, -32329, -32271, -32206, -32132, -32048, -31953, -31846, -31726,
        -31589, -31435, -31262, -31067, -30847, -30600, -30322, -30010, -29660, -29268, -28830, -28341, -27797, -27191, -26519, -25776,
        -24956, -24054, -23066, -21986, -20813, -19542, -18173, -16706, -15143, -13486, -11743, -9919, -8025, -6073, -4075, -2045,
        0, 2045, 4075, 6073, 8025, 9919, 11743, 13486, 15143, 16706, 18173, 19542, 20813, 21986, 23066, 24054,
        24956, 25776, 26519, 27191, 27797, 28341, 28830, 29268, 29660, 30010, 30322, 30600, 30847, 31067, 31262, 31435,
        31589, 31726, 31846, 31953, 32048, 32132, 32206, 32271, 32329, 32381, 32426, 32466, 32501, 32532, 32560, 32584,
        32606, 32625, 32642, 32657, 32670, 32681, 32691, 32700, 32708, 32715, 32721, 32727, 32732, 32736, 32740, 32743,
        32746, 32749, 32751, 32753, 32755, 32756, 32758, 32759, 32760, 32761, 32762, 32762, 32763, 32764, 32764, 32765,
        32765, 32765, 32766, 32766, 32766, 32766, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
        32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
        32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
        32767,
    ];

    /// <summary>sigmoid of a Q3.12 value, Q0.15 (0 to 32757).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short Sigmoid(int x) => Interpolate(Sigmoid257, x);

    /// <summary>tanh of a Q3.12 value, Q0.15 (-32767 to 32767).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short Tanh(int x) => Interpolate(Tanh257, x);

    /// <summary>Saturates to the int16 range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Saturate16(int x) => x < short.MinValue ? short.MinValue : x > short.MaxValue ? short.MaxValue : x;

    /// <summary>Saturates to the int16 range (64-bit input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Saturate16(long x) => x < short.MinValue ? short.MinValue : x > short.MaxValue ? short.MaxValue : (int)x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static short Interpolate(short[] table, int x)
    {
        int u = Saturate16(x) + 32768;
        int k = u >> 8, r = u & 255;
        int a = table[k], b = table[k + 1];
        return (short)(a + ((((b - a) * r) + 128) >> 8));
    }
}
