using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>The correction of a latency prediction by the measured attempts of the same model.</summary>
public class AnchoredLatencyPredictorTests
{
    /// <summary>A model of 10 ms whose units each save 1 ms, as a table would predict them.</summary>
    private sealed class PerUnit : ILatencyPredictor
    {
        public double Predict(IReadOnlyCollection<int> removedRoots) => 10 - removedRoots.Count;
    }

    private static int[] Units(int n) => Enumerable.Range(0, n).ToArray();

    [Fact]
    public void One_measurement_scales_the_predicted_saving_through_the_unpruned_model()
    {
        // Removing 4 units was predicted to save 40% and measured to save 60%: the machine saves 1.5x what the tables say.
        var anchored = AnchoredLatencyPredictor.Wrap(new PerUnit(), 10, [new LatencyAnchor(0.4, 0.6)]);
        anchored.Predict([]).Should().BeApproximately(10, 1e-12);
        anchored.Predict(Units(4)).Should().BeApproximately(4, 1e-12, "the measured attempt is predicted as measured");
        anchored.Predict(Units(2)).Should().BeApproximately(7, 1e-12, "half the removal, half the measured saving");
        anchored.Predict(Units(6)).Should().BeApproximately(1, 1e-12, "beyond it the saving grows at the measured ratio");
    }

    [Fact]
    public void Several_measurements_give_a_piecewise_linear_curve_in_order_of_predicted_saving()
    {
        // A model whose first removals barely pay (the 40% predicted saved 10%) and whose later ones pay a lot (60% saved 70%).
        var anchored = (AnchoredLatencyPredictor)AnchoredLatencyPredictor.Wrap(new PerUnit(), 10, [new(0.6, 0.7), new(0.4, 0.1)]);
        anchored.MeasuredSaving(0.2).Should().BeApproximately(0.05, 1e-12);
        anchored.MeasuredSaving(0.4).Should().BeApproximately(0.1, 1e-12);
        anchored.MeasuredSaving(0.5).Should().BeApproximately(0.4, 1e-12);
        anchored.MeasuredSaving(0.6).Should().BeApproximately(0.7, 1e-12);
        anchored.Predict(Units(5)).Should().BeApproximately(6, 1e-12);
    }

    [Fact]
    public void The_curve_never_falls_and_a_measurement_stretches_the_saving_at_most_MaxRatio_times()
    {
        // The larger removal measured less saving than the smaller one: it counts as the smaller one's saving.
        var flat = (AnchoredLatencyPredictor)AnchoredLatencyPredictor.Wrap(new PerUnit(), 10, [new(0.2, 0.3), new(0.4, 0.1)]);
        flat.MeasuredSaving(0.3).Should().BeApproximately(0.3, 1e-12);
        flat.MeasuredSaving(0.4).Should().BeApproximately(0.3, 1e-12);
        var stretched = (AnchoredLatencyPredictor)AnchoredLatencyPredictor.Wrap(new PerUnit(), 10, [new(0.05, 0.5)]);
        stretched.MeasuredSaving(0.15).Should().BeApproximately(0.5 + 0.1 * AnchoredLatencyPredictor.MaxRatio, 1e-12);
        var shrunk = (AnchoredLatencyPredictor)AnchoredLatencyPredictor.Wrap(new PerUnit(), 10, [new(0.5, 0.0)]);
        shrunk.MeasuredSaving(0.8).Should().BeApproximately(0.3 / AnchoredLatencyPredictor.MaxRatio, 1e-12);
    }

    [Fact]
    public void Without_a_measured_saving_to_anchor_on_the_tables_stand_alone()
    {
        var inner = new PerUnit();
        AnchoredLatencyPredictor.Wrap(inner, 10, []).Should().BeSameAs(inner);
        AnchoredLatencyPredictor.Wrap(inner, 10, [new(0, 0.2), new(0.3, double.NaN)]).Should().BeSameAs(inner,
            "an attempt predicted to save nothing, or measured as nothing, says nothing about the slope");
    }
}
