using Xunit.Abstractions;

namespace OnnxPrune.Tests.Cli.Fuzz;

/// <summary>
/// Mutation fuzzing of the loader (issue 17): generated models, damaged by
/// <see cref="ModelMutator"/>, through inspect, convert and prune in-process; every run must end
/// in success or exit 2 with an "error:" line (prune may also end in 3, target not reached, which
/// writes the closest model), within a per-command time limit, with no stack trace, no file
/// written on failure and the input untouched. The seed is fixed so the suite runs the same cases
/// every time; tools/bench/fuzz.sh runs thousands with another seed through the same test
/// (ONNXPRUNE_FUZZ_CASES, ONNXPRUNE_FUZZ_SEED, ONNXPRUNE_FUZZ_REPORT). What it found is listed in
/// <see cref="FixedBugs"/> and kept as a named case in FuzzRegressionTests.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class LoaderFuzzTests(ITestOutputHelper output)
{
    private const ulong DefaultSeed = 17_2026_12_05;

    /// <summary>Every command here takes well under a second on these small models; one that
    /// needs 20 s (on a loaded 2-core machine) has met something quadratic or worse: a hang.</summary>
    private static readonly TimeSpan PerCommandLimit = TimeSpan.FromSeconds(20);

    /// <summary>What fuzzing found, fixed in the product (for the results file).</summary>
    internal static readonly string[] FixedBugs =
    [
        "prune: an input dim of 2^32 overflowed the Flatten rule's feature map (exit 70); inputs over 1 GiB are now refused with exit 2 naming the input (DataFreePruner.RefuseHugeInputs), and a Flatten giving a channel more than 2^20 features is a barrier (FlattenRule)",
        "prune: Conv pads of 2^31 made Flatten's feature count overflow (exit 70): the same Flatten barrier",
        "load: an attribute declared as one type but holding another (pads declared TENSORS, holding ints) was read as absent, so inferred shapes disagreed with the weights and the rewrite threw (exit 70); now refused at load, naming node and attribute (ProtoReader)",
        "prune: declared input dims that disagree with the weights (width 32767 into a Gemm of 704 features) made the rewrite throw (exit 70); such a binding now pins its group with the reason (AnalysisContext.Bind)",
        "prune: a node reading one value 50,000+ times ran for minutes (a hang): pin reasons were added per input (ChannelAnalysis), uses were released first-to-last (Node.ReleaseInputs, SetInputs) and moved one by one (Value.ReplaceAllUsesWith), and the verifier searched use lists linearly (Verifier); all linear now",
    ];

    [Fact]
    public void Mutated_models_end_in_success_or_a_clean_error()
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("ONNXPRUNE_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        var cases = int.TryParse(Environment.GetEnvironmentVariable("ONNXPRUNE_FUZZ_CASES"), out var n) ? n : 300;
        var log = Environment.GetEnvironmentVariable("ONNXPRUNE_FUZZ_REPORT") is { Length: > 0 } ? (Action<string>)(l => Console.Error.WriteLine(l)) : null;
        var result = LoaderFuzzer.Run(seed, cases, PerCommandLimit, log);
        output.WriteLine($"seed {seed}: {result.Cases} cases, {result.Failures.Count} failures, {result.Elapsed.TotalSeconds:F1} s");
        if (Environment.GetEnvironmentVariable("ONNXPRUNE_FUZZ_REPORT") is { Length: > 0 } report)
            File.WriteAllText(report, result.ToMarkdown($"tools/bench/fuzz.sh {cases} {seed}", FixedBugs));
        if (result.Failures.Count == 0) return;
        var f = result.Failures[0];
        Assert.Fail($"{result.Failures.Count} fuzz runs broke the contract (seed {seed}). First: case {f.Case}, {f.Kind} ({f.Detail}), {f.Command}: {f.Problem}\n{f.Output}");
    }
}
