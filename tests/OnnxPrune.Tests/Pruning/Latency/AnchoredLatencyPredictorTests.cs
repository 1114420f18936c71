using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>The correction of a latency prediction by one measured attempt.</summary>
public class AnchoredLatencyPredictorTests
{
    /// <summary>A model of 10 ms whose units each save 1 ms, as a table would predict them.</summary>
    private sealed class PerUnit : ILatencyPredictor
    {
        public double Predict(IReadOnlyCollection<int> removedRoots) => 10 - removedRoots.Count;
    }

    [Fact]
    public void The_corrected_line_passes_through_the_unpruned_model_and_the_measured_attempt()
    {
        var inner = new PerUnit();
        // Removing 4 units was predicted at 6 ms and measured at 4 ms: the machine saves 1.5x what the tables say.
        var slope = AnchoredLatencyPredictor.SlopeOf(10, inner.Predict([1, 2, 3, 4]), 4);
        slope.Should().BeApproximately(1.5, 1e-12);
        var anchored = AnchoredLatencyPredictor.Wrap(inner, 10, slope);
        anchored.Predict([]).Should().BeApproximately(10, 1e-12);
        anchored.Predict([1, 2, 3, 4]).Should().BeApproximately(4, 1e-12);
        anchored.Predict([1, 2]).Should().BeApproximately(7, 1e-12, "half the removal, half the measured saving");
    }

    [Fact]
    public void The_next_anchor_is_fitted_on_the_tables_not_on_the_previous_correction()
    {
        var inner = new PerUnit();
        var first = AnchoredLatencyPredictor.Wrap(inner, 10, 1.5);
        double said = first.Predict([1, 2]);
        AnchoredLatencyPredictor.Unanchored(said, 10, 1.5).Should().BeApproximately(inner.Predict([1, 2]), 1e-12);
        AnchoredLatencyPredictor.Unanchored(said, 10, null).Should().Be(said);
        // That attempt then measured 8 ms: the tables' saving of 2 ms was 2 ms on the machine, so the new slope is 1.
        AnchoredLatencyPredictor.SlopeOf(10, AnchoredLatencyPredictor.Unanchored(said, 10, 1.5), 8).Should().BeApproximately(1, 1e-12);
    }

    [Theory]
    [InlineData(9.8, 9.0)] // a predicted saving of 2%: the measurement's noise would decide the slope
    [InlineData(6.0, 10.0)] // measured no faster than the original
    [InlineData(6.0, 10.5)] // measured slower
    [InlineData(6.0, double.NaN)]
    public void Anchors_that_cannot_be_trusted_give_no_correction(double predicted, double measured)
    {
        AnchoredLatencyPredictor.SlopeOf(10, predicted, measured).Should().BeNull();
        AnchoredLatencyPredictor.Wrap(new PerUnit(), 10, null).Should().BeOfType<PerUnit>();
    }

    [Fact]
    public void A_measurement_stretches_the_predicted_saving_at_most_MaxSlope_times()
    {
        AnchoredLatencyPredictor.SlopeOf(10, 9.5, 1).Should().Be(AnchoredLatencyPredictor.MaxSlope);
        AnchoredLatencyPredictor.SlopeOf(10, 1, 9.9).Should().Be(1 / AnchoredLatencyPredictor.MaxSlope);
    }
}
