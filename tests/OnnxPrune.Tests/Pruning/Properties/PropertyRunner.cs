using System.Diagnostics;
using System.Text;
using CsCheck;

namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>A generated case that broke a property: its CsCheck seed (replayable with
/// <c>Check.Sample(gen, ..., seed: Seed)</c>), the spec, and what broke.</summary>
internal sealed record PropertyFailure(string Seed, CnnSpec Spec, string Error);

/// <summary>What a run of generated cases found.</summary>
internal sealed record PropertyRunResult(ulong Seed, int Cases, int CasesWithRemoval, long RemovedChannels, TimeSpan Elapsed,
    IReadOnlyList<PropertyFailure> Failures, IReadOnlyDictionary<string, int> Barriers, IReadOnlyDictionary<string, int> Constructs)
{
    /// <summary>The run as a markdown results file (counts, pins seen, failures).</summary>
    public string ToMarkdown(string command)
    {
        var s = new StringBuilder();
        s.AppendLine("# Generated-graph property tests").AppendLine();
        s.AppendLine($"Command: `{command}`  ").AppendLine($"Seed: {Seed}  ");
        s.AppendLine($"Cases: {Cases}, with channels removed: {CasesWithRemoval}, channels removed in all: {RemovedChannels}  ");
        s.AppendLine($"Failures: {Failures.Count}  ").AppendLine($"Time: {Elapsed.TotalSeconds:F1} s").AppendLine();
        s.AppendLine("Properties: (1) masked original = pruned model in ONNX Runtime (relative 1e-4); (2) ORT loads and runs the pruned model;");
        s.AppendLine("(3) output shapes unchanged; (4) PrunedCostEstimator = CostModel.Measure of the rewritten graph.").AppendLine();
        s.AppendLine("## Constructs generated (blocks, heads)").AppendLine();
        foreach (var (construct, count) in Constructs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            s.AppendLine($"- {construct}: {count}");
        s.AppendLine().AppendLine("## Barriers met (cases)").AppendLine();
        foreach (var (reason, count) in Barriers.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            s.AppendLine($"- {count}: {reason}");
        s.AppendLine().AppendLine("## Failures").AppendLine();
        if (Failures.Count == 0) s.AppendLine("None.");
        foreach (var f in Failures) s.AppendLine($"- seed `{f.Seed}`: {f.Error}").AppendLine("```").AppendLine(f.Spec.ToString()).AppendLine("```");
        return s.ToString();
    }
}

/// <summary>
/// Runs the generated-graph properties over a deterministic sequence of cases: case i is drawn
/// from CsCheck's PCG with stream 1 and state <c>seed + i</c>, so a run is the same on every
/// machine. On a failure, CsCheck then shrinks from the smallest failing case (sampling for
/// smaller failing graphs) and the test reports the smallest one it found, printed as spec and graph.
/// </summary>
internal static class PropertyRunner
{
    public static PropertyRunResult Run(Gen<CnnSpec> gen, ulong seed, int cases)
    {
        var clock = Stopwatch.StartNew();
        var failures = new List<(Size Size, PropertyFailure Failure)>();
        var barriers = new Dictionary<string, int>(StringComparer.Ordinal);
        var constructs = new Dictionary<string, int>(StringComparer.Ordinal);
        int withRemoval = 0;
        long removed = 0;
        for (int i = 0; i < cases; i++)
        {
            var pcg = new PCG(1, seed + (ulong)i);
            var state = pcg.State;
            var spec = gen.Generate(pcg, null!, out var size);
            foreach (var name in spec.Blocks.Select(Construct).Append($"head {spec.Head.Kind}"))
                constructs[name] = constructs.GetValueOrDefault(name) + 1;
            try
            {
                var outcome = PruningProperties.Check(spec);
                if (outcome.RemovedChannels > 0) withRemoval++;
                removed += outcome.RemovedChannels;
                foreach (var b in outcome.Barriers) barriers[b] = barriers.GetValueOrDefault(b) + 1;
            }
            catch (Exception e)
            {
                failures.Add((size, new PropertyFailure(pcg.ToString(state), spec, $"{e.GetType().Name}: {e.Message}")));
            }
        }
        var ordered = failures.OrderBy(f => f.Size, Comparer<Size>.Create((a, b) => Size.IsLessThan(a, b) ? -1 : Size.IsLessThan(b, a) ? 1 : 0))
            .Select(f => f.Failure).ToList();
        return new PropertyRunResult(seed, cases, withRemoval, removed, clock.Elapsed, ordered, barriers, constructs);
    }

    /// <summary>A block's kind with the variant that picks a different rule path.</summary>
    private static string Construct(Block b) => b switch
    {
        ConvBlock c => c.ConstantNode ? "Conv (Constant-node weights)" : "Conv",
        ActivationBlock a => $"activation {a.Kind}",
        ResidualBlock r => r.Mul ? "residual Mul" : "residual Add",
        ResizeBlock r => $"Resize {r.Target}",
        PadBlock p => $"Pad {p.Mode}",
        NhwcBlock n => $"NHWC pair {n.Op}",
        _ => b.GetType().Name.Replace("Block", ""),
    };

    /// <summary>Lets CsCheck look for a smaller failing graph than <paramref name="failure"/>; returns
    /// its report (the smallest case, printed with <see cref="Print"/>).</summary>
    public static string Shrink(Gen<CnnSpec> gen, PropertyFailure failure, int iterations)
    {
        try
        {
            Check.Sample(gen, spec => { PruningProperties.Check(spec); }, seed: failure.Seed, iter: iterations, threads: 1, print: Print);
            return $"CsCheck did not reproduce seed {failure.Seed}:\n{Print(failure.Spec)}\n{failure.Error}";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e.Message;
        }
    }

    /// <summary>A spec and the graph it builds, as text.</summary>
    public static string Print(CnnSpec spec)
    {
        string graph;
        try { graph = GraphListing.Describe(CnnBuilder.Build(spec)); }
        catch (Exception e) { graph = $"(does not build: {e.Message})"; }
        return $"{spec}\n{graph}";
    }
}
