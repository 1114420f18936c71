using Xunit.Abstractions;

namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>
/// Generated-graph property tests: random small CNNs built from the constructs the channel rules
/// cover, random removal sets, and the four properties of <see cref="PruningProperties"/>, each
/// checked with ONNX Runtime. The seed is fixed, so the suite runs the same cases every time;
/// tools/bench/property-tests.sh runs thousands with another seed through the same test
/// (ONNXPRUNE_PROPERTY_CASES, ONNXPRUNE_PROPERTY_SEED, ONNXPRUNE_PROPERTY_REPORT).
/// What a run finds is fixed in the channel rules and kept as a named case in Pruning/Rules:
/// <list type="bullet">
/// <item>removing every channel of a Slice's range (the group kept others) left an empty tensor
/// that ORT's pooling rejects: Slice and Split now keep one channel of a narrower range
/// (SliceRuleTests.Regression_a_one_channel_slice_into_pooling_never_becomes_empty,
/// SplitRuleTests.Regression_no_split_part_becomes_empty).</item>
/// </list>
/// A failure prints the smallest failing spec and its graph, and a CsCheck seed that
/// <c>Check.Sample(CnnGen.Spec(maxBlocks), ..., seed: ...)</c> replays.
/// </summary>
[Trait("Category", "Slow")]
public class GeneratedGraphPropertyTests(ITestOutputHelper output)
{
    private const ulong DefaultSeed = 20261205;

    [Theory]
    [InlineData(3, 150)] // small graphs: most blocks meet each other one to one
    [InlineData(7, 150)] // longer chains: constructs meet in combination
    public void Pruned_generated_graphs_run_match_the_masked_original_and_the_cost_estimate(int maxBlocks, int cases)
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("ONNXPRUNE_PROPERTY_SEED"), out var s) ? s : DefaultSeed + (ulong)maxBlocks;
        if (int.TryParse(Environment.GetEnvironmentVariable("ONNXPRUNE_PROPERTY_CASES"), out var n)) cases = n;
        var gen = CnnGen.Spec(maxBlocks);
        var result = PropertyRunner.Run(gen, seed, cases);
        output.WriteLine($"seed {seed}: {result.Cases} cases, {result.CasesWithRemoval} with channels removed, {result.Failures.Count} failures, {result.Elapsed.TotalSeconds:F1} s");
        if (Environment.GetEnvironmentVariable("ONNXPRUNE_PROPERTY_REPORT") is { Length: > 0 } report)
        {
            var command = $"ONNXPRUNE_PROPERTY_CASES={cases} ONNXPRUNE_PROPERTY_SEED={seed} tools/bench/property-tests.sh (blocks up to {maxBlocks})";
            File.AppendAllText(report, result.ToMarkdown(command) + "\n");
        }
        if (result.Failures.Count == 0) return;
        var smallest = PropertyRunner.Shrink(gen, result.Failures[0], iterations: 200);
        Assert.Fail($"{result.Failures.Count} of {cases} generated graphs broke a property (seed {seed}). First: {result.Failures[0].Error}\nSmallest found:\n{smallest}");
    }
}
