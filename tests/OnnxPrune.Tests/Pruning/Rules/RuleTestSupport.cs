using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Tests.Autodiff;
using OnnxPrune.Tests.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Rules;

/// <summary>
/// What the channel-rule tests share. Models are built with <see cref="TestNet"/> (seeded random
/// float weights, opset 17); these helpers read the analysis, remove chosen units, and run the
/// project's own exactness check (<see cref="RemovalCheck"/>: zero a seeded half of every
/// prunable group, remove exactly those channels, compare ONNX Runtime's outputs).
/// </summary>
internal static class RuleTestSupport
{
    public const string OutputPin = "the model's outputs keep their shapes";

    /// <summary>Why a Slice or Split keeps the first channel of each range it takes.</summary>
    public const string KeepsOne = "keeps one channel of the range it takes, so its output is never empty";

    /// <summary>A Conv with a random [cout, cin/group, k, k] filter (and bias when asked).</summary>
    public static Value Conv(this TestNet net, Value x, int cin, int cout, int k = 1, bool bias = true, int group = 1, int pad = 0)
    {
        var w = net.Weight($"w{net.Graph.Nodes.Count}", [cout, cin / group, k, k]);
        var b = bias ? net.Weight($"b{net.Graph.Nodes.Count}", [cout]) : null;
        var attributes = new List<Attribute>();
        if (pad > 0) attributes.Add(Attribute.Ints("pads", [pad, pad, pad, pad]));
        if (group != 1) attributes.Add(Attribute.Int("group", group));
        return net.Op("Conv", b is null ? [x, w] : [x, w, b], attributes.ToArray());
    }

    public static Node N(this Value v) => v.Producer ?? throw new InvalidOperationException($"{v} has no producer");

    public static ChannelAnalysis Analyze(Model model) => ChannelAnalysis.Run(model);

    /// <summary>The one group whose producers are exactly <paramref name="producers"/> (by their outputs).</summary>
    public static ChannelGroup Group(this ChannelAnalysis a, params Value[] producers)
    {
        var nodes = producers.Select(N).ToList();
        var matches = a.Groups.Where(g => g.Producers.Count == nodes.Count && nodes.All(n => g.Producers.Contains(n))).ToList();
        matches.Should().ContainSingle($"one group is produced by exactly {string.Join(", ", nodes.Select(n => n.Name))}; groups: {Describe(a)}");
        return matches[0];
    }

    public static string Describe(ChannelAnalysis a) =>
        string.Join("; ", a.Groups.Select(g => $"[{g.Name}] {g.ChannelCount} ch, {g.PrunableUnits.Count} prunable, pins: {string.Join(" | ", g.PinReasons)}"));

    /// <summary>The reason <see cref="AnalysisContext.Pin"/> records for a barrier at <paramref name="node"/>.</summary>
    public static string PinAt(Value nodeOutput, string why) => $"{nodeOutput.N().OpType} '{nodeOutput.N().Name}': {why}";

    public static string OutputPinOf(Value output) => $"graph output '{output.Name}': {OutputPin}";

    public static void ShouldBeFree(this ChannelGroup g, int channels)
    {
        g.ChannelCount.Should().Be(channels);
        g.PrunableUnits.Should().HaveCount(channels, $"nothing pins [{g.Name}], but it has pins {string.Join(" | ", g.PinReasons)}");
        g.PinReasons.Should().BeEmpty();
    }

    public static void ShouldBePinnedBy(this ChannelGroup g, int channels, params string[] reasons)
    {
        g.ChannelCount.Should().Be(channels);
        g.PrunableUnits.Should().BeEmpty();
        g.PinReasons.Should().BeEquivalentTo(reasons);
    }

    /// <summary>Members of the group as (node, input tensor, axis, role).</summary>
    public static IEnumerable<(string Node, string Tensor, int Axis, string Role)> MembersOf(this ChannelAnalysis a, ChannelGroup g) =>
        a.Members(g).Select(m => (m.Node, m.Tensor, m.Axis, m.Role));

    public static (string, string, int, string) Member(Value nodeOutput, int input, int axis, string role) =>
        (nodeOutput.N().Name, nodeOutput.N().Inputs[input]!.Name, axis, role);

    /// <summary>Removes units <paramref name="indices"/> (positions in the group's unit list, which
    /// for a single producer is its channel order) and checks the graph stays well formed.</summary>
    public static void RemoveUnits(this ChannelAnalysis a, ChannelGroup g, params int[] indices)
    {
        a.Remove(indices.Select(i => g.Units[i]).ToList());
        Verifier.Check(a.Model.Graph).Should().BeEmpty();
    }

    /// <summary>The carrier of <paramref name="v"/>: its channel axis and, per position, the root unit (-1: kept always).</summary>
    public static (int Axis, int[] Units) CarrierOf(this ChannelAnalysis a, Value v)
    {
        var c = a.Context.CarrierOf(v);
        c.Should().NotBeNull($"{v} should carry channels");
        return (c!.Axis, c.Units.Select(u => u < 0 ? -1 : a.Root(u)).ToArray());
    }

    public static long[] DimsOfInput(this Value nodeOutput, int input) => nodeOutput.N().Inputs[input]!.ConstValue!.Dims;

    public static float[] DataOfInput(this Value nodeOutput, int input) => nodeOutput.N().Inputs[input]!.ConstValue!.ToFloatArray();

    /// <summary>The entries of a row-major tensor whose index along <paramref name="axis"/> is in <paramref name="kept"/>.</summary>
    public static float[] Keep(float[] data, long[] dims, int axis, params int[] kept)
    {
        long outer = dims.Take(axis).Aggregate(1L, (x, y) => x * y), inner = dims.Skip(axis + 1).Aggregate(1L, (x, y) => x * y);
        var result = new List<float>();
        for (long o = 0; o < outer; o++)
            foreach (var i in kept)
                for (long k = 0; k < inner; k++) result.Add(data[(o * dims[axis] + i) * inner + k]);
        return result.ToArray();
    }

    /// <summary>The exactness check on a model as built (serialized before any analysis touches it):
    /// something is removed, and the outputs match those of the model with it zeroed.</summary>
    public static RemovalCheckResult ShouldRemoveExactly(Model model, int seed = 11)
    {
        var result = ShouldKeepOutputs(model, seed);
        result.RemovedChannels.Should().BeGreaterThan(0, "the check must remove something to prove anything");
        return result;
    }

    /// <summary>The exactness check, whether or not the analysis finds anything to remove.</summary>
    public static RemovalCheckResult ShouldKeepOutputs(Model model, int seed = 11)
    {
        _ = OrtTestLibrary.Runtime;
        var result = RemovalCheck.Run(OnnxModelFile.ToBytes(model), null, new Dictionary<string, long[]>(), seed);
        result.Passed().Should().BeTrue($"outputs must match with the removed channels zeroed ({result.RemovedChannels} removed, max abs error {result.MaxAbsError:g3}, scale {result.Scale:g3})");
        return result;
    }
}
