using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace OnnxPrune.Tests.Cli;

/// <summary>All CLI tests spawn processes (and some time models): run them one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "onnxprune CLI subprocess";
}

/// <summary>What one run of the `onnxprune` command did.</summary>
internal sealed record CliResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public IEnumerable<string> StderrLines => Stderr.Split('\n').Select(l => l.TrimEnd('\r'));

    /// <summary>Lines of a .NET stack trace ("   at Namespace.Type.Method(...)") on either stream.</summary>
    public IReadOnlyList<string> StackTraceLines =>
        (Stdout + "\n" + Stderr).Split('\n').Where(l => l.StartsWith("   at ", StringComparison.Ordinal) || Regex.IsMatch(l, @"^\s+at \S+\.\S+\(.*\)")).ToList();

    /// <summary>stderr lines that start with "error:".</summary>
    public IReadOnlyList<string> ErrorLines => StderrLines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();

    /// <summary>For assertion messages: the command and everything it printed.</summary>
    public override string ToString() =>
        $"onnxprune {CommandLine}\n-- exit code {ExitCode}\n-- stdout:\n{Truncate(Stdout)}\n-- stderr:\n{Truncate(Stderr)}";

    private static string Truncate(string s) => s.Length <= 4000 ? s : s[..4000] + $"... ({s.Length} chars)";
}

/// <summary>
/// Runs the real `onnxprune` command (the onnxprune.dll copied next to the test assembly) as a
/// subprocess with a timeout: a hang is a failure. ONNXPRUNE_DEBUG is removed so that output is
/// what a user sees.
/// </summary>
internal static class CliRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static string CliDll { get; } = Path.Combine(AppContext.BaseDirectory, "onnxprune.dll");

    public static CliResult Run(params string[] args) => Run(DefaultTimeout, null, args);

    public static CliResult Run(TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        if (!File.Exists(CliDll)) throw new InvalidOperationException($"{CliDll} is missing: the test project must reference OnnxPrune.Cli");
        return RunDll(CliDll, timeout, environment, args);
    }

    /// <summary>Runs another build of the command (for example the GPU flavour).</summary>
    public static CliResult RunDll(string dll, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment, params string[] args) =>
        RunProcess("dotnet", [dll, .. args], null, timeout, environment) with { CommandLine = string.Join(" ", args.Select(Quote)) };

    /// <summary>Runs any program (an installed tool, `dotnet pack`) the same way: stdin closed, output captured, killed
    /// with its children past <paramref name="timeout"/>.</summary>
    public static CliResult RunProcess(string fileName, IEnumerable<string> args, string? workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("ONNXPRUNE_DEBUG");
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment)
            {
                if (value is null) start.Environment.Remove(key);
                else start.Environment[key] = value;
            }

        var commandLine = string.Join(" ", start.ArgumentList.Select(Quote));
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit();
            throw new TimeoutException($"{fileName} {commandLine} did not finish within {timeout.TotalSeconds:0} s (a hang)\n-- stdout:\n{Safe(stdout)}\n-- stderr:\n{Safe(stderr)}");
        }
        process.WaitForExit(); // drains the redirected streams
        return new CliResult(commandLine, process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Safe(Task<string> t) => t.Wait(TimeSpan.FromSeconds(5)) ? t.Result : "(not available)";

    private static string Quote(string a) => a.Length > 0 && a.All(c => !char.IsWhiteSpace(c) && c != '\'' && c != '"') ? a : $"'{a}'";
}

/// <summary>Assertions every failing run must pass: one clear error line, no internals.</summary>
internal static class CliAssertions
{
    /// <summary>No stack trace, no "internal error", and the exit code is one the README documents.</summary>
    public static void ShouldBeClean(this CliResult r)
    {
        r.StackTraceLines.Should().BeEmpty($"a user must never see a stack trace\n{r}");
        r.Stderr.Should().NotContainEquivalentOf("internal error", $"bad input is not a bug in OnnxPrune\n{r}");
        r.Stderr.Should().NotContain("Unhandled exception", $"{r}");
        r.ExitCode.Should().NotBe(70, $"exit code 70 means a bug in OnnxPrune\n{r}");
    }

    /// <summary>Exit code 2 and an "error:" line that matches every pattern (regex, case-insensitive).</summary>
    public static string ShouldFailWithBadInput(this CliResult r, params string[] patterns)
    {
        r.ShouldBeClean();
        r.ExitCode.Should().Be(2, $"bad input must exit with code 2\n{r}");
        r.ErrorLines.Should().NotBeEmpty($"stderr must have a line starting with 'error:'\n{r}");
        var line = r.ErrorLines.FirstOrDefault(l => patterns.All(p => Regex.IsMatch(l, p, RegexOptions.IgnoreCase)));
        line.Should().NotBeNull($"an 'error:' line must match all of [{string.Join(" | ", patterns)}]\n{r}");
        return line!;
    }
}
