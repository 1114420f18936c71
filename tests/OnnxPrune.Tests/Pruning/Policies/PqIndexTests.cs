using OnnxPrune.Pruning.Policy.Pqi;

namespace OnnxPrune.Tests.Pruning.Policies;

/// <summary>The PQ Index and the prune count with known answers (METHODS.md §3).</summary>
public class PqIndexTests
{
    [Theory]
    [InlineData(0.5, 1.0)]
    [InlineData(1.0, 2.0)]
    [InlineData(0.25, 3.0)]
    public void A_constant_vector_is_dense(double p, double q) =>
        PqIndex.Index(Enumerable.Repeat(3.7, 17).ToArray(), p, q).Should().BeApproximately(0, 1e-12);

    [Theory]
    [InlineData(8, 0.5, 1.0)]
    [InlineData(64, 0.5, 1.0)]
    [InlineData(10, 1.0, 2.0)]
    public void A_one_hot_vector_has_the_maximum(int d, double p, double q)
    {
        var w = new double[d];
        w[3] = 5;
        var expected = 1 - Math.Pow(d, 1 / q - 1 / p);
        PqIndex.Index(w, p, q).Should().BeApproximately(expected, 1e-12);
        PqIndex.Maximum(d, p, q).Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void The_index_of_a_hand_computed_vector()
    {
        // w = (1, 4), p = 0.5, q = 1: ||w||_0.5 = (1 + 2)^2 = 9, ||w||_1 = 5, d^(1 - 2) = 1/2: I = 1 - 9/10 = 0.1.
        PqIndex.Index([1.0, 4.0], 0.5, 1).Should().BeApproximately(0.1, 1e-12);
        PqIndex.Index([-1.0, 4.0], 0.5, 1).Should().BeApproximately(0.1, 1e-12, "magnitudes");
    }

    [Fact]
    public void The_retained_count_and_the_prune_count_on_hand_computed_cases()
    {
        // p = 0.5, q = 1: r = d (1 + eta)^-2 (1 - I)^1.
        PqIndex.RetainedCount(100, 0, 0.5, 1, 0).Should().BeApproximately(100, 1e-9, "a dense vector keeps everything");
        PqIndex.RetainedCount(100, 0.3, 0.5, 1, 0).Should().BeApproximately(70, 1e-9);
        PqIndex.RetainedCount(100, 0.3, 0.5, 1, 1).Should().BeApproximately(17.5, 1e-9, "(1 + 1)^-2 = 1/4");
        // p = 1, q = 2: r = d (1 + eta)^-2 (1 - I)^2.
        PqIndex.RetainedCount(10, 0.5, 1, 2, 0).Should().BeApproximately(2.5, 1e-9);

        PqIndex.PruneCount(100, 70, gamma: 1, beta: 0.9).Should().Be(30);
        PqIndex.PruneCount(100, 70, gamma: 0.5, beta: 0.9).Should().Be(15);
        PqIndex.PruneCount(100, 2.5, gamma: 1, beta: 0.9).Should().Be(90, "beta caps an iteration");
        PqIndex.PruneCount(10, 2.5, gamma: 1, beta: 0.9).Should().Be(7, "floor(10 * 0.75)");
        PqIndex.PruneCount(100, 100, gamma: 1, beta: 0.9).Should().Be(0);
    }

    [Fact]
    public void Bad_p_and_q_are_refused() =>
        FluentActions.Invoking(() => PqIndex.Index([1.0], 1, 0.5)).Should().Throw<ArgumentOutOfRangeException>();
}
