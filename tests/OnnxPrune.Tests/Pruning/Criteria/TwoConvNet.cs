namespace OnnxPrune.Tests.Pruning.Criteria;

using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>The allocation tests' net: x[1,4,8,8] -> convA 1x1 (4 -> 16) -> Relu -> convB 1x1 (16 -> 32) -> Relu ->
/// convC 1x1 (32 -> 2, the output, pinned). MACs at 8x8: A 4,096, B 32,768, C 4,096; 40,960 in all.</summary>
internal static class TwoConvNet
{
    public static (Model Model, Value A, Value B) Build(int seed = 5)
    {
        var net = new TestNet(seed: seed);
        var x = net.Input("x", [1, 4, 8, 8]);
        var a = net.Conv(x, 4, 16, bias: false);
        var b = net.Conv(net.Op("Relu", [a]), 16, 32, bias: false);
        var c = net.Conv(net.Op("Relu", [b]), 32, 2, bias: false);
        return (net.Finish(c), a, b);
    }
}
