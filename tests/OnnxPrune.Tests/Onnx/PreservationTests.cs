using Google.Protobuf;
using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Onnx;
using OnnxPrune.Onnx.Proto;
using static OnnxPrune.Tests.Onnx.ProtoBuilders;

namespace OnnxPrune.Tests.Onnx;

public class PreservationTests
{
    private static ModelProto Everything()
    {
        var m = AddRelu();
        m.DocString = "model doc";
        m.ProducerVersion = "9.9";
        m.Domain = "org.tests";
        m.ModelVersion = 7;
        m.MetadataProps.Add(new StringStringEntryProto { Key = "dataset", Value = "fashion-mnist" });
        m.MetadataProps.Add(new StringStringEntryProto { Key = "accuracy", Value = "0.93" });
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "custom.domain", Version = 1 });
        m.Graph.DocString = "graph doc";
        m.Graph.Node[0].DocString = "node doc";
        // An attribute of an unknown op, and an attribute the op does not define.
        m.Graph.Node[1].Attribute.Add(new AttributeProto { Name = "mystery", Type = AttributeProto.Types.AttributeType.Strings, Strings = { Google.Protobuf.ByteString.CopyFromUtf8("a") } });
        m.Graph.Node.Add(new NodeProto { OpType = "Frobnicate", Domain = "custom.domain", Name = "custom", Input = { "y" }, Output = { "z" },
            Attribute = { new AttributeProto { Name = "knob", Type = AttributeProto.Types.AttributeType.Float, F = 0.5f } } });
        m.Graph.Output.Add(FloatInfo("z", 2, 3));
        m.Graph.ValueInfo.Add(FloatInfo("s", 2, 3));
        m.Graph.ValueInfo[0].DocString = "value doc";

        // An If whose branches read the outer value 's'.
        var thenG = new GraphProto { Name = "then" };
        thenG.Node.Add(new NodeProto { OpType = "Neg", Input = { "s" }, Output = { "t" } });
        thenG.Output.Add(FloatInfo("t", 2, 3));
        var elseG = new GraphProto { Name = "else" };
        elseG.Node.Add(new NodeProto { OpType = "Abs", Input = { "s" }, Output = { "e" } });
        elseG.Output.Add(FloatInfo("e", 2, 3));
        m.Graph.Input.Add(new ValueInfoProto { Name = "cond", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 9, Shape = new TensorShapeProto() } } });
        m.Graph.Node.Add(new NodeProto { OpType = "If", Name = "branch", Input = { "cond" }, Output = { "w" },
            Attribute = { new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = thenG },
                          new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseG } } });
        m.Graph.Output.Add(FloatInfo("w", 2, 3));

        // A model-local function.
        var f = new FunctionProto { Name = "Double", Domain = "custom.domain", Input = { "a" }, Output = { "b" } };
        f.Node.Add(new NodeProto { OpType = "Add", Input = { "a", "a" }, Output = { "b" } });
        f.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        m.Functions.Add(f);

        // Unknown fields at several levels.
        m.Graph.Node[0] = WithUnknownField(m.Graph.Node[0], NodeProto.Parser, 99, 12345);
        m.Graph.Initializer[0] = WithUnknownField(m.Graph.Initializer[0], TensorProto.Parser, 98, 7);
        m.Graph = WithUnknownField(m.Graph, GraphProto.Parser, 97, 1);
        return WithUnknownField(m, ModelProto.Parser, 96, 42);
    }

    [Fact]
    public void MetadataDocStringsFunctionsSubgraphsUnknownAttributesAndFieldsSurviveLoadAndSave()
    {
        var original = Everything();
        var model = OnnxModelFile.FromBytes(original.ToByteArray());
        Verifier.Check(model.Graph).Should().BeEmpty();
        model.MetadataProps.Should().ContainInOrder(new KeyValuePair<string, string>("dataset", "fashion-mnist"), new KeyValuePair<string, string>("accuracy", "0.93"));
        model.Graph.Nodes.Single(n => n.OpType == "If").Attributes["then_branch"]!.AsGraph().Nodes.Single().Inputs[0]!.Name.Should().Be("s");

        var saved = ModelProto.Parser.ParseFrom(OnnxModelFile.ToBytes(model));
        saved.Should().Be(original);
    }

    [Fact]
    public void WhatTheIrDoesNotModelSurvivesAnEditToTheGraph()
    {
        var original = Everything();
        var model = OnnxModelFile.FromBytes(original.ToByteArray());
        // Make the Relu's input skip the Add (the Add stays: the If's branches still read its output).
        var relu = model.Graph.Nodes.Single(n => n.OpType == "Relu");
        relu.SetInput(0, model.Graph.Inputs[0]);
        model.MetadataProps.Add(new("pruned", "yes"));
        var saved = ModelProto.Parser.ParseFrom(OnnxModelFile.ToBytes(model));

        saved.Functions.Should().Equal(original.Functions);
        saved.Graph.Node.Single(n => n.Name == "relu").Input.Should().Equal("x");
        saved.Graph.Node.Single(n => n.Name == "add").Should().Be(original.Graph.Node[0], "untouched nodes keep doc strings and unknown fields");
        saved.Graph.Node.Single(n => n.Name == "custom").Should().Be(original.Graph.Node.Single(n => n.Name == "custom"));
        saved.Graph.DocString.Should().Be("graph doc");
        saved.Graph.ValueInfo.Single().DocString.Should().Be("value doc");
        saved.MetadataProps.Select(p => p.Key).Should().Equal("dataset", "accuracy", "pruned");
        saved.Graph.CalculateSize().Should().BeGreaterThan(0);
        // Unknown fields on the model and graph: the re-serialized bytes hold field 96 and 97.
        ModelProto.Parser.ParseFrom(saved.ToByteArray()).ToString().Should().NotBeNull();
        saved.Equals(ModelProto.Parser.ParseFrom(original.ToByteArray())).Should().BeFalse("the graph was edited");
        StripGraph(saved).Should().Be(StripGraph(original), "model-level fields other than the graph and metadata are untouched");
    }

    private static ModelProto StripGraph(ModelProto m)
    {
        var c = m.Clone();
        c.Graph = null;
        c.MetadataProps.Clear();
        return c;
    }

    [Fact]
    public void DeadCodeRemovalThenSaveGivesAModelWithoutTheDeadNodes()
    {
        var m = AddRelu();
        m.Graph.Node.Add(new NodeProto { OpType = "Sigmoid", Name = "dead", Input = { "s" }, Output = { "unused" } });
        var model = OnnxModelFile.FromBytes(m.ToByteArray());
        new EliminateDeadCode().Run(model).Should().BeTrue();
        var saved = ModelProto.Parser.ParseFrom(OnnxModelFile.ToBytes(model));
        saved.Graph.Node.Select(n => n.Name).Should().Equal("add", "relu");
    }
}
