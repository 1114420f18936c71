using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Autodiff;
using OnnxPrune.Training.Data;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Gradients;

/// <summary>The activation attention score on a graph with a fixed input, worked out by hand.</summary>
public class ActivationCriterionTests
{
    [Fact]
    public void Channel_scores_are_the_spatial_mean_of_the_batch_mean_absolute_activation()
    {
        // x (2 images, 2 channels, 1x2): conv 1x1 with W = [[1, 0], [0, -1]] copies channel 0 and
        // negates channel 1; Relu; a 1x1 conv to 3 classes; global average pool; flatten.
        var net = new TestNet(DataType.Float, seed: 1);
        var x = net.Input("x", [2, 2, 1, 2]);
        var w1 = net.Constant("w1", [2, 2, 1, 1], [1, 0, 0, -1]);
        var h = net.Op("Relu", [net.Op("Conv", [x, w1])]);
        var logits = net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Conv", [h, net.Weight("w2", [3, 2, 1, 1])])])]);
        var model = net.Finish(logits);
        //                 image 0: ch0 (1, -2)  ch1 (3, -4)     image 1: ch0 (5, 6)  ch1 (-7, 8)
        float[] images = [1, -2, 3, -4, 5, 6, -7, 8];
        var data = new Dataset(images, [0, 1], 2, 1, 2, 3);
        var analysis = ChannelAnalysis.Run(model);
        var group = analysis.Groups.Single(g => g.Producers.Any(p => p.Inputs[1]!.Name == "w1"));
        var scores = new ActivationCriterion(new CalibrationSet(data, HasLabels: true), new SessionSettings { IntraOpThreads = 1 }).Score(analysis);

        // Channel 0 after Relu: image 0 (1, 0), image 1 (5, 6); batch means (3, 3); spatial mean 3.
        // Channel 1 = Relu(-x1): image 0 (0, 4), image 1 (7, 0); batch means (3.5, 2); spatial mean 2.75.
        scores[group.Units[0]].Should().BeApproximately(3.0, 1e-6);
        scores[group.Units[1]].Should().BeApproximately(2.75, 1e-6);
    }
}
