using System.CommandLine;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Output.Report;

/// <summary>What report.html says about the run beyond report.json: the command that reproduces it and the
/// machine it was measured on (latency figures mean little without the CPU, the ORT version, provider and threads).</summary>
internal sealed record RunContext(string Command, string Cpu, int Cores, string OrtVersion, string Provider, int Threads)
{
    /// <summary>The context of this process. The command is rebuilt from the parsed tokens (recipes already
    /// expanded), not from the process's own arguments, which in a test host are the host's.</summary>
    public static RunContext From(ParseResult parse, SessionSettings session)
    {
        string ortVersion;
        try { ortVersion = OrtRuntime.Shared.VersionString; }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException) { ortVersion = "not loaded"; }
        var words = parse.Tokens.Select(t => Quote(t.Value));
        return new RunContext("onnxprune " + string.Join(' ', words), CpuModel(), Environment.ProcessorCount, ortVersion,
            ExecutionProviders.OrtName(session.Provider), session.EffectiveIntraOpThreads);
    }

    /// <summary>POSIX shell quoting, so the command copies into a terminal as it is.</summary>
    internal static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:%,+@".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";

    /// <summary>The CPU model from /proc/cpuinfo (Linux); the architecture elsewhere.</summary>
    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var i and > 0)
                        return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
