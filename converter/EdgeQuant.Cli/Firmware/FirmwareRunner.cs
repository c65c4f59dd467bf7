using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeQuant.Cli.Firmware;

/// <summary>What one run of a board image reported.</summary>
public sealed record FirmwareRun(byte[] Output, int Samples, long StackBytes, double Seconds);

/// <summary>
/// Runs a built image over many samples in one start: the samples go to <c>input.bin</c> in a
/// work folder, the image (under qemu-system-arm with semihosting for the mps boards, natively
/// for host) reads them and writes <c>output.bin</c> there, and prints one result line
/// <c>eq_run: samples=N stack_bytes=S</c>, or <c>eq_run: error: ...</c> and a non-zero exit code.
/// </summary>
public static partial class FirmwareRunner
{
    [GeneratedRegex(@"^eq_run: samples=(\d+) stack_bytes=(\d+)", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
    [GeneratedRegex(@"^eq_run: error: (.*)$", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    public static FirmwareRun Run(FirmwareImage image, Toolchain tools, byte[] input, string workDir, TimeSpan timeout)
    {
        if (image.InputBytes == 0 || input.Length % image.InputBytes != 0)
            throw new UsageException($"{input.Length} input bytes are not a whole number of samples of {image.InputBytes} bytes (the model's input tensor)");
        int samples = input.Length / image.InputBytes;
        Directory.CreateDirectory(workDir);
        string inPath = Path.Combine(workDir, "input.bin"), outPath = Path.Combine(workDir, "output.bin");
        File.WriteAllBytes(inPath, input);
        if (File.Exists(outPath)) File.Delete(outPath);

        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = image.Board.IsHost
            ? Toolchain.Run(image.Executable, [], workDir, timeout)
            : Toolchain.Run(tools.Qemu!, ["-M", image.Board.QemuMachine!, "-nographic", "-monitor", "none", "-semihosting", "-kernel", image.Executable], workDir, timeout);
        sw.Stop();
        string where = image.Board.IsHost ? "the host build" : $"{image.Board.Name} (qemu)";
        if (r.TimedOut)
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"{where} did not finish {samples} samples within {timeout.TotalSeconds:F0} s (pass --timeout SECONDS for more)"));
        string console = r.Stdout + r.Stderr;
        if (ErrorLine().Match(console) is { Success: true } e)
            throw new IOException($"{where}: {e.Groups[1].Value.Trim()}");
        var m = ResultLine().Match(console);
        if (r.ExitCode != 0 || !m.Success)
            throw new IOException($"{where} exited with code {r.ExitCode} without a result line: {Tail(console)}");
        int done = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        byte[] output = File.Exists(outPath) ? File.ReadAllBytes(outPath) : [];
        if (done != samples || output.Length != (long)samples * image.OutputBytes)
            throw new IOException($"{where} ran {done} of {samples} samples and wrote {output.Length} output bytes; expected {(long)samples * image.OutputBytes}");
        return new FirmwareRun(output, samples, long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), sw.Elapsed.TotalSeconds);
    }

    private static string Tail(string s)
    {
        s = s.Trim();
        return s.Length <= 300 ? s : "..." + s[^300..];
    }
}
