namespace OnnxPrune.Tests.Pruning.Criteria;

using OnnxPrune.IR;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Rules.RuleTestSupport;

/// <summary>fpgm: per producer layer, a filter's score is the sum of its Euclidean distances to the
/// layer's other filters; a group sums its producers' scores. Filters here are points in the plane
/// (two weights each) so the distances are a 3-4-5 triangle.</summary>
public class FpgmCriterionTests
{
    /// <summary>Filters (0,0), (3,0), (0,4): d01 = 3, d02 = 4, d12 = 5, so the sums are 3+4, 3+5, 4+5.</summary>
    private static readonly double[] Triangle = [0, 0, 3, 0, 0, 4];
    private static readonly double[] TriangleSums = [7, 8, 9];

    /// <summary>A 1x1 conv from 2 to 3 channels with the given [3, 2] filters, read by a second conv so it is prunable.</summary>
    private static Value Conv(TestNet net, Value x, string name, double[] filters, double[]? bias = null)
    {
        var w = net.Constant(name, [3, 2, 1, 1], filters);
        return net.Op("Conv", bias is null ? [x, w] : [x, w, net.Constant(name + "_b", [3], bias)]);
    }

    [Fact]
    public void Known_answer_sums_of_distances_to_the_other_filters_and_the_bias_does_not_count()
    {
        var net = new TestNet(seed: 1);
        var x = net.Input("x", [1, 2, 4, 4]);
        var c1 = Conv(net, x, "w1", Triangle, bias: [100, 0, -50]);
        var c2 = net.Conv(net.Op("Relu", [c1]), 3, 1);
        var a = Analyze(net.Finish(c2));
        CriterionTestSupport.ShouldBeClose(CriterionTestSupport.GroupScores(new FpgmCriterion(), a, a.Group(c1)), TriangleSums);
    }

    [Fact]
    public void Filters_along_the_second_axis_of_a_MatMul_weight_are_its_columns()
    {
        var net = new TestNet(seed: 2);
        var x = net.Input("x", [1, 2]);
        // W [2, 3]: column j is filter j, so the columns are (0,0), (3,0), (0,4).
        var m1 = net.Op("MatMul", [x, net.Constant("w1", [2, 3], [0, 3, 0, 0, 0, 4])]);
        var m2 = net.Op("MatMul", [net.Op("Relu", [m1]), net.Weight("w2", [3, 1])]);
        var a = Analyze(net.Finish(m2));
        CriterionTestSupport.ShouldBeClose(CriterionTestSupport.GroupScores(new FpgmCriterion(), a, a.Group(m1)), TriangleSums);
    }

    /// <summary>Two convs tied by an Add form one group: each channel's score is its filter's sum in
    /// the first conv plus its filter's sum in the second. Second conv: (1,1), (1,1), (1,2): d01 = 0,
    /// d02 = 1, d12 = 1, so sums 1, 1, 2; the group: 8, 9, 11.</summary>
    [Fact]
    public void A_group_of_two_coupled_producers_sums_both_layers()
    {
        var net = new TestNet(seed: 3);
        var x = net.Input("x", [1, 2, 4, 4]);
        var a1 = Conv(net, x, "wa", Triangle);
        var b1 = Conv(net, x, "wb", [1, 1, 1, 1, 1, 2]);
        var sum = net.Op("Add", [a1, b1]);
        var c2 = net.Conv(net.Op("Relu", [sum]), 3, 1);
        var a = Analyze(net.Finish(c2));
        var g = a.Group(a1, b1);
        g.ShouldBeFree(3);
        CriterionTestSupport.ShouldBeClose(CriterionTestSupport.GroupScores(new FpgmCriterion(), a, g), new double[] { 8, 9, 11 });
    }

    [Fact]
    public void The_filter_nearest_the_geometric_median_scores_lowest()
    {
        // Four corners of a square and its centre: the centre is the geometric median.
        var sums = FpgmCriterion.DistanceSums([0, 0, 2, 0, 0, 2, 2, 2, 1, 1], 2);
        sums.Select((s, i) => (s, i)).MinBy(p => p.s).i.Should().Be(4);
        sums[4].Should().BeApproximately(4 * Math.Sqrt(2), 1e-5, "four distances of sqrt(2)");
        sums[0].Should().BeApproximately(2 + 2 + 2 * Math.Sqrt(2) + Math.Sqrt(2), 1e-5, "2, 2, 2*sqrt(2) to the corners and sqrt(2) to the centre");
    }
}
