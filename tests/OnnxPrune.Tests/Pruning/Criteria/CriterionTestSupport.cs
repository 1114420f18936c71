namespace OnnxPrune.Tests.Pruning.Criteria;

internal static class CriterionTestSupport
{
    /// <summary>The scores <paramref name="criterion"/> gives the channels of <paramref name="g"/>, in channel order.</summary>
    public static double[] GroupScores(OnnxPrune.Pruning.Criteria.IChannelCriterion criterion, OnnxPrune.Pruning.Channels.ChannelAnalysis a, OnnxPrune.Pruning.Channels.ChannelGroup g)
    {
        var scores = criterion.Score(a);
        return g.Units.Select(u => scores[u]).ToArray();
    }

    /// <summary>Element by element within 1e-6 (distances are computed in float32).</summary>
    public static void ShouldBeClose(double[] actual, double[] expected)
    {
        actual.Should().HaveCount(expected.Length);
        for (int i = 0; i < expected.Length; i++)
            actual[i].Should().BeApproximately(expected[i], 1e-6, $"score of channel {i} (all: {string.Join(", ", actual)})");
    }
}
