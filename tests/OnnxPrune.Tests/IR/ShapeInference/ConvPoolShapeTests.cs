using OnnxPrune.IR;
using static OnnxPrune.Tests.IR.ShapeInference.ShapeTestGraph;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>Convolution, pooling, normalization, matrix products and resampling. Expected values
/// are worked out by hand from the formulas in the ONNX operator spec.</summary>
public class ConvPoolShapeTests
{
    [Fact]
    public void Conv_stride2_pad1_halves_spatial_dims()
    {
        // floor((32 + 1 + 1 - 3) / 2) + 1 = 16; channels from W's first dim.
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 32, 32);
        var y = g.Op("Conv", new[] { x, g.Weights("w", 8, 3, 3, 3) }, Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        g.Infer();
        y.Shape.Should().Be(S(1, 8, 16, 16));
        y.ElementType.Should().Be(DataType.Float);
    }

    [Fact]
    public void Conv_keeps_symbolic_batch_and_takes_kernel_from_weights_with_dilation()
    {
        // effective kernel (3-1)*2+1 = 5: 32 - 5 + 1 = 28.
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 3, 32, 32);
        var y = g.Op("Conv", new[] { x, g.Weights("w", 4, 3, 3, 3) }, Ints("dilations", 2, 2));
        g.Infer();
        y.Shape.Should().Be(S("N", 4, 28, 28));
    }

    [Fact]
    public void Conv_auto_pad_same_and_valid()
    {
        // SAME: ceil(15/2) = 8. VALID: floor((15-3)/2)+1 = 7.
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 15, 15);
        var w = g.Weights("w", 6, 3, 3, 3);
        var same = g.Op("Conv", new[] { x, w }, Str("auto_pad", "SAME_UPPER"), Ints("strides", 2, 2));
        var lower = g.Op("Conv", new[] { x, w }, Str("auto_pad", "SAME_LOWER"), Ints("strides", 2, 2));
        var valid = g.Op("Conv", new[] { x, w }, Str("auto_pad", "VALID"), Ints("strides", 2, 2));
        g.Infer();
        same.Shape.Should().Be(S(1, 6, 8, 8));
        lower.Shape.Should().Be(S(1, 6, 8, 8));
        valid.Shape.Should().Be(S(1, 6, 7, 7));
    }

    [Fact]
    public void Conv_1d_and_3d_and_asymmetric_pads()
    {
        // 1-D: 10 + 0 + 2 - 3 + 1 = 10. 3-D: each of 8 with k=2, s=2 gives 4.
        var g = new ShapeTestGraph();
        var y1 = g.Op("Conv", new[] { g.Input("a", 2, 4, 10), g.Weights("w1", 5, 4, 3) }, Ints("pads", 0, 2));
        var y3 = g.Op("Conv", new[] { g.Input("b", 1, 2, 8, 8, 8), g.Weights("w3", 3, 2, 2, 2, 2) }, Ints("strides", 2, 2, 2));
        g.Infer();
        y1.Shape.Should().Be(S(2, 5, 10));
        y3.Shape.Should().Be(S(1, 3, 4, 4, 4));
    }

    [Fact]
    public void Conv_with_symbolic_spatial_dim_leaves_it_unknown()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Conv", new[] { g.Input("x", "N", 3, "H", 32), g.Weights("w", 4, 3, 3, 3) });
        g.Infer();
        y.Shape.Should().Be(S("N", 4, null, 30));
    }

    [Fact]
    public void ConvTranspose_pads_output_padding_and_group()
    {
        // 2*(5-1) + 1 + 3 - 1 - 1 = 10; channels = W[1] * group = 2 * 2.
        var g = new ShapeTestGraph();
        var y = g.Op("ConvTranspose", new[] { g.Input("x", 1, 4, 5, 5), g.Weights("w", 4, 2, 3, 3) },
            Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("output_padding", 1, 1), Int("group", 2));
        g.Infer();
        y.Shape.Should().Be(S(1, 4, 10, 10));
    }

    [Fact]
    public void ConvTranspose_output_shape_attribute_and_auto_pad_same()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 4, 5, 5);
        var w = g.Weights("w", 4, 2, 3, 3);
        var explicitShape = g.Op("ConvTranspose", new[] { x, w }, Ints("strides", 2, 2), Ints("output_shape", 11, 11));
        var same = g.Op("ConvTranspose", new[] { x, w }, Ints("strides", 2, 2), Str("auto_pad", "SAME_UPPER"));
        var plain = g.Op("ConvTranspose", new[] { x, w }, Ints("strides", 2, 2));
        g.Infer();
        explicitShape.Shape.Should().Be(S("N", 2, 11, 11));
        same.Shape.Should().Be(S("N", 2, 10, 10));
        plain.Shape.Should().Be(S("N", 2, 11, 11)); // 2*4 + 3
    }

    [Fact]
    public void MaxPool_floor_and_ceil_mode_and_indices()
    {
        // floor((8-3)/2)+1 = 3; ceil: ceil(5/2)+1 = 4 (the last window starts at 6 < 8).
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 8, 8, 8);
        var floor = g.Node("MaxPool", new[] { x }, 2, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2));
        var ceil = g.Op("MaxPool", x, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Int("ceil_mode", 1));
        g.Infer();
        floor.Outputs[0].Shape.Should().Be(S(1, 8, 3, 3));
        floor.Outputs[1].Shape.Should().Be(S(1, 8, 3, 3));
        floor.Outputs[1].ElementType.Should().Be(DataType.Int64);
        ceil.Shape.Should().Be(S(1, 8, 4, 4));
    }

    [Fact]
    public void MaxPool_ceil_mode_drops_a_window_that_would_start_in_the_end_padding()
    {
        // in 5, k 2, s 2, pads 1: ceil((5+2-2)/2)+1 = 4, but window 4 would start at 6 >= 5+1: 3.
        var g = new ShapeTestGraph();
        var y = g.Op("MaxPool", g.Input("x", 1, 1, 5, 5), Ints("kernel_shape", 2, 2), Ints("strides", 2, 2),
            Ints("pads", 1, 1, 1, 1), Int("ceil_mode", 1));
        g.Infer();
        y.Shape.Should().Be(S(1, 1, 3, 3));
    }

    [Fact]
    public void Pooling_dilations_and_auto_pad()
    {
        // dilated: effective kernel 5, 10-5+1 = 6. SAME_LOWER: ceil(7/2) = 4. VALID: floor((7-2)/2)+1 = 3.
        var g = new ShapeTestGraph();
        var x = g.Input("x", 2, 3, 10, 7);
        var dilated = g.Op("MaxPool", x, Ints("kernel_shape", 3, 1), Ints("dilations", 2, 1));
        var same = g.Op("AveragePool", x, Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Str("auto_pad", "SAME_LOWER"));
        var valid = g.Op("LpPool", x, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Str("auto_pad", "VALID"));
        g.Infer();
        dilated.Shape.Should().Be(S(2, 3, 6, 7));
        same.Shape.Should().Be(S(2, 3, 5, 4));
        valid.Shape.Should().Be(S(2, 3, 5, 3));
    }

    [Fact]
    public void Global_pools_keep_batch_and_channels()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 64, 7, 7);
        var avg = g.Op("GlobalAveragePool", x);
        var max = g.Op("GlobalMaxPool", x);
        g.Infer();
        avg.Shape.Should().Be(S("N", 64, 1, 1));
        max.Shape.Should().Be(S("N", 64, 1, 1));
    }

    [Fact]
    public void BatchNormalization_inference_and_legacy_training_outputs()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", "N", 16, 8, 8);
        var p = new[] { x, g.Weights("s", 16), g.Weights("b", 16), g.Weights("m", 16), g.Weights("v", 16) };
        var bn = g.Node("BatchNormalization", p, 5);
        g.Infer(opset: 9);
        bn.Outputs[0].Shape.Should().Be(S("N", 16, 8, 8));
        bn.Outputs[1].Shape.Should().Be(S(16));
        bn.Outputs[4].Shape.Should().Be(S(16));
    }

    [Theory]
    [InlineData("InstanceNormalization")]
    [InlineData("LRN")]
    [InlineData("LpNormalization")]
    [InlineData("MeanVarianceNormalization")]
    public void Normalizations_keep_the_input_shape(string op)
    {
        var g = new ShapeTestGraph();
        var y = g.Op(op, new[] { g.Input("x", "N", 16, 8, 8), g.Weights("s", 16), g.Weights("b", 16) });
        g.Infer();
        y.Shape.Should().Be(S("N", 16, 8, 8));
    }

    [Fact]
    public void LayerNormalization_statistics_shape()
    {
        var g = new ShapeTestGraph();
        var ln = g.Node("LayerNormalization", new[] { g.Input("x", 2, 5, 8), g.Weights("s", 8) }, 3, Int("axis", -1));
        g.Infer();
        ln.Outputs[0].Shape.Should().Be(S(2, 5, 8));
        ln.Outputs[1].Shape.Should().Be(S(2, 5, 1));
    }

    [Fact]
    public void Gemm_with_transposed_operands()
    {
        var g = new ShapeTestGraph();
        var plain = g.Op("Gemm", new[] { g.Input("a", "N", 512), g.Weights("w", 512, 10) });
        var transB = g.Op("Gemm", new[] { g.Input("a2", "N", 512), g.Weights("w2", 10, 512), g.Weights("b2", 10) }, Int("transB", 1));
        var transA = g.Op("Gemm", new[] { g.Input("a3", 7, 3), g.Weights("w3", 7, 4) }, Int("transA", 1));
        g.Infer();
        plain.Shape.Should().Be(S("N", 10));
        transB.Shape.Should().Be(S("N", 10));
        transA.Shape.Should().Be(S(3, 4));
    }

    [Fact]
    public void MatMul_batched_broadcast_and_vector_operands()
    {
        var g = new ShapeTestGraph();
        var batched = g.Op("MatMul", new[] { g.Input("a", 2, 1, 3, 4), g.Input("b", 5, 4, 6) });
        var vecLeft = g.Op("MatMul", new[] { g.Input("c", 4), g.Input("d", 4, 6) });
        var vecRight = g.Op("MatMul", new[] { g.Input("e", "N", 3, 4), g.Input("f", 4) });
        var dot = g.Op("MatMul", new[] { g.Input("h", 4), g.Input("i", 4) });
        g.Infer();
        batched.Shape.Should().Be(S(2, 5, 3, 6));
        vecLeft.Shape.Should().Be(S(6));
        vecRight.Shape.Should().Be(S("N", 3));
        dot.Shape.Should().Be(S());
    }

    [Fact]
    public void Quantized_products_have_their_spec_types()
    {
        var g = new ShapeTestGraph();
        var a = g.Input("a", DataType.UInt8, 2, 4);
        var b = g.Input("b", DataType.UInt8, 4, 3);
        var mm = g.Op("MatMulInteger", new[] { a, b });
        var conv = g.Op("ConvInteger", new[] { g.Input("x", DataType.UInt8, 1, 2, 5, 5), g.Input("w", DataType.UInt8, 3, 2, 3, 3) });
        g.Infer();
        mm.Shape.Should().Be(S(2, 3));
        mm.ElementType.Should().Be(DataType.Int32);
        conv.Shape.Should().Be(S(1, 3, 3, 3));
        conv.ElementType.Should().Be(DataType.Int32);
    }

    [Fact]
    public void Resize_with_scales_keeps_symbolic_dims_scaled_by_one()
    {
        var g = new ShapeTestGraph();
        var y = g.Op("Resize", new[] { g.Input("x", "N", 3, 8, 5), null, g.Float32s("scales", 1, 1, 2, 0.5f) });
        g.Infer(opset: 13);
        y.Shape.Should().Be(S("N", 3, 16, 2)); // floor(5 * 0.5) = 2
    }

    [Fact]
    public void Resize_with_sizes_and_opset10_scales()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 3, 8, 8);
        var sized = g.Op("Resize", new[] { x, g.Float32s("roi"), g.Float32s("noscales"), g.Int64s("sizes", 1, 3, 20, 10) });
        g.Infer(opset: 11);
        sized.Shape.Should().Be(S(1, 3, 20, 10));

        var g10 = new ShapeTestGraph();
        var y10 = g10.Op("Resize", new[] { g10.Input("x", 1, 3, 8, 8), g10.Float32s("scales", 1, 1, 2, 3) });
        g10.Infer(opset: 10);
        y10.Shape.Should().Be(S(1, 3, 16, 24));
    }

    [Fact]
    public void Resize_opset18_axes_and_keep_aspect_ratio()
    {
        // not_larger: scale = min(20/8, 12/6) = 2, so 8 -> 16 and 6 -> 12.
        var g = new ShapeTestGraph();
        var y = g.Op("Resize", new[] { g.Input("x", 1, 3, 8, 6), null, null, g.Int64s("sizes", 20, 12) },
            Ints("axes", 2, 3), Str("keep_aspect_ratio_policy", "not_larger"));
        g.Infer(opset: 18);
        y.Shape.Should().Be(S(1, 3, 16, 12));
    }

    [Fact]
    public void Upsample_scales_attribute_before_opset9_and_input_after()
    {
        var g7 = new ShapeTestGraph();
        var y7 = g7.Op("Upsample", g7.Input("x", 1, 3, 4, 4), Floats("scales", 1, 1, 2, 2));
        g7.Infer(opset: 7);
        y7.Shape.Should().Be(S(1, 3, 8, 8));

        var g9 = new ShapeTestGraph();
        var y9 = g9.Op("Upsample", new[] { g9.Input("x", 1, 3, 4, 4), g9.Float32s("scales", 1, 1, 2, 3) });
        g9.Infer(opset: 9);
        y9.Shape.Should().Be(S(1, 3, 8, 12));
    }

    [Fact]
    public void DepthToSpace_and_SpaceToDepth()
    {
        var g = new ShapeTestGraph();
        var d2s = g.Op("DepthToSpace", g.Input("x", "N", 16, 5, 6), Int("blocksize", 2));
        var s2d = g.Op("SpaceToDepth", g.Input("y", "N", 3, 8, 6), Int("blocksize", 2));
        g.Infer();
        d2s.Shape.Should().Be(S("N", 4, 10, 12));
        s2d.Shape.Should().Be(S("N", 12, 4, 3));
    }

    [Fact]
    public void MaxUnpool_from_kernel_or_output_shape_input()
    {
        var g = new ShapeTestGraph();
        var x = g.Input("x", 1, 1, 2, 2);
        var i = g.Input("i", DataType.Int64, 1, 1, 2, 2);
        var computed = g.Op("MaxUnpool", new[] { x, i }, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));
        var given = g.Op("MaxUnpool", new[] { x, i, g.Int64s("out", 1, 1, 5, 5) }, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2));
        g.Infer();
        computed.Shape.Should().Be(S(1, 1, 4, 4));
        given.Shape.Should().Be(S(1, 1, 5, 5));
    }
}
