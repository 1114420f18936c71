using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Training graphs of real exported models (paddle2onnx opset 9 with BatchNorm and SE
/// gates, tf2onnx opset 12 NHWC with depthwise convolutions, torchvision opset 13 with channel shuffles): they build,
/// ORT runs them, and the gradient agrees with finite differences along random directions.</summary>
[Trait("Category", "Slow")]
public class RealModelGradientTests
{
    [Theory]
    [InlineData("ppocr-mobile-v2-cls")]
    [InlineData("blazeface-front-128")]
    [InlineData("shufflenet_v2_x1_0")]
    public void Real_models_train(string name)
    {
        var model = OnnxModelFile.Load(TestData.RealModel(name));
        var input = model.Graph.Inputs.First(i => !model.Graph.Initializers.ContainsKey(i.Name));
        var dims = TestData.InputShapes(TestData.RealModel(name))?[input.Name] ?? input.Shape!.Dims.Select(d => d.Value ?? 1).ToArray();
        dims[0] = input.Shape!.Dims[0].Value ?? 1;
        input.Shape = new Shape(dims);
        // The built-in loss for the build check; a random projection of the first output (in
        // float64) for the finite-difference check, whose float32 noise the softmax would swamp.
        var builtIn = GradientBuilder.Build(model, name.StartsWith("blazeface") ? new GradientOptions { Loss = new MeanSquaredErrorLoss() } : GradientOptions.Default);
        builtIn.Parameters.Should().NotBeEmpty();
        var loss = GradientCheck.AppendProjectionLoss(model, model.Graph.Outputs[0], seed: 5);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new ExistingLoss(loss) });
        graph.Parameters.Should().NotBeEmpty();

        var rng = new Random(3);
        var data = new Dictionary<string, TensorData>
        {
            [input.Name] = TensorData.Create(Enumerable.Range(0, (int)TestNet.Count(dims)).Select(_ => (float)rng.NextDouble()).ToArray(), dims),
        };
        using var session = new GradientSession(graph, GradientCheck.Settings with { IntraOpThreads = 2 }, GradientCheck.Runtime);
        foreach (var i in session.Session.Inputs.Where(i => !data.ContainsKey(i.Name) && graph.Parameter(i.Name) is null))
        {
            data[i.Name] = TensorData.Create(new float[i.Dims.Aggregate(1L, (a, b) => a * Math.Max(b, 1))], i.Dims.Select(d => Math.Max(d, 1)).ToArray());
        }
        GradientCheck.VerifyJoint(session, data, 1e-2, directions: 1);
    }
}
