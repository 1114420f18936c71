using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class ProfilingTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    /// <summary>Conv -> Relu -> Add(x): three op types, one node each.</summary>
    private static byte[] ConvReluAdd() => new TinyModel()
        .Input("x", DataType.Float, 1L, 2L, 8L, 8L).Output("y", DataType.Float, 1L, 2L, 8L, 8L)
        .Initializer("w", [1f, 0.5f, -0.5f, 1f], 2, 2, 1, 1)
        .Node("Conv", ["x", "w"], ["c"])
        .Node("Relu", ["c"], ["r"])
        .Node("Add", ["r", "x"], ["y"])
        .Build();

    private static readonly Dictionary<string, TensorData> Input = new()
    {
        ["x"] = TensorData.Create(Enumerable.Range(0, 128).Select(i => (i % 7) - 3f).ToArray(), 1, 2, 8, 8),
    };

    [Fact]
    public void Summary_has_every_op_type_of_the_model_with_one_call_per_run()
    {
        // Optimizations off, so Conv and Relu are not fused and the op types are the model's own.
        var settings = new SessionSettings { EnableProfiling = true, Optimization = GraphOptimizationLevel.Disable };
        using var session = InferenceSession.FromBytes(ConvReluAdd(), settings, Runtime);
        for (var i = 0; i < 3; i++) session.Run(Input);

        var summary = session.EndProfilingSummary();

        summary.RunCount.Should().Be(3);
        summary.OpTypes.Select(o => o.OpType).Should().BeEquivalentTo("Conv", "Relu", "Add");
        summary.OpTypes.Should().OnlyContain(o => o.Calls == 3 && o.NodeCount == 1);
        summary.Nodes.Select(n => n.NodeName).Should().BeEquivalentTo("conv_0", "relu_1", "add_2");
        summary.Nodes.Should().OnlyContain(n => n.Provider == "CPUExecutionProvider");
        summary.TotalRunMicroseconds.Should().BeGreaterThanOrEqualTo(summary.OpTypes.Sum(o => o.TotalMicroseconds));
        summary.OpTypes.Select(o => o.TotalMicroseconds).Should().BeInDescendingOrder();
    }

    [Fact]
    public void The_profile_file_is_deleted_unless_kept()
    {
        var prefix = Path.Combine(Path.GetTempPath(), $"onnxprune-test-{Guid.NewGuid():N}");
        var settings = new SessionSettings { EnableProfiling = true, ProfileFilePrefix = prefix };
        using (var session = InferenceSession.FromBytes(ConvReluAdd(), settings, Runtime))
        {
            session.Run(Input);
            session.EndProfilingSummary().RunCount.Should().Be(1);
        }
        Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(prefix) + "*").Should().BeEmpty();

        using (var session = InferenceSession.FromBytes(ConvReluAdd(), settings, Runtime))
        {
            session.Run(Input);
            session.EndProfilingSummary(keepFile: true);
        }
        var kept = Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(prefix) + "*");
        try
        {
            kept.Should().ContainSingle().Which.Should().EndWith(".json");
            ProfileSummary.Load(kept[0]).RunCount.Should().Be(1);
        }
        finally
        {
            foreach (var file in kept) File.Delete(file);
        }
    }

    [Fact]
    public void EndProfiling_returns_an_absolute_path_to_the_json()
    {
        using var session = InferenceSession.FromBytes(ConvReluAdd(), new SessionSettings { EnableProfiling = true }, Runtime);
        session.Run(Input);
        var path = session.EndProfiling();
        try
        {
            Path.IsPathRooted(path).Should().BeTrue();
            File.ReadAllText(path).TrimStart().Should().StartWith("[");
            var again = () => session.EndProfiling();
            again.Should().Throw<InvalidOperationException>().WithMessage("*already ended*");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_profile_nobody_ended_leaves_no_temp_file_behind()
    {
        string prefix;
        using (var session = InferenceSession.FromBytes(ConvReluAdd(), new SessionSettings { EnableProfiling = true }, Runtime))
        {
            session.Run(Input);
            prefix = session.ProfilePrefix!;
        }
        Directory.GetFiles(Path.GetDirectoryName(prefix)!, Path.GetFileName(prefix) + "*").Should().BeEmpty();
    }

    [Fact]
    public void EndProfiling_without_profiling_says_how_to_enable_it()
    {
        using var session = InferenceSession.FromBytes(ConvReluAdd(), runtime: Runtime);
        var act = () => session.EndProfiling();
        act.Should().Throw<InvalidOperationException>().WithMessage("*EnableProfiling*");
    }
}
