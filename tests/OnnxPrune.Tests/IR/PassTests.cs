using OnnxPrune.IR;
using OnnxPrune.IR.Passes;

namespace OnnxPrune.Tests.IR;

public class PassTests
{
    [Fact]
    public void DeadCodeEliminationRemovesUnreadNodesAndInitializersAndReportsIt()
    {
        var (model, _, _, _, dead) = SmallGraphs.ConvReluIdentity();
        var unused = model.Graph.AddInitializer("unused", DenseTensor.FromFloats([2], [1f, 2f]));
        var pass = new EliminateDeadCode();
        pass.Run(model).Should().BeTrue();
        model.Graph.Nodes.Should().NotContain(dead);
        model.Graph.Initializers.Should().NotContainKey(unused.Name);
        Verifier.Check(model.Graph).Should().BeEmpty();
        pass.Run(model).Should().BeFalse("nothing is left to remove");
    }

    [Fact]
    public void IdentityFeedingAGraphOutputIsRemovedAndTheOutputKeepsItsName()
    {
        var (model, _, relu, id, _) = SmallGraphs.ConvReluIdentity();
        new RemoveIdentityAndDropout().Run(model).Should().BeTrue();
        model.Graph.Nodes.Should().NotContain(id);
        model.Graph.Outputs.Single().Should().BeSameAs(relu.Outputs[0]);
        model.Graph.Outputs.Single().Name.Should().Be("y");
        Verifier.Check(model.Graph).Should().BeEmpty();
    }

    [Fact]
    public void DropoutIsRemovedOnlyWhenItsMaskIsUnreadAndTrainingIsOff()
    {
        var g = new Graph("d");
        var x = new Value("x", DataType.Float, new Shape(4));
        g.AddInput(x);
        var keep = g.AddNode(new Node("", "Dropout", [x], ["a", "mask"], name: "mask_read"));
        var drop = g.AddNode(new Node("", "Dropout", [keep.Outputs[0]], ["b"], name: "plain"));
        var training = g.AddInitializer("training", new DenseTensor(DataType.Bool, [], new byte[] { 1 }));
        var trainingDrop = g.AddNode(new Node("", "Dropout", [drop.Outputs[0], null, training], ["c"], name: "training"));
        g.AddOutput(trainingDrop.Outputs[0]);
        g.AddOutput(keep.Outputs[1]);
        var model = new Model(g);
        new RemoveIdentityAndDropout().Run(model).Should().BeTrue();
        g.Nodes.Should().Contain(keep).And.Contain(trainingDrop).And.NotContain(drop);
        trainingDrop.Inputs[0].Should().BeSameAs(keep.Outputs[0]);
        Verifier.Check(g).Should().BeEmpty();
    }

    private sealed class BreaksTheGraph : IPass
    {
        public string Name => "breaks-the-graph";
        public bool Run(Model model)
        {
            // Reads a value no graph defines: the verifier must catch it and name this pass.
            model.Graph.Nodes[0].SetInput(0, new Value("ghost", DataType.Float));
            return true;
        }
    }

    [Fact]
    public void PassManagerVerifiesAfterEachPassAndNamesTheCulprit()
    {
        var (model, _, _, _, _) = SmallGraphs.ConvReluIdentity();
        var manager = new PassManager([new EliminateDeadCode(), new BreaksTheGraph()], verifyAfterEachPass: true);
        var act = () => manager.Run(model);
        act.Should().Throw<PassFailedException>().Where(e => e.Pass == "breaks-the-graph" && e.Message.Contains("eliminate-dead-code"));
    }

    [Fact]
    public void PassManagerIteratesToAFixedPoint()
    {
        var (model, _, _, _, _) = SmallGraphs.ConvReluIdentity();
        var seen = new List<(string, bool)>();
        var manager = new PassManager([new RemoveIdentityAndDropout(), new EliminateDeadCode()], verifyAfterEachPass: true);
        manager.AfterPass += (p, changed) => seen.Add((p.Name, changed));
        manager.Run(model).Should().BeTrue();
        seen.TakeLast(2).Should().OnlyContain(s => !s.Item2, "the last round changes nothing");
        new PassManager([new RemoveIdentityAndDropout(), new EliminateDeadCode()]).Run(model).Should().BeFalse();
    }
}
