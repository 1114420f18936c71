using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.IR;

public class GraphTests
{
    [Fact]
    public void UseListsFollowEveryInputChange()
    {
        var (model, conv, relu, _, dead) = SmallGraphs.ConvReluIdentity();
        var c = conv.Outputs[0];
        c.Uses.Should().BeEquivalentTo(new[] { new Use(relu, 0), new Use(dead, 0) });

        relu.SetInput(0, model.Graph.Inputs[0]);
        c.Uses.Should().ContainSingle().Which.Should().Be(new Use(dead, 0));
        model.Graph.Inputs[0].Uses.Should().Contain(new Use(relu, 0));
        Verifier.Check(model.Graph).Should().BeEmpty();
    }

    [Fact]
    public void ReplaceAllUsesWithMovesNodeInputsAndGraphOutputs()
    {
        var (model, conv, relu, id, dead) = SmallGraphs.ConvReluIdentity();
        var y = id.Outputs[0];
        y.ReplaceAllUsesWith(relu.Outputs[0]);
        model.Graph.Outputs.Should().ContainSingle().Which.Should().BeSameAs(relu.Outputs[0]);
        conv.Outputs[0].ReplaceAllUsesWith(model.Graph.Inputs[0]);
        conv.Outputs[0].Uses.Should().BeEmpty();
        relu.Inputs[0].Should().BeSameAs(model.Graph.Inputs[0]);
        dead.Inputs[0].Should().BeSameAs(model.Graph.Inputs[0]);
    }

    [Fact]
    public void RemovingANodeWhoseOutputIsStillReadIsRefused()
    {
        var (model, conv, _, _, _) = SmallGraphs.ConvReluIdentity();
        var act = () => model.Graph.RemoveNode(conv);
        act.Should().Throw<InvalidOperationException>().WithMessage("*read by node*");
        model.Graph.Nodes.Should().Contain(conv);
    }

    [Fact]
    public void RemovedNodesGiveUpTheirUses()
    {
        var (model, conv, _, _, dead) = SmallGraphs.ConvReluIdentity();
        model.Graph.RemoveNode(dead);
        conv.Outputs[0].Uses.Select(u => u.Node).Should().NotContain(dead);
        dead.Graph.Should().BeNull();
        Verifier.Check(model.Graph).Should().BeEmpty();
    }

    [Fact]
    public void SortTopologicallyRepairsOrderAndKeepsSortedGraphsUnchanged()
    {
        var (model, conv, relu, id, dead) = SmallGraphs.ConvReluIdentity();
        var before = model.Graph.Nodes.ToList();
        model.Graph.SortTopologically();
        model.Graph.Nodes.Should().Equal(before);

        // Move the Conv to the end: the verifier must object, sorting must fix it.
        model.Graph.MoveNodeAfter(dead, conv);
        model.Graph.Nodes.Last().Should().BeSameAs(conv);
        Verifier.Check(model.Graph).Should().Contain(p => p.Contains("not in topological order"));
        model.Graph.SortTopologically();
        model.Graph.Nodes.First().Should().BeSameAs(conv);
        Verifier.Check(model.Graph).Should().BeEmpty();
    }

    [Fact]
    public void ACycleIsReported()
    {
        var g = new Graph("cycle");
        var x = new Value("x", DataType.Float);
        g.AddInput(x);
        var a = g.AddNode(new Node("", "Add", [x, x], ["a"], name: "A"));
        var b = g.AddNode(new Node("", "Relu", [a.Outputs[0]], ["b"], name: "B"));
        a.SetInput(1, b.Outputs[0]);
        g.AddOutput(b.Outputs[0]);
        var act = () => g.SortTopologically();
        act.Should().Throw<GraphCycleException>().WithMessage("*'A'*");
    }

    [Fact]
    public void VerifierFindsDuplicateNamesAndUndefinedInputs()
    {
        var g = new Graph("bad");
        var x = new Value("x", DataType.Float);
        g.AddInput(x);
        var stray = new Value("stray", DataType.Float); // never added to the graph
        g.AddNode(new Node("", "Relu", [x], ["x"], name: "shadow"));
        g.AddNode(new Node("", "Relu", [stray], ["z"], name: "reads_stray"));
        var problems = Verifier.Check(g);
        problems.Should().Contain(p => p.Contains("reuses a name"));
        problems.Should().Contain(p => p.Contains("'stray'") && p.Contains("not defined"));
    }

