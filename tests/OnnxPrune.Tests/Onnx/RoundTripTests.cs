using OnnxPrune.Onnx;
using OnnxPrune.Onnx.Proto;
using OnnxPrune.IR;

namespace OnnxPrune.Tests.Onnx;

[Trait("Category", "Slow")]
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

    /// <summary>Model.Clone copies everything the file holds (the clone saves to the same
    /// protobuf as the original) and shares nothing mutable with it: rewriting the clone's graph
    /// leaves the original's bytes as they were.</summary>
    [Fact]
    public void A_clone_of_every_onnx_test_model_saves_identically_and_is_independent()
    {
        var failures = new List<string>();
        var models = TestData.OnnxTestModels();
        foreach (var path in models)
        {
            Model model;
            try { model = OnnxModelFile.Load(path); }
            catch (OnnxFormatException) { continue; }
            var before = OnnxModelFile.ToBytes(model);
            var clone = model.Clone();
            Verifier.Check(clone.Graph).Should().BeEmpty(path);
            if (!OnnxModelFile.ToBytes(clone).AsSpan().SequenceEqual(before)) failures.Add($"{path}: the clone saves differently");
            foreach (var node in clone.Graph.Nodes) node.Name += "/clone";
            foreach (var v in clone.Graph.Inputs) v.Name += "/clone";
            if (clone.Graph.Nodes.Count > 0) clone.Graph.RemoveNodes(clone.Graph.Nodes.Where(n => n.Outputs.All(o => o.Uses.Count == 0 && !o.IsGraphOutput)).ToList());
            clone.Graph.ClearOutputs();
            clone.OpsetImports["clone.test"] = 1;
            clone.MetadataProps.Add(new("clone", "yes"));
            if (!OnnxModelFile.ToBytes(model).AsSpan().SequenceEqual(before)) failures.Add($"{path}: editing the clone changed the original");
        }
        models.Count.Should().BeGreaterThan(1000);
        failures.Should().BeEmpty();
    }
}
