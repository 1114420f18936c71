using OnnxPrune.Pruning.Policy.Cie;

namespace OnnxPrune.Tests.Pruning.Policies;

/// <summary>CIE's tau rule and grid parsing on a hand-made contribution matrix (METHODS.md §4).</summary>
public class ContributionMatrixTests
{
    private static readonly double[] Grid = [0.25, 0.5, 0.75];

    private static ContributionMatrix Matrix() => new(Grid, new Dictionary<string, double[]>
    {
        ["robust"] = [0.0, 0.5, 1.0],
        ["fragile"] = [2.0, 6.0, 10.0],
        ["noisy"] = [1.0, 0.5, 3.0], // not monotone: the largest ratio under tau counts
    });

    [Theory]
    [InlineData("robust", 0.0, 0.25)]   // at tau 0 the flat first segment is taken to its end
    [InlineData("robust", 0.25, 0.375)] // halfway from 0.25 (C 0) to 0.5 (C 0.5)
    [InlineData("robust", 1.0, 0.75)]
    [InlineData("fragile", 1.0, 0.125)] // from (0, 0) to (0.25, 2)
    [InlineData("fragile", 4.0, 0.375)]
    [InlineData("fragile", 100, 0.75)]
    [InlineData("noisy", 0.5, 0.5)]     // C(0.5) = 0.5 although C(0.25) = 1
    [InlineData("noisy", 1.75, 0.625)]  // between 0.5 (C 0.5) and 0.75 (C 3): 0.5 + 1.25/2.5 * 0.25
    [InlineData("noisy", -1, 0.0)]
    [InlineData("unknown", 5, 0.0)]
    public void Each_group_takes_the_largest_ratio_within_tau(string key, double tau, double expected) =>
        Matrix().RatioAt(key, tau).Should().BeApproximately(expected, 1e-12);

    [Fact]
    public void Ratios_only_grow_with_tau()
    {
        var m = Matrix();
        foreach (var key in m.Rows.Keys)
        {
            double last = 0;
            for (double tau = -1; tau <= 11; tau += 0.01)
            {
                var r = m.RatioAt(key, tau);
                r.Should().BeGreaterThanOrEqualTo(last - 1e-12);
                last = r;
            }
        }
    }

    [Fact]
    public void The_range_includes_the_unpruned_point() => Matrix().Range().Should().Be((0.0, 10.0));

    [Fact]
    public void The_grid_option_is_parsed_and_checked()
    {
        ContributionMatrix.ParseGrid("0.1:0.9:0.1").Should().Equal(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9);
        ContributionMatrix.ParseGrid("0.5:0.5:0.1").Should().Equal(0.5);
        foreach (var bad in new[] { "0:0.9:0.1", "0.1:1:0.1", "0.5:0.2:0.1", "0.1:0.9", "a:b:c", "0.1:0.9:0" })
            FluentActions.Invoking(() => ContributionMatrix.ParseGrid(bad)).Should().Throw<ArgumentException>().WithMessage("*--cie-grid*");
    }

    [Fact]
    public void Shards_split_the_cells_without_overlap()
    {
        var shards = new[] { Shard.Parse("1/3"), Shard.Parse("2/3"), Shard.Parse("3/3") };
        for (int cell = 0; cell < 20; cell++) shards.Count(s => s.Owns(cell)).Should().Be(1);
        foreach (var bad in new[] { "0/2", "3/2", "1", "a/b" })
            FluentActions.Invoking(() => Shard.Parse(bad)).Should().Throw<ArgumentException>().WithMessage("*--shard*");
    }
}
