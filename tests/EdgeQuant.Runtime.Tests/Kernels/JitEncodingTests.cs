using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Kernels.Simd;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The 256-bit broadcast the AVX-512 kernels use (<see cref="SimdOps512.Broadcast256"/>) in fully optimized code, from
/// addresses with constant offsets, where the JIT folds the offset into the instruction as a compressed 8-bit
/// displacement: .NET 10.0.12 encodes that displacement wrongly for VBROADCASTI64X4 (Avx512F.BroadcastVector256ToVector512),
/// which loaded from twice the offset and gave the Winograd kernel's packed 5-8 channel tail the wrong weights. No
/// kernel may call that intrinsic directly.
/// </summary>
[TestFixture]
public unsafe class JitEncodingTests
{
    private static int[] Counting()
    {
        var a = new int[96];
        for (int i = 0; i < a.Length; i++) a[i] = i;
        return a;
    }

    private static void Expect(Vector512<int> got, int from, string what)
    {
        for (int i = 0; i < 16; i++)
            Assert.That(got.GetElement(i), Is.EqualTo(from + (i & 7)), $"{what}: lane {i}");
    }

    // Constant offsets of 32, 64, 96 and 160 bytes (disp8 1, 2, 3 and 5 in units of 32), each in its own fully optimized method.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<int> Main8(int* p) => SimdOps512.Broadcast256(p + 8);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<int> Main16(int* p) => SimdOps512.Broadcast256(p + 16);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<int> Main24(int* p) => SimdOps512.Broadcast256(p + 24);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<int> Main40(int* p) => SimdOps512.Broadcast256(p + 40);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<int> Insert16(int* p) => SimdOps512.Broadcast256Insert(p + 16);
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<int> Insert40(int* p) => SimdOps512.Broadcast256Insert(p + 40);

    [Test]
    public void Broadcast256ReadsItsOwnAddress()
    {
        if (!Avx512F.IsSupported)
            Assert.Ignore("not run: this CPU has no AVX-512 (or DOTNET_EnableAVX512=0)");
        fixed (int* p = Counting())
        {
            Expect(Main8(p), 8, "p + 8");
            Expect(Main16(p), 16, "p + 16");
            Expect(Main24(p), 24, "p + 24");
            Expect(Main40(p), 40, "p + 40");
            // The fallback for CPUs with AVX-512F but no DQ, run here directly.
            Expect(Insert16(p), 16, "insert, p + 16");
            Expect(Insert40(p), 40, "insert, p + 40");
        }
    }

    /// <summary>The runtime's sources call the mis-encoded intrinsic only inside the helper's documentation.</summary>
    [Test]
    public void NoKernelCallsVbroadcasti64x4Directly()
    {
        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root is not null && !Directory.Exists(Path.Combine(root.FullName, "runtime", "EdgeQuant.Runtime")))
            root = root.Parent;
        if (root is null)
            Assert.Ignore("not run: the runtime's sources are not beside this test assembly (an installed test executable)");
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root!.FullName, "runtime"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
                continue;
            int line = 0;
            foreach (var text in File.ReadLines(file))
            {
                line++;
                if (text.Contains("Avx512F.BroadcastVector256ToVector512") && !text.TrimStart().StartsWith("///"))
                    offenders.Add($"{Path.GetFileName(file)}:{line}");
            }
        }
        Assert.That(offenders, Is.Empty, "use SimdOps512.Broadcast256 (VBROADCASTI64X4's displacement is mis-encoded by the JIT)");
    }
}
