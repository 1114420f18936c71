using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Onnx;
using OnnxPrune.Onnx.Proto;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Onnx;

/// <summary>Real exports from torch (torchvision), tf2onnx (BlazeFace) and paddle2onnx (PP-OCR)
/// survive our load -> IR -> save: ONNX Runtime computes identical outputs from both files.</summary>
[Trait("Category", "Slow")]
public class RealExportsTests
{
    public static TheoryData<string> Models() => new(TestData.RealModelNames);

    [Theory]
    [MemberData(nameof(Models))]
    public void RoundTripGivesIdenticalProtobufAndIdenticalOutputs(string name)
    {
        var path = TestData.RealModel(name);
        var model = OnnxModelFile.Load(path);
        Verifier.Check(model.Graph).Should().BeEmpty();
        var bytes = OnnxModelFile.ToBytes(model);
        ModelProto.Parser.ParseFrom(bytes).Should().Be(ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)));
        AssertSameOutputs(path, bytes, exact: true);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CleanupPassesKeepOutputsAndTheVerifierHappy(string name)
    {
        var path = TestData.RealModel(name);
        var model = OnnxModelFile.Load(path);
        var manager = new PassManager([new RemoveIdentityAndDropout(), new FoldConstantShapes(), new EliminateDeadCode()], verifyAfterEachPass: true);
        manager.Run(model);
        model.Graph.Nodes.Should().NotContain(n => n.OpType == "Identity" && !n.Outputs[0].IsGraphOutput);
        // Folding can reorder float arithmetic only in shape computations, so outputs match to rounding.
        AssertSameOutputs(path, OnnxModelFile.ToBytes(model), exact: false);
    }

    private static void AssertSameOutputs(string originalPath, byte[] ours, bool exact)
    {
        _ = OrtTestLibrary.Runtime;
        var settings = new SessionSettings { IntraOpThreads = 1 };
        using var a = InferenceSession.FromFile(originalPath, settings);
        using var b = InferenceSession.FromBytes(ours, settings);
        var inputs = RandomInputs.Create(a.Inputs, batch: 2, seed: 7, TestData.InputShapes(originalPath));
        var outA = a.Run(inputs);
        var outB = b.Run(inputs);
        outB.Keys.Should().Equal(outA.Keys);
        foreach (var (key, value) in outA)
        {
            var x = TensorConversion.ToDoubles(value);
            var y = TensorConversion.ToDoubles(outB[key]);
            outB[key].Dims.Should().Equal(value.Dims);
            var maxAbs = x.Zip(y, (p, q) => Math.Abs(p - q)).Max();
            var scale = Math.Max(1, x.Max(Math.Abs));
            if (exact) maxAbs.Should().Be(0, $"output '{key}' must be bit-identical");
            else maxAbs.Should().BeLessThanOrEqualTo(1e-5 * scale, $"output '{key}'");
        }
    }
}
