using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Models older than opset 13 are rewritten into opset-17 form: the training graph's
/// forward output must equal what ORT computes on the original model, and its gradients must pass
/// the finite-difference check.</summary>
public class OpsetUpgradeTests
{
    public static TheoryData<string, long> Cases() => new()
    {
        { "unsqueeze_squeeze_reducesum", 11 },
        { "split", 12 },
        { "softmax_middle_axis", 12 },
        { "softmax_last_axis", 11 },
        { "clip_attributes", 10 },
        { "pad_attributes", 10 },
        { "slice_attributes", 9 },
        { "upsample", 9 },
        { "dropout_ratio", 10 },
        { "batchnorm_spatial", 8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Old_opset_models_keep_their_forward_and_train(string variant, long opset)
    {
        var net = new TestNet(DataType.Float, seed: (int)opset);
        var x = net.Input("x", [2, 3, 4, 4]);
        var w = net.Weight("w", [3, 1, 1], 0.5, 1);
        var t = net.Op("Mul", [x, w]);
        Value y = variant switch
        {
            "unsqueeze_squeeze_reducesum" => net.Op("ReduceSum",
                [net.Op("Squeeze", [net.Op("Unsqueeze", [t], Attribute.Ints("axes", [0]))], Attribute.Ints("axes", [0]))],
                Attribute.Ints("axes", [3]), Attribute.Int("keepdims", 0)),
            "split" => net.Op("Mul", net.Ops("Split", 2, [t], Attribute.Int("axis", 1), Attribute.Ints("split", [1, 2]))
                .Select(v => net.Op("ReduceSum", [v], Attribute.Ints("axes", [1]), Attribute.Int("keepdims", 1))).ToArray<Value?>()),
            "softmax_middle_axis" => net.Op("Softmax", [t], Attribute.Int("axis", 2)),
            "softmax_last_axis" => net.Op("LogSoftmax", [net.Op("Reshape", [t, net.Ints(6, 16)])]),
            "clip_attributes" => net.Op("Clip", [t], Attribute.Float("min", -0.5f), Attribute.Float("max", 0.7f)),
            "pad_attributes" => net.Op("Pad", [t], Attribute.Ints("pads", [0, 0, 1, 0, 0, 1, 0, 2]), Attribute.Float("value", 0.25f)),
            "slice_attributes" => net.Op("Slice", [t], Attribute.Ints("starts", [1, 0]), Attribute.Ints("ends", [3, -1]), Attribute.Ints("axes", [2, 3])),
            "upsample" => net.Op("Upsample", [t, net.Graph.AddInitializer(new Value("scales") { ConstValue = DenseTensor.FromFloats([4], [1, 1, 2, 3]) })],
                Attribute.String("mode", "nearest")),
            "dropout_ratio" => net.Op("Dropout", [t], Attribute.Float("ratio", 0.3f)),
            "batchnorm_spatial" => net.Op("BatchNormalization",
                [t, net.Weight("s", [3], 0.2, 1), net.Weight("b", [3]), net.Weight("m", [3]), net.Weight("v", [3], 0.1, 1)], Attribute.Int("spatial", 1)),
            _ => throw new ArgumentException(variant),
        };
        var model = net.Finish(y);
        model.OpsetImports[""] = opset;
        model.IrVersion = 7;

        var options = GradientCheck.Mse("w") with { BatchNorm = BatchNormMode.RunningStatistics };
        var dims = ForwardDims(model, net.Data, y.Name, out var expected);
        net.Target(dims);
        var graph = GradientBuilder.Build(model, options);
        graph.Model.DefaultOpset.Should().Be(17);
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var actual = session.Evaluate(net.Data, allOutputs: true).Outputs[y.Name].As<float>();
        actual.Should().Equal(expected, (a, e) => Math.Abs(a - e) <= 1e-5f * (1 + Math.Abs(e)));
        var loss = GradientCheck.AppendProjectionLoss(model, y, seed: 3);
        var data = net.Data.Where(e => e.Key != "target").ToDictionary();
        GradientCheck.Verify(model, data, options with { Loss = new ExistingLoss(loss) }, 1e-2, inputs: ["x"]);
    }

    private static long[] ForwardDims(Model model, IReadOnlyDictionary<string, TensorData> data, string output, out float[] values)
    {
        using var session = InferenceSession.FromModel(model, GradientCheck.Settings, GradientCheck.Runtime);
        var result = session.Run(new Dictionary<string, TensorData> { ["x"] = data["x"] }, [output])[output];
        values = result.As<float>();
        return result.Dims.ToArray();
    }

    [Fact]
    public void Opsets_below_7_are_rejected()
    {
        var net = new TestNet(DataType.Float);
        var model = net.Finish(net.Op("Relu", [net.Input("x", [2])]));
        model.OpsetImports[""] = 6;
        ((Action)(() => GradientBuilder.Build(model))).Should().Throw<GradientException>().WithMessage("*opset 6*");
    }
}
