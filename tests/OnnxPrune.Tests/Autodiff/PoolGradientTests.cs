using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Gradient checks (float32) for MaxPool (through its indices), AveragePool (every
/// divisor rule), global pooling and nearest Resize.</summary>
public class PoolGradientTests
{
    private static void Check(TestNet net, Value y, double tolerance = 1e-2) =>
        GradientCheck.VerifyProjected(net, y, tolerance, [], ["x"]);

    private static Attribute[] Window(long k, long s, long[] pads, bool ceil = false, bool includePad = false, long dilation = 1)
    {
        var list = new List<Attribute>
        {
            Attribute.Ints("kernel_shape", [k, k]),
            Attribute.Ints("strides", [s, s]),
            Attribute.Ints("pads", pads),
        };
        if (ceil) list.Add(Attribute.Int("ceil_mode", 1));
        if (includePad) list.Add(Attribute.Int("count_include_pad", 1));
        if (dilation != 1) list.Add(Attribute.Ints("dilations", [dilation, dilation]));
        return list.ToArray();
    }

    public static TheoryData<string> Variants() => new() { "2x2s2", "3x3s2p1", "3x3s1p1", "3x3s2ceil", "3x3s2p1ceil" };

    private static Attribute[] VariantWindow(string variant, bool includePad) => variant switch
    {
        "2x2s2" => Window(2, 2, [0, 0, 0, 0], includePad: includePad),
        "3x3s2p1" => Window(3, 2, [1, 1, 1, 1], includePad: includePad),
        "3x3s1p1" => Window(3, 1, [1, 0, 1, 2], includePad: includePad),
        "3x3s2ceil" => Window(3, 2, [0, 0, 0, 0], ceil: true, includePad: includePad),
        "3x3s2p1ceil" => Window(3, 2, [1, 1, 1, 1], ceil: true, includePad: includePad),
        "2x2s1dilated" => Window(2, 1, [0, 0, 0, 0], includePad: includePad, dilation: 2),
        _ => throw new ArgumentException(variant),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    [InlineData("2x2s1dilated")]
    public void MaxPool_routes_the_gradient_through_its_indices(string variant)
    {
        var net = new TestNet(DataType.Float, seed: 1);
        var x = net.Input("x", [2, 3, 8, 7]);
        Check(net, net.Op("MaxPool", [x], VariantWindow(variant, false)));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AveragePool_excluding_padding(string variant)
    {
        var net = new TestNet(DataType.Float, seed: 2);
        var x = net.Input("x", [2, 3, 8, 7]);
        Check(net, net.Op("AveragePool", [x], VariantWindow(variant, false)));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AveragePool_including_padding(string variant)
    {
        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.Input("x", [2, 3, 8, 7]);
        Check(net, net.Op("AveragePool", [x], VariantWindow(variant, true)));
    }

    [Fact]
    public void MaxPool_with_its_indices_already_exposed_and_unused()
    {
        var net = new TestNet(DataType.Float, seed: 4);
        var x = net.Input("x", [2, 3, 6, 6]);
        var outputs = net.Ops("MaxPool", 2, [x], Window(2, 2, [0, 0, 0, 0]));
        Check(net, outputs[0]);
    }

    [Fact]
    public void GlobalAveragePool_and_GlobalMaxPool()
    {
        var net = new TestNet(DataType.Float, seed: 5);
        var x = net.Input("x", [2, 3, 5, 4]);
        var y = net.Op("Add", [net.Op("GlobalAveragePool", [x]), net.Op("GlobalMaxPool", [x])]);
        Check(net, y);
    }

    [Theory]
    [InlineData("asymmetric", "floor", 2.0, 2.0)]
    [InlineData("half_pixel", "round_prefer_floor", 3.0, 2.0)]
    [InlineData("asymmetric", "round_prefer_floor", 3.0, 1.5)]
    [InlineData("align_corners", "round_prefer_ceil", 2.0, 0.5)]
    public void Resize_nearest_sums_copies(string transform, string rounding, double scaleH, double scaleW)
    {
        var net = new TestNet(DataType.Float, seed: 6);
        var x = net.Input("x", [2, 3, 4, 6]);
        var scales = net.Graph.AddInitializer(new Value("scales") { ConstValue = DenseTensor.FromFloats([4], [1f, 1f, (float)scaleH, (float)scaleW]) });
        var y = net.Op("Resize", [x, null, scales], Attribute.String("mode", "nearest"),
            Attribute.String("coordinate_transformation_mode", transform), Attribute.String("nearest_mode", rounding));
        Check(net, y);
    }
}
