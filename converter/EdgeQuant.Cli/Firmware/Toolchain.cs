using System.Diagnostics;
using System.Text;

namespace EdgeQuant.Cli.Firmware;

/// <summary>
/// The external programs a firmware build or run needs, looked up on PATH. A missing one is a
/// user error naming the Debian package that provides it.
/// </summary>
public sealed class Toolchain
{
    private Toolchain(string cc, string? objcopy, string? qemu, bool cross)
    {
        Cc = cc;
        Objcopy = objcopy;
        Qemu = qemu;
        IsCross = cross;
    }

    public string Cc { get; }
    public string? Objcopy { get; }
    public string? Qemu { get; }
    public bool IsCross { get; }
    /// <summary>arm-none-eabi-nm (symbol addresses for the counting plugin); set by <see cref="ForCounting"/>.</summary>
    public string? Nm { get; private init; }
    /// <summary>The host C compiler that builds the qemu counting plugin; set by <see cref="ForCounting"/>.</summary>
    public string? HostCc { get; private init; }

    /// <summary>
    /// The tools to count executed instructions on <paramref name="board"/>: the cross toolchain,
    /// qemu-system-arm, arm-none-eabi-nm, and a host C compiler for the TCG plugin. Instruction
    /// counting needs an emulated board: host is a user error.
    /// </summary>
    public static Toolchain ForCounting(Board board)
    {
        if (board.IsHost)
            throw new UsageException("instruction counting needs a qemu board (mps2-an385, mps2-an386, mps2-an505 or mps3-an547); 'host' runs natively, where nothing counts instructions");
        var t = For(board, needEmulator: true);
        string nm = Which("arm-none-eabi-nm")
            ?? throw new UsageException("arm-none-eabi-nm not found on PATH: install the Debian package binutils-arm-none-eabi (apt-get install binutils-arm-none-eabi)");
        string cc = Which("cc") ?? Which("gcc") ?? Which("clang")
            ?? throw new UsageException("no host C compiler (cc, gcc or clang) found on PATH to build the qemu counting plugin: install the Debian package gcc (apt-get install gcc)");
        return new Toolchain(t.Cc, t.Objcopy, t.Qemu, true) { Nm = nm, HostCc = cc };
    }

    /// <summary>The tools for <paramref name="board"/>; <paramref name="needEmulator"/> also requires qemu.</summary>
    public static Toolchain For(Board board, bool needEmulator)
    {
        if (board.IsHost)
        {
            string cc = Which("cc") ?? Which("gcc") ?? Which("clang")
                ?? throw new UsageException("no C compiler (cc, gcc or clang) found on PATH: install the Debian package gcc (apt-get install gcc)");
            return new Toolchain(cc, null, null, false);
        }
        string gcc = Which("arm-none-eabi-gcc")
            ?? throw new UsageException("arm-none-eabi-gcc not found on PATH: install the Debian packages gcc-arm-none-eabi and libnewlib-arm-none-eabi (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)");
        string objcopy = Which("arm-none-eabi-objcopy")
            ?? throw new UsageException("arm-none-eabi-objcopy not found on PATH: install the Debian package binutils-arm-none-eabi (apt-get install binutils-arm-none-eabi)");
        // newlib ships the semihosting specs; without it gcc prints the bare name back.
        var spec = Run(gcc, ["-print-file-name=rdimon.specs"], null, TimeSpan.FromSeconds(30));
        if (spec.ExitCode != 0 || !Path.IsPathRooted(spec.Stdout.Trim()))
            throw new UsageException("newlib for arm-none-eabi (rdimon.specs) not found: install the Debian package libnewlib-arm-none-eabi (apt-get install libnewlib-arm-none-eabi)");
        string? qemu = null;
        if (needEmulator)
            qemu = Which("qemu-system-arm")
                ?? throw new UsageException("qemu-system-arm not found on PATH: install the Debian package qemu-system-arm (apt-get install qemu-system-arm)");
        return new Toolchain(gcc, objcopy, qemu, true);
    }

    /// <summary>The full path of <paramref name="exe"/> on PATH, or null.</summary>
    public static string? Which(string exe)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string p = Path.Combine(dir, exe);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr, bool TimedOut);

    /// <summary>Runs a program to completion (killing it after <paramref name="timeout"/>) and captures its output.</summary>
    public static Result Run(string exe, IEnumerable<string> args, string? workDir, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false, WorkingDirectory = workDir ?? Directory.GetCurrentDirectory(),
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new IOException($"cannot start {exe}");
        p.StandardInput.Close();
        var so = new StringBuilder();
        var se = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (so) so.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (se) se.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            return new Result(-1, so.ToString(), se.ToString(), true);
        }
        p.WaitForExit();
        return new Result(p.ExitCode, so.ToString(), se.ToString(), false);
    }
}