    [Fact]
    public void SubgraphsMayReadOuterValuesAndThatKeepsTheirProducersAlive()
    {
        var g = new Graph("outer");
        var x = new Value("x", DataType.Float, new Shape(2));
        var cond = new Value("cond", DataType.Bool, Shape.Scalar);
        g.AddInput(x);
        g.AddInput(cond);
        var neg = g.AddNode(new Node("", "Neg", [x], ["n"], name: "neg"));
        var thenBranch = new Graph("then");
        var inner = thenBranch.AddNode(new Node("", "Relu", [neg.Outputs[0]], ["t"], name: "inner"));
        thenBranch.AddOutput(inner.Outputs[0]);
        var elseBranch = new Graph("else");
        var inner2 = elseBranch.AddNode(new Node("", "Identity", [x], ["e"], name: "inner2"));
        elseBranch.AddOutput(inner2.Outputs[0]);
        var @if = new Node("", "If", [cond], ["out"], [Attribute.FromGraph("then_branch", thenBranch), Attribute.FromGraph("else_branch", elseBranch)], "if");
        thenBranch.ParentNode = @if;
        elseBranch.ParentNode = @if;
        g.AddNode(@if);
        g.AddOutput(@if.Outputs[0]);
        var model = new Model(g);

        Verifier.Check(g).Should().BeEmpty();
        new EliminateDeadCode().Run(model).Should().BeFalse("the Neg is read inside the then-branch");
        g.Nodes.Should().Contain(neg);
        // Identity inside a subgraph whose output is the subgraph's output stays (it cannot be renamed into x).
        new RemoveIdentityAndDropout().Run(model);
        Verifier.Check(g).Should().BeEmpty();
    }

    [Fact]
    public void PromoteConstant_gives_the_readers_an_initializer_of_the_same_name()
    {
        var g = new Graph("g");
        var x = new Value("x", DataType.Float);
        g.AddInput(x);
        var data = DenseTensor.FromFloats([2], [1f, 2f]);
        var constant = g.AddNode(new Node("", "Constant", [], ["w"], [Attribute.FromTensor("value", data)], "const"));
        var add = g.AddNode(new Node("", "Add", [x, constant.Outputs[0]], ["y"], [], "add"));
        var mul = g.AddNode(new Node("", "Mul", [constant.Outputs[0], add.Outputs[0]], ["z"], [], "mul"));
        g.AddOutput(mul.Outputs[0]);

        var w = g.PromoteConstant(constant);

        w.Name.Should().Be("w");
        g.Initializers["w"].Should().BeSameAs(w);
        w.ConstValue.Should().BeSameAs(data);
        add.Input(1).Should().BeSameAs(w);
        mul.Input(0).Should().BeSameAs(w);
        g.Nodes.Should().NotContain(constant);
        Verifier.Check(g).Should().BeEmpty();
    }

    [Fact]
    public void PromoteConstant_refuses_other_nodes_and_graph_outputs()
    {
        var g = new Graph("g");
        var x = new Value("x", DataType.Float);
        g.AddInput(x);
        var relu = g.AddNode(new Node("", "Relu", [x], ["r"], [], "relu"));
        var constant = g.AddNode(new Node("", "Constant", [], ["c"], [Attribute.FromTensor("value", DenseTensor.FromFloats([1], [1f]))], "const"));
        g.AddOutput(constant.Outputs[0]);
        ((Action)(() => g.PromoteConstant(relu))).Should().Throw<ArgumentException>().WithMessage("*not a Constant*");
        ((Action)(() => g.PromoteConstant(constant))).Should().Throw<InvalidOperationException>().WithMessage("*graph output*");
        g.Nodes.Should().Contain(constant);
    }

    [Fact]
    public void ReplaceNode_hands_the_first_output_and_its_name_to_the_replacement()
    {
        var g = new Graph("g");
        var x = new Value("x", DataType.Float);
        g.AddInput(x);
        var relu = g.AddNode(new Node("", "Relu", [x], ["r"], [], "relu"));
        var neg = g.AddNode(new Node("", "Neg", [relu.Outputs[0]], ["n"], [], "neg"));
        g.AddOutput(relu.Outputs[0]);
        var clip = g.InsertNodeBefore(neg, new Node("", "Clip", [x], ["clip"], [], "clip"));

        g.ReplaceNode(relu, clip.Outputs[0]);

        clip.Outputs[0].Name.Should().Be("r");
        neg.Input(0).Should().BeSameAs(clip.Outputs[0]);
        g.Outputs.Should().Equal(clip.Outputs[0]);
        g.Nodes.Should().NotContain(relu);
        Verifier.Check(g).Should().BeEmpty();
    }
}
