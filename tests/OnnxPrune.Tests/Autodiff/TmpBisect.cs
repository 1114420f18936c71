using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;
namespace OnnxPrune.Tests.Autodiff;
public class TmpBisect
{
    [Theory]
    [InlineData("dwbn")]
    [InlineData("dwbnrelu")]
    [InlineData("bnonly")]
    [InlineData("full")]
    [InlineData("fullbn")]
    [InlineData("nohs")]
    [InlineData("nose")]
    [InlineData("noclip")]
    [InlineData("onlyconv")]
    [InlineData("dwrelu")]
    [InlineData("dw")]
    [InlineData("dwsym")]
    public void Bisect(string v)
    {
        if (v != "fullbn") return;
        foreach (var level in new[] { OnnxPrune.Runtime.GraphOptimizationLevel.All, OnnxPrune.Runtime.GraphOptimizationLevel.Disable })
        {
            GradientCheck.Settings = GradientCheck.Settings with { Optimization = level };
            Console.WriteLine(level);
            foreach (var h in new[] { 1e-2, 3e-3, 1e-3, 3e-4 }) Run(v, h);
        }
        GradientCheck.Settings = GradientCheck.Settings with { Optimization = OnnxPrune.Runtime.GraphOptimizationLevel.All };
    }
    private static void Run(string v, double h)
    {
        var net = new TestNet(DataType.Float, seed: 28);
        var x = net.Input("x", [2, 8, 6, 10]);
        var dw = net.Op("Conv", [x, net.Weight("dw", [8, 1, 3, 3])], Attribute.Ints("pads", [1, 1, 1, 1]), Attribute.Ints("strides", v == "dwsym" ? [2, 2] : [2, 1]), Attribute.Int("group", 8));
        Value y;
        if (v is "dw" or "dwsym") y = dw;
        else if (v is "dwbn" or "dwbnrelu" or "bnonly")
        {
            var bn = net.Op("BatchNormalization", [v == "bnonly" ? x : dw, net.Weight("bn.scale", [8], 0.1, 1), net.Weight("bn.bias", [8], 0.3),
                net.Weight("bn.mean", [8], 0.1), net.Weight("bn.var", [8], 0.1, 1)]);
            y = v == "dwbnrelu" ? net.Op("Relu", [bn]) : bn;
        }
        else if (v == "fullbn")
        {
            var bn = net.Op("BatchNormalization", [dw, net.Weight("bn.scale", [8], 0.1, 1), net.Weight("bn.bias", [8], 0.3),
                net.Weight("bn.mean", [8], 0.1), net.Weight("bn.var", [8], 0.1, 1)]);
            var r = net.Op("Relu", [bn]);
            var squeeze = net.Op("Relu", [net.Op("Conv", [net.Op("GlobalAveragePool", [r]), net.Weight("se1.w", [4, 8, 1, 1]), net.Weight("se1.b", [4])])]);
            var gate = net.Op("HardSigmoid", [net.Op("Conv", [squeeze, net.Weight("se2.w", [8, 4, 1, 1]), net.Weight("se2.b", [8])])], Attribute.Float("alpha", 0.2f), Attribute.Float("beta", 0.5f));
            var pw = net.Op("Conv", [net.Op("Mul", [r, gate]), net.Weight("pw", [6, 8, 1, 1])]);
            var shifted = net.Op("Clip", [net.Op("Add", [pw, net.Constant("three", [], [3])]), net.Constant("zero", [], [0]), net.Constant("six", [], [6])]);
            y = net.Op("Div", [net.Op("Mul", [pw, shifted]), net.Constant("six_", [], [6])]);
        }
        else {
        var r = net.Op("Relu", [dw]);
        if (v == "dwrelu") y = r;
        else {
        Value excited = r;
        if (v != "nose" && v != "onlyconv")
        {
            var squeeze = net.Op("Relu", [net.Op("Conv", [net.Op("GlobalAveragePool", [r]), net.Weight("se1.w", [4, 8, 1, 1]), net.Weight("se1.b", [4])])]);
            var pre = net.Op("Conv", [squeeze, net.Weight("se2.w", [8, 4, 1, 1]), net.Weight("se2.b", [8])]);
            var gate = v == "nohs" ? net.Op("Sigmoid", [pre]) : net.Op("HardSigmoid", [pre], Attribute.Float("alpha", 0.2f), Attribute.Float("beta", 0.5f));
            excited = net.Op("Mul", [r, gate]);
        }
        var pw = net.Op("Conv", [excited, net.Weight("pw", [6, 8, 1, 1])]);
        y = pw;
        if (v != "noclip" && v != "onlyconv")
        {
            var shifted = net.Op("Clip", [net.Op("Add", [pw, net.Constant("three", [], [3])]), net.Constant("zero", [], [0]), net.Constant("six", [], [6])]);
            y = net.Op("Div", [net.Op("Mul", [pw, shifted]), net.Constant("six_", [], [6])]);
        }}}
        var model = net.Finish(y);
        var dims = ConvGradientTests.OutputDims(model, y);
        var projection = net.Graph.AddInitializer(new Value("projection") { ConstValue = DenseTensor.FromDoubles(DataType.Double, dims, net.Normal(TestNet.Count(dims))) });
        var yd = net.Op("Cast", [y], Attribute.Int("to", (long)DataType.Double));
        var loss = net.Op("ReduceSum", [net.Op("Mul", [yd, projection])], Attribute.Int("keepdims", 0));
        loss.ElementType = DataType.Double;
        net.Graph.AddOutput(loss);
        try
        {
            double worst = GradientCheck.Verify(model, net.Data, new GradientOptions { Loss = new ExistingLoss(loss.Name), Trainable = v == "bnonly" ? ["bn.scale"] : ["dw"], BatchNorm = BatchNormMode.RunningStatistics }, 1e-2, inputs: v == "bnonly" ? ["x"] : [], step: h);
            Console.WriteLine($"{v} h={h}: worst {worst:G3}");
        }
        catch (Exception e) { Console.WriteLine($"{v} h={h}: " + e.Message.Split("\n")[0]); }
    }
}
