using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class SessionErrorTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    [Fact]
    public void Garbage_bytes_are_an_invalid_protobuf()
    {
        var act = () => InferenceSession.FromBytes("this is not a model"u8.ToArray(), runtime: Runtime);
        var error = act.Should().Throw<OrtException>().Which;
        error.ErrorCode.Should().Be(OrtErrorCode.InvalidProtobuf);
        error.Message.Should().StartWith("ONNX Runtime error InvalidProtobuf:").And.Contain("protobuf parsing failed");
    }

    [Fact]
    public void A_missing_file_names_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.onnx");
        var act = () => InferenceSession.FromFile(path, runtime: Runtime);
        var error = act.Should().Throw<OrtException>().Which;
        error.ErrorCode.Should().Be(OrtErrorCode.NoSuchFile);
        error.Message.Should().Contain(path);
    }

    [Fact]
    public void A_graph_with_a_dangling_input_is_rejected()
    {
        var model = new TinyModel().Input("x", DataType.Float, 2L).Output("y", DataType.Float, 2L)
            .Node("Add", ["x", "nowhere"], ["y"]).Build();
        var act = () => InferenceSession.FromBytes(model, runtime: Runtime);
        var error = act.Should().Throw<OrtException>().Which;
        error.ErrorCode.Should().NotBe(OrtErrorCode.Ok);
        error.OrtMessage.Should().Contain("nowhere");
    }

    [Theory]
    [InlineData(ExecutionProvider.Cuda, "CUDAExecutionProvider")]
    [InlineData(ExecutionProvider.TensorRT, "TensorrtExecutionProvider")]
    internal void A_gpu_provider_on_the_cpu_package_says_which_package_has_it(ExecutionProvider provider, string name)
    {
        Runtime.GetAvailableProviders().Should().NotContain(name, "the tests run on the CPU package");
        var settings = new SessionSettings { Provider = provider };
        var act = () => InferenceSession.FromFile(NodeTestModels.Path("test_relu"), settings, Runtime);
        var error = act.Should().Throw<ExecutionProviderUnavailableException>().Which;
        error.Provider.Should().Be(provider);
        error.Message.Should().Contain("built without it").And.Contain("CPUExecutionProvider")
            .And.Contain("Microsoft.ML.OnnxRuntime.Gpu").And.Contain("CPU execution provider");
    }

    [Fact]
    public void Wrong_element_type_is_reported_by_onnx_runtime()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: Runtime);
        var act = () => session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new double[60], 3, 4, 5) });
        var error = act.Should().Throw<OrtException>().Which;
        error.ErrorCode.Should().Be(OrtErrorCode.InvalidArgument);
        error.OrtMessage.Should().Contain("double").And.Contain("float");
    }

    [Fact]
    public void Missing_input_is_reported_by_onnx_runtime()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_add"), runtime: Runtime);
        var act = () => session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[60], 3, 4, 5) });
        act.Should().Throw<OrtException>().Which.OrtMessage.Should().Contain("y");
    }

    [Fact]
    public void Unknown_input_and_output_names_list_the_real_ones()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: Runtime);
        var x = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[60], 3, 4, 5) };

        var badInput = () => session.Run(new Dictionary<string, TensorData> { ["X"] = x["x"] });
        badInput.Should().Throw<ArgumentException>().WithMessage("*no input named 'X'*x: float[3,4,5]*");

        var badOutput = () => session.Run(x, ["z"]);
        badOutput.Should().Throw<ArgumentException>().WithMessage("*no output named 'z'*y: float[3,4,5]*");
    }

    [Fact]
    public void Invalid_settings_are_rejected_before_onnx_runtime_sees_them()
    {
        var path = NodeTestModels.Path("test_relu");
        var act = () => InferenceSession.FromFile(path, new SessionSettings { IntraOpThreads = -1 }, Runtime);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*IntraOpThreads*");
        var level = () => InferenceSession.FromFile(path, new SessionSettings { Optimization = (GraphOptimizationLevel)5 }, Runtime);
        level.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(GraphOptimizationLevel.Disable)]
    [InlineData(GraphOptimizationLevel.Basic)]
    [InlineData(GraphOptimizationLevel.Extended)]
    [InlineData(GraphOptimizationLevel.All)]
    internal void Every_optimization_level_and_thread_setting_is_accepted(GraphOptimizationLevel level)
    {
        var settings = new SessionSettings { Optimization = level, IntraOpThreads = 1, InterOpThreads = 2, ParallelExecution = true };
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), settings, Runtime);
        session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(Enumerable.Repeat(-1f, 60).ToArray(), 3, 4, 5) })
            ["y"].As<float>().Should().OnlyContain(v => v == 0f);
    }

    [Fact]
    public void A_disposed_session_cannot_run()
    {
        var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: Runtime);
        session.Dispose();
        session.Dispose(); // twice is harmless
        var act = () => session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[60], 3, 4, 5) });
        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void An_already_cancelled_token_stops_before_running()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: Runtime);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var act = () => session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[60], 3, 4, 5) }, null, cts.Token);
        act.Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public void A_cancellable_token_that_is_not_cancelled_runs_normally()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: Runtime);
        using var cts = new CancellationTokenSource();
        var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(Enumerable.Repeat(2f, 60).ToArray(), 3, 4, 5) }, null, cts.Token);
        y["y"].As<float>().Should().OnlyContain(v => v == 2f);
    }
}
