using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// Bytes through a 256-byte table: every int8-to-int8 function of one value (a Concatenation input's rescaling, a
/// Logistic or Tanh table) is one lookup per byte. AVX-512 VBMI: two VPERMI2B and a blend per 64 bytes
/// (<see cref="SimdOps512.MapBytes"/>); arm64: one TBL and three TBX over four registers each per 16 bytes (the Pi 4
/// and Pi 5 alike). In place (to = from) is allowed.
/// </summary>
internal static class TableMap
{
    /// <summary>Whether <see cref="Map"/> has a vector form here (elsewhere it maps byte by byte).</summary>
    public static bool IsSupported => Avx512Vbmi.IsSupported || AdvSimd.Arm64.IsSupported;

    /// <summary>to[i] = table[from[i]] for i in [0, n); <paramref name="table"/> holds 256 bytes.</summary>
    public static void Map(ref byte table, ref byte from, ref byte to, int n)
    {
        if (Avx512Vbmi.IsSupported)
        {
            SimdOps512.MapBytes(ref from, ref to, n, Vector512.LoadUnsafe(ref table), Vector512.LoadUnsafe(ref table, 64),
                Vector512.LoadUnsafe(ref table, 128), Vector512.LoadUnsafe(ref table, 192));
            return;
        }
        if (AdvSimd.Arm64.IsSupported && n >= 16)
        {
            MapAdvSimd(ref table, ref from, ref to, n);
            return;
        }
        for (int i = 0; i < n; i++)
            Unsafe.Add(ref to, i) = Unsafe.Add(ref table, Unsafe.Add(ref from, i));
    }

    /// <summary>
    /// 16 bytes per step: TBL over entries 0-63 (an index past them gives 0), then TBX over 64-127, 128-191 and 192-255
    /// with the index lowered by 64 each time (TBX keeps the byte where the index is out of its range; the wrap of a
    /// byte subtraction puts the already-mapped indices there). A length that is not a multiple of 16 ends with a step
    /// over the last 16 bytes, mapped from the input read before anything is stored (so in place is allowed).
    /// </summary>
    private static void MapAdvSimd(ref byte table, ref byte from, ref byte to, int n)
    {
        var a = (Vector128.LoadUnsafe(ref table), Vector128.LoadUnsafe(ref table, 16), Vector128.LoadUnsafe(ref table, 32), Vector128.LoadUnsafe(ref table, 48));
        var b = (Vector128.LoadUnsafe(ref table, 64), Vector128.LoadUnsafe(ref table, 80), Vector128.LoadUnsafe(ref table, 96), Vector128.LoadUnsafe(ref table, 112));
        var c = (Vector128.LoadUnsafe(ref table, 128), Vector128.LoadUnsafe(ref table, 144), Vector128.LoadUnsafe(ref table, 160), Vector128.LoadUnsafe(ref table, 176));
        var d = (Vector128.LoadUnsafe(ref table, 192), Vector128.LoadUnsafe(ref table, 208), Vector128.LoadUnsafe(ref table, 224), Vector128.LoadUnsafe(ref table, 240));
        var last = Map16(Vector128.LoadUnsafe(ref from, (nuint)(n - 16)), a, b, c, d);
        int k = 0;
        for (; k + 16 <= n; k += 16)
            Map16(Vector128.LoadUnsafe(ref from, (nuint)k), a, b, c, d).StoreUnsafe(ref to, (nuint)k);
        if (k < n)
            last.StoreUnsafe(ref to, (nuint)(n - 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Map16(Vector128<byte> x,
        (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) a, (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) b,
        (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) c, (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) d)
    {
        var step = Vector128.Create((byte)64);
        var r = AdvSimd.Arm64.VectorTableLookup(a, x);
        x -= step;
        r = AdvSimd.Arm64.VectorTableLookupExtension(r, b, x);
        x -= step;
        r = AdvSimd.Arm64.VectorTableLookupExtension(r, c, x);
        x -= step;
        return AdvSimd.Arm64.VectorTableLookupExtension(r, d, x);
    }
}
