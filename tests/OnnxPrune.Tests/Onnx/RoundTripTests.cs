using OnnxPrune.Onnx;
using OnnxPrune.Onnx.Proto;
using OnnxPrune.IR;

namespace OnnxPrune.Tests.Onnx;

public class RoundTripTests
{
    /// <summary>Load -> IR -> save changes nothing in any of ONNX's own test models: the saved
    /// protobuf equals the original field for field (unknown fields included).</summary>
    [Fact]
    public void EveryOnnxTestModelSurvivesLoadAndSaveUnchanged()
    {
        var failures = new List<string>();
        var models = TestData.OnnxTestModels();
        foreach (var path in models)
        {
            var original = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Model model;
            try { model = OnnxModelFile.Load(path); }
            catch (OnnxFormatException e) { failures.Add($"{path}: load failed: {e.Message}"); continue; }
            Verifier.Check(model.Graph).Should().BeEmpty(path);
            var saved = ModelProto.Parser.ParseFrom(OnnxModelFile.ToBytes(model));
            if (!saved.Equals(original)) failures.Add($"{path}: differs after round trip");
        }
        models.Count.Should().BeGreaterThan(1000);
        failures.Should().BeEmpty();
    }
}
