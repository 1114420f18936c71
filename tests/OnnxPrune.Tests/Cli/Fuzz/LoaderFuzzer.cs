using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CsCheck;
using OnnxPrune.Onnx;
using OnnxPrune.Tests.Pruning.Properties;

namespace OnnxPrune.Tests.Cli.Fuzz;

/// <summary>A case that broke the contract: which one (replayable from the run's seed and the
/// case number), what was done to the model, which command, and what went wrong.</summary>
internal sealed record FuzzFailure(int Case, string Kind, string Detail, string Command, string Problem, string Output);

/// <summary>What a fuzz run found: outcome counts by mutation kind and by command.</summary>
internal sealed record FuzzRunResult(ulong Seed, int Cases, TimeSpan Elapsed, IReadOnlyDictionary<(string Kind, string Command, string Outcome), int> Outcomes,
    IReadOnlyList<FuzzFailure> Failures, bool Hung, IReadOnlyDictionary<string, TimeSpan> TimeByCommand)
{
    public string ToMarkdown(string command, IEnumerable<string> fixedBugs)
    {
        var s = new StringBuilder();
        s.AppendLine("# Loader fuzzing: mutated models through inspect, convert and prune").AppendLine();
        s.AppendLine($"Command: `{command}`  ").AppendLine($"Seed: {Seed}  ");
        s.AppendLine($"Cases: {Cases} (each through 3 commands: {Cases * 3} runs)  ");
        s.AppendLine($"Failures: {Failures.Count}{(Hung ? " (the run stopped at a hang)" : "")}  ");
        s.AppendLine($"Time: {Elapsed.TotalSeconds:F1} s ({Elapsed.TotalMilliseconds / Math.Max(1, Cases):F0} ms a case)").AppendLine();
        s.AppendLine("Contract checked on every run: the command finishes within the per-case time limit; exit code 0 or 2 (prune: 0, 2,");
        s.AppendLine("or 3 = target not reached, which writes the closest model); on 2 an `error:` line; never a stack trace, `internal error`");
        s.AppendLine("or an exception escaping `CliApp.Run`; on 2 nothing written to the output folder; the input folder byte-identical.").AppendLine();
        var commands = Outcomes.Keys.Select(k => k.Command).Distinct().Order().ToList();
        s.AppendLine("Time by command: " + string.Join(", ", TimeByCommand.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value.TotalSeconds:F1} s")) + ".").AppendLine();
        var outcomes = Outcomes.Keys.Select(k => k.Outcome).Distinct().Order().ToList();
        s.AppendLine("## Outcomes by command").AppendLine();
        s.AppendLine("| command | " + string.Join(" | ", outcomes) + " |").AppendLine("|---|" + string.Concat(outcomes.Select(_ => "---:|")));
        foreach (var c in commands)
            s.AppendLine($"| {c} | " + string.Join(" | ", outcomes.Select(o => Outcomes.Where(kv => kv.Key.Command == c && kv.Key.Outcome == o).Sum(kv => kv.Value))) + " |");
        s.AppendLine().AppendLine("## Outcomes by mutation kind (inspect / convert / prune)").AppendLine();
        s.AppendLine("| kind | cases | " + string.Join(" | ", outcomes) + " |").AppendLine("|---|---:|" + string.Concat(outcomes.Select(_ => "---|")));
        foreach (var kind in Outcomes.Keys.Select(k => k.Kind).Distinct().Order())
        {
            int Count(string c, string o) => Outcomes.GetValueOrDefault((kind, c, o));
            var cases = commands.Count == 0 ? 0 : outcomes.Sum(o => Count(commands[0], o));
            s.AppendLine($"| {kind} | {cases} | " + string.Join(" | ", outcomes.Select(o => string.Join(" / ", commands.Select(c => Count(c, o))))) + " |");
        }
        s.AppendLine().AppendLine("## Failures found and fixed").AppendLine();
        foreach (var f in fixedBugs) s.AppendLine($"- {f}");
        s.AppendLine().AppendLine("## Failures in this run").AppendLine();
        if (Failures.Count == 0) s.AppendLine("None.");
        foreach (var f in Failures.Take(30))
            s.AppendLine($"- case {f.Case}, {f.Kind} ({f.Detail}), {f.Command}: {f.Problem}").AppendLine("```").AppendLine(f.Output.Length > 1500 ? f.Output[..1500] : f.Output).AppendLine("```");
        return s.ToString();
    }
}

/// <summary>
/// Mutation fuzzing of the loader and the commands behind it: models from the generated-graph
/// generator (<see cref="CnnGen"/>), serialised, damaged by <see cref="ModelMutator"/>, and given
/// to inspect, convert and prune in-process. Case i uses <c>new Random(Mix(seed, i))</c> and seed
/// model i mod 8, so a run is the same on every machine and any case replays from (seed, i).
/// </summary>
internal static class LoaderFuzzer
{
    public static readonly string[] Commands = ["inspect", "convert", "prune"];

    public static FuzzRunResult Run(ulong seed, int cases, TimeSpan perCommand, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var seeds = SeedModels(seed, 8);
        var outcomes = new Dictionary<(string, string, string), int>();
        var times = new Dictionary<string, TimeSpan>();
        var failures = new List<FuzzFailure>();
        var root = Directory.CreateTempSubdirectory("onnxprune-fuzz-").FullName;
        bool hung = false;
        try
        {
            int i = 0;
            for (; i < cases && !hung; i++)
            {
                var rng = new Random(Mix(seed, i));
                var mutated = ModelMutator.Mutate(seeds[i % seeds.Count], rng);
                foreach (var command in Commands)
                {
                    var started = clock.Elapsed;
                    var (outcome, problem, output) = RunOne(root, mutated, command, perCommand);
                    var took = clock.Elapsed - started;
                    times[command] = times.GetValueOrDefault(command) + took;
                    if (took > TimeSpan.FromSeconds(2)) log?.Invoke($"case {i} {mutated.Kind} ({mutated.Detail}) {command}: {outcome} after {took.TotalSeconds:F1} s");
                    outcomes[(mutated.Kind, command, outcome)] = outcomes.GetValueOrDefault((mutated.Kind, command, outcome)) + 1;
                    if (problem is not null)
                    {
                        failures.Add(new FuzzFailure(i, mutated.Kind, mutated.Detail, command, problem, output));
                        Keep(root, i, command);
                        log?.Invoke($"case {i} {mutated.Kind} ({mutated.Detail}) {command}: {problem}");
                        if (outcome == "hang") { hung = true; break; }
                    }
                }
                if (log is not null && (i + 1) % 200 == 0) log($"{i + 1} cases, {failures.Count} failures, {clock.Elapsed.TotalSeconds:F0} s");
            }
            return new FuzzRunResult(seed, i, clock.Elapsed, outcomes, failures, hung, times);
        }
        finally
        {
            if (!hung) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>With ONNXPRUNE_FUZZ_KEEP set to a folder, a failing case's input folder is copied
    /// there (as case-N-command/) to replay by hand with the real command and ONNXPRUNE_DEBUG=1.</summary>
    private static void Keep(string root, int i, string command)
    {
        if (Environment.GetEnvironmentVariable("ONNXPRUNE_FUZZ_KEEP") is not { Length: > 0 } keep) return;
        var target = Directory.CreateDirectory(Path.Combine(keep, $"case-{i}-{command}")).FullName;
        foreach (var f in Directory.EnumerateFiles(Path.Combine(root, "case", "in")))
            File.Copy(f, Path.Combine(target, Path.GetFileName(f)), overwrite: true);
    }

    /// <summary>A well-mixed 31-bit seed for case <paramref name="i"/> (splitmix64's finaliser).</summary>
    public static int Mix(ulong seed, int i)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)(i + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    /// <summary>Valid models to damage: generated CNNs of up to 3 blocks, as .onnx bytes.</summary>
    public static List<byte[]> SeedModels(ulong seed, int count)
    {
        var gen = CnnGen.Spec(3);
        return Enumerable.Range(0, count)
            .Select(i => OnnxModelFile.ToBytes(CnnBuilder.Build(gen.Generate(new PCG(1, seed + (ulong)i), null!, out _))))
            .ToList();
    }

    private static string[] Args(string command, string model, string output) => command switch
    {
        "inspect" => ["inspect", model],
        "convert" => ["convert", model, output],
        "prune" => ["prune", model, "-o", output, "--target-params", "50%", "--skip-latency"],
        _ => throw new ArgumentException(command),
    };

    /// <summary>Runs one command on a fresh copy of the case and checks the contract.</summary>
    /// <returns>The outcome ("exit 0", "exit 2", "exit 3", "hang", ...) and, when the contract
    /// broke, what broke and the command's output.</returns>
    private static (string Outcome, string? Problem, string Output) RunOne(string root, MutatedModel m, string command, TimeSpan timeout)
    {
        var caseDir = Path.Combine(root, "case");
        if (Directory.Exists(caseDir)) Directory.Delete(caseDir, recursive: true);
        var inDir = Directory.CreateDirectory(Path.Combine(caseDir, "in")).FullName;
        var outDir = Directory.CreateDirectory(Path.Combine(caseDir, "out")).FullName;
        Directory.CreateDirectory(Path.Combine(caseDir, "outside"));
        File.WriteAllBytes(Path.Combine(caseDir, "outside", "secret.bin"), new byte[4096]);
        var model = Path.Combine(inDir, "model.onnx");
        File.WriteAllBytes(model, m.Model);
        if (m.ExternalData is not null) File.WriteAllBytes(Path.Combine(inDir, ModelMutator.DataFileName), m.ExternalData);
        var before = Snapshot(inDir);
        var output = Path.Combine(outDir, command == "convert" ? "converted.onnx" : "pruned.onnx");

        var r = InProcessCli.Run(timeout, Args(command, model, output));
        if (r is null) return ("hang", $"did not finish within {timeout.TotalSeconds:0} s", "");
        var outcome = $"exit {r.ExitCode}";
        string? problem = null;
        var allowed = command == "prune" ? new[] { 0, 2, 3 } : [0, 2];
        if (!allowed.Contains(r.ExitCode)) problem = $"exit code {r.ExitCode}";
        else if (r.StackTraceLines.Count > 0) problem = "stack trace printed";
        else if (r.Stderr.Contains("internal error", StringComparison.OrdinalIgnoreCase) || r.Stderr.Contains("Unhandled", StringComparison.Ordinal)) problem = "internal error";
        else if (r.ExitCode == 2 && r.ErrorLines.Count == 0) problem = "exit 2 without an 'error:' line";
        else if (r.ExitCode == 2 && Directory.EnumerateFileSystemEntries(outDir).Any())
            problem = $"exit 2 but wrote {string.Join(", ", Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName))}";
        else if (r.ExitCode != 2 && command != "inspect" && !File.Exists(output)) problem = $"exit {r.ExitCode} but no output file";
        else if (!Snapshot(inDir).SequenceEqual(before)) problem = "the input folder changed";
        return (outcome, problem, r.ToString());
    }

    /// <summary>Every file of a folder with its SHA-256, in name order.</summary>
    private static List<string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(dir, f)} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}").ToList();
}
