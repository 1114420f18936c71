using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Gradient checks (float32, ORT runs Conv in float only) for Conv and ConvTranspose:
/// input, weight and bias gradients under strides, pads, dilations and groups.</summary>
public class ConvGradientTests
{
    // The method by name: ConvWeightGradient is internal to OnnxPrune.Autodiff, and MemberData must be public.
    public static TheoryData<string, string> ConvCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var method in new[] { ConvWeightGradient.ShiftedMatMul, ConvWeightGradient.TransposedConv, ConvWeightGradient.InterleavedConv })
            foreach (var c in new[] { "plain", "stride2_pad1", "asymmetric_pads", "dilation2", "group2", "depthwise", "depthwise_multiplier", "same_upper", "pointwise", "conv1d", "stride3_unused_rows", "depthwise_strides_2x1" })
                data.Add(c, method.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv_gradients_match_finite_differences(string variant, string methodName)
    {
        var method = Enum.Parse<ConvWeightGradient>(methodName);
        long c = 4, m = 6, group = 1;
        long[] kernel = { 3, 3 };
        long[] spatial = { 7, 6 };
        var attributes = new List<Attribute>();
        switch (variant)
        {
            case "plain": break;
            case "stride2_pad1":
                attributes.Add(Attribute.Ints("strides", [2, 2]));
                attributes.Add(Attribute.Ints("pads", [1, 1, 1, 1]));
                break;
            case "asymmetric_pads":
                attributes.Add(Attribute.Ints("pads", [0, 2, 1, 0]));
                attributes.Add(Attribute.Ints("strides", [1, 2]));
                break;
            case "dilation2":
                attributes.Add(Attribute.Ints("dilations", [2, 2]));
                attributes.Add(Attribute.Ints("pads", [1, 2, 1, 2]));
                break;
            case "group2":
                group = 2;
                break;
            case "depthwise":
                group = c; m = c;
                attributes.Add(Attribute.Ints("pads", [1, 1, 1, 1]));
                attributes.Add(Attribute.Ints("strides", [2, 2]));
                break;
            case "depthwise_multiplier":
                group = c; m = 2 * c;
                attributes.Add(Attribute.Ints("pads", [1, 1, 1, 1]));
                break;
            case "same_upper":
                attributes.Add(Attribute.String("auto_pad", "SAME_UPPER"));
                attributes.Add(Attribute.Ints("strides", [2, 2]));
                kernel = [2, 2];
                break;
            case "pointwise":
                kernel = [1, 1];
                break;
            case "conv1d":
                kernel = [3];
                spatial = [9];
                attributes.Add(Attribute.Ints("pads", [1, 0]));
                attributes.Add(Attribute.Ints("strides", [2]));
                break;
            case "depthwise_strides_2x1":
                group = c; m = c;
                attributes.Add(Attribute.Ints("pads", [1, 1, 1, 1]));
                attributes.Add(Attribute.Ints("strides", [2, 1]));
                break;
            case "stride3_unused_rows":
                attributes.Add(Attribute.Ints("strides", [3, 3]));
                spatial = [8, 8];
                break;
        }
        if (group != 1) attributes.Add(Attribute.Int("group", group));

        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.Input("x", new long[] { 2, c }.Concat(spatial).ToArray());
        var w = net.Weight("w", new long[] { m, c / group }.Concat(kernel).ToArray());
        var b = net.Weight("b", [m]);
        var y = net.Op("Conv", [x, w, b], attributes.ToArray());
        var model = net.Finish(y);
        var yDims = OutputDims(model, y);
        net.Target(yDims);

        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w", "b") with { ConvWeightGradient = method }, 1e-2, inputs: ["x"]);
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(2, 1, 1)]
    [InlineData(2, 0, 1)]
    public void ConvTranspose_gradients_match_finite_differences(long stride, long pad, long outputPadding)
    {
        var net = new TestNet(DataType.Float, seed: 5);
        var x = net.Input("x", [2, 4, 5, 5]);
        var w = net.Weight("w", [4, 3, 3, 3]);
        var b = net.Weight("b", [3]);
        var attributes = new List<Attribute> { Attribute.Ints("strides", [stride, stride]), Attribute.Ints("pads", [pad, pad, pad, pad]) };
        if (outputPadding != 0) attributes.Add(Attribute.Ints("output_padding", [outputPadding, outputPadding]));
        var y = net.Op("ConvTranspose", [x, w, b], attributes.ToArray());
        var model = net.Finish(y);
        net.Target(OutputDims(model, y));
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w", "b"), 1e-2, inputs: ["x"]);
    }

    [Fact]
    public void Grouped_ConvTranspose_gradients_match_finite_differences()
    {
        var net = new TestNet(DataType.Float, seed: 6);
        var x = net.Input("x", [2, 4, 4, 4]);
        var w = net.Weight("w", [4, 2, 2, 2]);
        var y = net.Op("ConvTranspose", [x, w], Attribute.Ints("strides", [2, 2]), Attribute.Int("group", 2));
        var model = net.Finish(y);
        net.Target(OutputDims(model, y));
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w"), 1e-2, inputs: ["x"]);
    }

    /// <summary>The output's static dims, from shape inference on a copy.</summary>
    internal static long[] OutputDims(Model model, Value output)
    {
        var copy = model.Clone();
        var result = new OnnxPrune.IR.ShapeInference.ShapeInferencer(new() { WriteToGraph = false }).Run(copy);
        var value = copy.Graph.Outputs.First(o => o.Name == output.Name);
        return result.GetShape(value)!.TryGetSizes() ?? throw new InvalidOperationException($"no static shape for {output.Name}");
    }
}
