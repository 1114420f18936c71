using System.Text.Json;

namespace OnnxPrune.Runtime;

/// <summary>Kernel time of one graph node, summed over every run the profile covers.</summary>
internal sealed record NodeProfile(string NodeName, string OpType, string? Provider, int Calls, long TotalMicroseconds);

/// <summary>Kernel time of all nodes of one op type, summed over every run the profile covers.</summary>
internal sealed record OpTypeProfile(string OpType, int NodeCount, int Calls, long TotalMicroseconds);

/// <summary>
/// ORT's profile (a Chrome-trace JSON array of events) reduced to what pruning decisions need:
/// where kernel time goes, per node and per op type. Only "Node" events whose name ends in
/// <c>_kernel_time</c> count; the <c>_fence_before/_fence_after</c> events around them are
/// bookkeeping. Totals include every run while profiling was on (warm-up runs too); divide
/// by <see cref="RunCount"/> for a per-run figure.
/// </summary>
internal sealed class ProfileSummary
{
    private const string KernelSuffix = "_kernel_time";

    private readonly IReadOnlyDictionary<string, List<long>> _calls;

    private ProfileSummary(IReadOnlyList<NodeProfile> nodes, IReadOnlyList<OpTypeProfile> opTypes, int runCount, long runMicroseconds, IReadOnlyList<string> executionOrder,
        IReadOnlyDictionary<string, List<long>> calls)
    {
        Nodes = nodes;
        ExecutionOrder = executionOrder;
        _calls = calls;
        OpTypes = opTypes;
        RunCount = runCount;
        TotalRunMicroseconds = runMicroseconds;
    }

    /// <summary>Nodes, slowest first.</summary>
    public IReadOnlyList<NodeProfile> Nodes { get; }

    /// <summary>Node names in the order their kernels first ran (the graph as ORT executed it, after its own
    /// optimizations), so that a per-layer listing can follow the network from input to output.</summary>
    public IReadOnlyList<string> ExecutionOrder { get; }

    /// <summary>Op types, slowest first.</summary>
    public IReadOnlyList<OpTypeProfile> OpTypes { get; }

    /// <summary>Number of Run calls recorded ("model_run" events).</summary>
    public int RunCount { get; }

    /// <summary>Wall time of all recorded runs, including work outside kernels.</summary>
    public long TotalRunMicroseconds { get; }

    /// <summary>Each kernel call's microseconds of the node named <paramref name="node"/>, in the order they ran (empty
    /// for a node the profile does not have): a median of these is not moved by one slow run, as a sum is.</summary>
    public IReadOnlyList<long> CallsOf(string node) => _calls.TryGetValue(node, out var calls) ? calls : [];

    /// <summary>Total kernel time of one op type, 0 if the profile has none.</summary>
    public long MicrosecondsOf(string opType) =>
        OpTypes.FirstOrDefault(o => o.OpType == opType)?.TotalMicroseconds ?? 0;

    /// <exception cref="InvalidDataException">Not an ORT profile.</exception>
    public static ProfileSummary Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <exception cref="InvalidDataException">Not an ORT profile.</exception>
    public static ProfileSummary Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not valid profile JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException("an ONNX Runtime profile is a JSON array of events");

            var nodes = new Dictionary<(string Name, string OpType), (string? Provider, int Calls, long Micros)>();
            var order = new List<string>();
            var calls = new Dictionary<string, List<long>>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int runs = 0;
            long runMicros = 0;
            foreach (var e in document.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object) continue;
                var category = GetString(e, "cat");
                var name = GetString(e, "name") ?? "";
                var duration = e.TryGetProperty("dur", out var d) && d.TryGetInt64(out var micros) ? micros : 0;

                if (category == "Session" && name == "model_run")
                {
                    runs++;
                    runMicros += duration;
                }
                else if (category == "Node" && name.EndsWith(KernelSuffix, StringComparison.Ordinal))
                {
                    var args = e.TryGetProperty("args", out var a) && a.ValueKind == JsonValueKind.Object ? a : default;
                    var opType = args.ValueKind == JsonValueKind.Object ? GetString(args, "op_name") : null;
                    var provider = args.ValueKind == JsonValueKind.Object ? GetString(args, "provider") : null;
                    var key = (name[..^KernelSuffix.Length], opType ?? "?");
                    if (seen.Add(key.Item1)) order.Add(key.Item1);
                    (calls.TryGetValue(key.Item1, out var list) ? list : calls[key.Item1] = []).Add(duration);
                    nodes.TryGetValue(key, out var sum);
                    nodes[key] = (provider ?? sum.Provider, sum.Calls + 1, sum.Micros + duration);
                }
            }

            var nodeList = nodes
                .Select(n => new NodeProfile(n.Key.Name, n.Key.OpType, n.Value.Provider, n.Value.Calls, n.Value.Micros))
                .OrderByDescending(n => n.TotalMicroseconds).ThenBy(n => n.NodeName, StringComparer.Ordinal)
                .ToList();
            var opTypes = nodeList
                .GroupBy(n => n.OpType)
                .Select(g => new OpTypeProfile(g.Key, g.Count(), g.Sum(n => n.Calls), g.Sum(n => n.TotalMicroseconds)))
                .OrderByDescending(o => o.TotalMicroseconds).ThenBy(o => o.OpType, StringComparer.Ordinal)
                .ToList();
            return new ProfileSummary(nodeList, opTypes, runs, runMicros, order, calls);
        }
    }

    private static string? GetString(JsonElement obj, string property) =>
        obj.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
