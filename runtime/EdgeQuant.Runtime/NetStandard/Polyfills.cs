// netstandard2.1 build only (EdgeQuant.Runtime.csproj): what the compiler and the shared sources need
// from newer .NET. Nothing here exists in the net10.0 build.

namespace System.Runtime.CompilerServices
{
    /// <summary>Lets the compiler emit init accessors and records.</summary>
    internal static class IsExternalInit
    {
    }
}

namespace System.Runtime.Intrinsics
{
    /// <summary>No hardware intrinsics in netstandard2.1: every dispatcher takes its scalar path.</summary>
    internal static class Vector128
    {
        public static bool IsHardwareAccelerated => false;
    }
}

namespace System.Runtime.CompilerServices
{
    /// <summary>The one member of System.Runtime.CompilerServices.Unsafe the runtime uses.</summary>
    internal static class Unsafe
    {
        public static unsafe int SizeOf<T>() where T : unmanaged => sizeof(T);
    }

    /// <summary>Lets ThrowIfNull name the argument, as in .NET.</summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    internal sealed class CallerArgumentExpressionAttribute : Attribute
    {
        public CallerArgumentExpressionAttribute(string parameterName) => ParameterName = parameterName;
        public string ParameterName { get; }
    }
}

namespace EdgeQuant.Runtime
{
    using System.Buffers.Binary;
    using System.Runtime.CompilerServices;

    /// <summary>Static members of newer .NET, as C# 14 static extension members, so the shared sources compile unchanged.</summary>
    internal static class NetStandardExtensions
    {
        extension(ArgumentNullException)
        {
            public static void ThrowIfNull([System.Diagnostics.CodeAnalysis.NotNull] object? argument, [CallerArgumentExpression(nameof(argument))] string? paramName = null)
            {
                if (argument is null) throw new ArgumentNullException(paramName);
            }
        }

        extension(BinaryPrimitives)
        {
            public static float ReadSingleLittleEndian(ReadOnlySpan<byte> source)
                => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(source));
        }

        extension(System.Math)
        {
            /// <summary>The unbiased binary exponent of a finite, non-zero x (as Math.ILogB).</summary>
            public static int ILogB(double x)
            {
                long bits = BitConverter.DoubleToInt64Bits(x);
                int e = (int)((bits >> 52) & 0x7FF);
                if (e != 0) return e - 1023;
                long m = bits & 0xFFFFFFFFFFFFFL;
                int k = -1023;
                while (m != 0 && (m & (1L << 52)) == 0) { m <<= 1; k--; }
                return k + 1;
            }

            /// <summary>x x 2^n, exact while the result is a normal double (as Math.ScaleB there).</summary>
            public static double ScaleB(double x, int n)
            {
                while (n > 1000) { x *= BitConverter.Int64BitsToDouble(2023L << 52); n -= 1000; }
                while (n < -1000) { x *= BitConverter.Int64BitsToDouble(23L << 52); n += 1000; }
                return x * BitConverter.Int64BitsToDouble((long)(n + 1023) << 52);
            }
        }
    }
}
