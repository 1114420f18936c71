using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

public class SessionRunTests
{
    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    private static float[] Ramp(int count, float start, float step) =>
        Enumerable.Range(0, count).Select(i => start + i * step).ToArray();

    [Fact]
    public void Relu_from_file_and_from_bytes_clamps_negatives()
    {
        var path = NodeTestModels.Path("test_relu");
        var x = Ramp(60, -3f, 0.1f);
        var expected = x.Select(v => Math.Max(v, 0f)).ToArray();
        foreach (var session in new[] { InferenceSession.FromFile(path, runtime: Runtime), InferenceSession.FromBytes(File.ReadAllBytes(path), runtime: Runtime) })
        {
            using (session)
            {
                var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(x, 3, 4, 5) })["y"];
                y.ElementType.Should().Be(DataType.Float);
                y.Dims.Should().Equal(3, 4, 5);
                y.As<float>().Should().Equal(expected);
            }
        }
    }

    [Fact]
    public void An_ir_model_runs_after_serialization()
    {
        var model = OnnxPrune.Onnx.OnnxModelFile.Load(NodeTestModels.Path("test_relu"));
        using var session = InferenceSession.FromModel(model, runtime: Runtime);
        var x = Ramp(60, -2f, 0.1f);
        session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(x, 3, 4, 5) })["y"].As<float>()
            .Should().Equal(x.Select(v => Math.Max(v, 0f)));
    }

    [Fact]
    public void Add_of_two_inputs()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_add"), runtime: Runtime);
        var x = Ramp(60, 0f, 1f);
        var y = Ramp(60, 100f, -2.5f);
        var sum = session.Run(new Dictionary<string, TensorData>
        {
            ["x"] = TensorData.Create(x, 3, 4, 5),
            ["y"] = TensorData.Create(y, 3, 4, 5),
        })["sum"].As<float>();
        sum.Should().Equal(x.Zip(y, (a, b) => a + b));
    }

    [Fact]
    public void Strided_padded_conv_matches_a_direct_computation()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_conv_with_strides_padding"), runtime: Runtime);
        var x = Ramp(35, -1f, 0.25f);
        var w = new[] { 1f, -2f, 0.5f, 3f, 0f, -1f, 2f, 1f, -0.5f };
        var y = session.Run(new Dictionary<string, TensorData>
        {
            ["x"] = TensorData.Create(x, 1, 1, 7, 5),
            ["W"] = TensorData.Create(w, 1, 1, 3, 3),
        })["y"];

        // The model's attributes: kernel 3x3, pads 1 on every side, strides 2.
        var expected = new float[4 * 3];
        for (var oy = 0; oy < 4; oy++)
        for (var ox = 0; ox < 3; ox++)
        {
            float acc = 0;
            for (var ky = 0; ky < 3; ky++)
            for (var kx = 0; kx < 3; kx++)
            {
                int iy = oy * 2 + ky - 1, ix = ox * 2 + kx - 1;
                if (iy is >= 0 and < 7 && ix is >= 0 and < 5) acc += x[iy * 5 + ix] * w[ky * 3 + kx];
            }
            expected[oy * 3 + ox] = acc;
        }
        y.Dims.Should().Equal(1, 1, 4, 3);
        var actual = y.As<float>();
        actual.Should().HaveCount(expected.Length);
        for (var i = 0; i < expected.Length; i++) actual[i].Should().BeApproximately(expected[i], 1e-4f, $"element {i}");
    }

    [Fact]
    public void Only_requested_outputs_are_returned_in_request_order()
    {
        var model = new TinyModel()
            .Input("x", DataType.Float, 3L)
            .Output("neg", DataType.Float, 3L).Output("abs", DataType.Float, 3L)
            .Node("Neg", ["x"], ["neg"]).Node("Abs", ["x"], ["abs"]).Build();
        using var session = InferenceSession.FromBytes(model, runtime: Runtime);
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new[] { -1f, 2f, -3f }, 3) };

        var both = session.Run(inputs, ["abs", "neg"]);
        both.Keys.Should().Equal("abs", "neg");
        both["abs"].As<float>().Should().Equal(1f, 2f, 3f);
        both["neg"].As<float>().Should().Equal(1f, -2f, 3f);

        session.Run(inputs, ["neg"]).Keys.Should().Equal("neg");
        session.Run(inputs).Keys.Should().Equal("neg", "abs");
    }

    [Fact]
    public void Inputs_are_read_in_place_and_not_modified()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, 4L), runtime: Runtime);
        var data = new[] { 1f, 2f, 3f, 4f };
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(data, 4) };
        var first = session.Run(inputs)["y"].As<float>();

        data[2] = 42f; // same TensorData, changed array: the next run must see it
        var second = session.Run(inputs)["y"].As<float>();

        first.Should().Equal(1f, 2f, 3f, 4f);
        second.Should().Equal(1f, 2f, 42f, 4f);
        second.Should().NotBeSameAs(data, "outputs are copies the caller owns");
    }

    [Fact]
    public void Run_does_not_copy_inputs_into_managed_memory()
    {
        const int n = 1 << 20; // 4 MiB in, 4 bytes out
        var model = new TinyModel().Input("x", DataType.Float, (long)n).Output("s", DataType.Float, 1L)
            .Node("ReduceSum", ["x"], ["s"]).Build();
        using var session = InferenceSession.FromBytes(model, runtime: Runtime);
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create(Enumerable.Repeat(0.5f, n).ToArray(), n) };
        session.Run(inputs);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var sum = session.Run(inputs)["s"].As<float>();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        sum.Should().Equal(n * 0.5f);
        allocated.Should().BeLessThan(64 * 1024, "the input array is pinned and handed to ORT, not copied");
    }

    [Fact]
    public void Scalars_and_empty_tensors_cross_the_boundary()
    {
        using (var scalar = InferenceSession.FromBytes(TinyModel.Identity(DataType.Int32), runtime: Runtime))
        {
            var y = scalar.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Scalar(7) })["y"];
            y.Dims.Should().BeEmpty();
            y.As<int>().Should().Equal(7);
        }
        using (var empty = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, "n", 3L), runtime: Runtime))
        {
            var y = empty.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(Array.Empty<float>(), 0, 3) })["y"];
            y.Dims.Should().Equal(0, 3);
            y.ElementCount.Should().Be(0);
        }
    }

    [Fact]
    public void Dynamic_batch_takes_the_shape_of_the_actual_input()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Double, "N", 2L), runtime: Runtime);
        foreach (var batch in new[] { 1, 5 })
        {
            var data = Enumerable.Range(0, batch * 2).Select(i => i * 1.5).ToArray();
            var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(data, batch, 2) })["y"];
            y.Dims.Should().Equal(batch, 2);
            y.As<double>().Should().Equal(data);
        }
    }

    [Fact]
    public void Concurrent_runs_of_one_session_each_get_their_own_result()
    {
        using var session = InferenceSession.FromFile(NodeTestModels.Path("test_relu"), runtime: Runtime);
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var x = Ramp(60, i - 30f, 1f);
            var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(x, 3, 4, 5) })["y"].As<float>();
            y.Should().Equal(x.Select(v => Math.Max(v, 0f)));
        });
    }
}
