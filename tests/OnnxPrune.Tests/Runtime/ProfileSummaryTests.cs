using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class ProfileSummaryTests
{
    private static string Event(string cat, string name, long dur, string? op = null) =>
        $$"""{"cat":"{{cat}}","pid":1,"tid":1,"dur":{{dur}},"ts":0,"ph":"X","name":"{{name}}","args":{{(op is null ? "{}" : $$"""{"op_name":"{{op}}","provider":"CPUExecutionProvider"}""")}}}""";

    [Fact]
    public void Sums_kernel_events_per_node_and_op_type_and_ignores_fences()
    {
        var json = "[" + string.Join(",\n",
            Event("Session", "session_initialization", 5000),
            Event("Node", "conv1_fence_before", 0, "Conv"),
            Event("Node", "conv1_kernel_time", 30, "Conv"),
            Event("Node", "conv1_fence_after", 0, "Conv"),
            Event("Node", "conv2_kernel_time", 50, "Conv"),
            Event("Node", "relu_kernel_time", 5, "Relu"),
            Event("Session", "model_run", 100),
            Event("Node", "conv1_kernel_time", 40, "Conv"),
            Event("Node", "conv2_kernel_time", 45, "Conv"),
            Event("Node", "relu_kernel_time", 7, "Relu"),
            Event("Session", "model_run", 110)) + "]";

        var summary = ProfileSummary.Parse(json);

        summary.RunCount.Should().Be(2);
        summary.TotalRunMicroseconds.Should().Be(210);
        summary.Nodes.Should().Equal(
            new NodeProfile("conv2", "Conv", "CPUExecutionProvider", 2, 95),
            new NodeProfile("conv1", "Conv", "CPUExecutionProvider", 2, 70),
            new NodeProfile("relu", "Relu", "CPUExecutionProvider", 2, 12));
        summary.OpTypes.Should().Equal(
            new OpTypeProfile("Conv", 2, 4, 165),
            new OpTypeProfile("Relu", 1, 2, 12));
        summary.MicrosecondsOf("Conv").Should().Be(165);
        summary.MicrosecondsOf("Gemm").Should().Be(0);
        summary.ExecutionOrder.Should().Equal(["conv1", "conv2", "relu"], "the order kernels first ran, not the slowest-first order of Nodes");
        summary.CallsOf("conv2").Should().Equal(50, 45);
        summary.CallsOf("fence").Should().BeEmpty();
    }

    [Fact]
    public void Per_run_times_are_the_median_call_so_one_slow_run_does_not_count()
    {
        var json = "[" + string.Join(",\n", new[] { 900L, 20, 22, 21, 500 }.SelectMany(us => new[]
            { Event("Node", "conv_kernel_time", us, "Conv"), Event("Session", "model_run", us + 5) })) + "]";
        var perRun = ProfiledRuns.MillisecondsPerRun(ProfileSummary.Parse(json), runs: 5);
        perRun["conv"].Should().Be(0.022, "the median of 900, 20, 22, 21, 500 microseconds");
    }

    [Fact]
    public void Node_names_that_contain_the_suffix_text_keep_the_rest()
    {
        var summary = ProfileSummary.Parse("[" + Event("Node", "a_kernel_time_kernel_time", 3, "Add") + "]");
        summary.Nodes.Single().NodeName.Should().Be("a_kernel_time");
    }

    [Theory]
    [InlineData("{\"not\":\"an array\"}")]
    [InlineData("[{\"cat\":")]
    public void Rejects_input_that_is_not_a_profile(string json)
    {
        var act = () => ProfileSummary.Parse(json);
        act.Should().Throw<InvalidDataException>();
    }
}
