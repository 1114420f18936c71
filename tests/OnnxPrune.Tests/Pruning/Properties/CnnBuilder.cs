using OnnxPrune.IR;
using OnnxPrune.Tests.Autodiff;
using OnnxPrune.Tests.Pruning.Rules;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>
/// Builds the model a <see cref="CnnSpec"/> describes (NCHW float, batch 1, opset 17, seeded
/// weights). Tracks the current tensor's width and (square) spatial size; spatial sizes stay
/// within 2 .. 16 so every case is small. Blocks that do not fit adapt (documented per block).
/// </summary>
internal sealed class CnnBuilder
{
    private const int MaxSide = 16;
    private readonly TestNet _net;
    private Value _x;
    private int _c, _side, _names;
    private readonly List<(Value Value, int Channels, int Side)> _history = new();

    private CnnBuilder(CnnSpec spec)
    {
        _net = new TestNet(seed: spec.RemovalSeed + 1);
        var input = spec.DynamicBatch
            ? _net.SymbolicInput("x", [Dim.Symbolic("N"), spec.InputChannels, 8, 8], [1, spec.InputChannels, 8, 8])
            : _net.Input("x", [1, spec.InputChannels, 8, 8]);
        _side = 8;
        _x = Conv(input, spec.InputChannels, spec.StemWidth, 3, bias: true, constantNode: false);
        _c = spec.StemWidth;
    }

    public static Model Build(CnnSpec spec)
    {
        var b = new CnnBuilder(spec);
        foreach (var block in spec.Blocks) b.Add(block);
        return b._net.Finish(b.AddHead(spec.Head));
    }

    private void Add(Block block)
    {
        _history.Add((_x, _c, _side));
        switch (block)
        {
            case ConvBlock conv:
                _x = Conv(_x, _c, conv.Out, conv.Kernel, conv.Bias, conv.ConstantNode);
                _c = conv.Out;
                break;
            case GroupedConvBlock grouped:
                // The largest group count not above the asked one that divides the width.
                int g = Enumerable.Range(1, grouped.Groups).Last(d => _c % d == 0);
                _x = _net.Conv(_x, _c, g * grouped.PerGroupOut, k: 3, group: g, pad: 1);
                _c = g * grouped.PerGroupOut;
                break;
            case DepthwiseBlock dw:
                _x = _net.Conv(_x, _c, _c * dw.Multiplier, k: 3, group: _c, pad: 1);
                _c *= dw.Multiplier;
                break;
            case NormBlock { Instance: true }:
                _x = _net.Op("InstanceNormalization", [_x, Vector(0.5, 1.5), Vector(-0.5, 0.5)]);
                break;
            case NormBlock:
                _x = _net.Op("BatchNormalization", [_x, Vector(0.5, 1.5), Vector(-0.5, 0.5), Vector(-0.5, 0.5), Vector(0.5, 1.5)]);
                break;
            case ActivationBlock act:
                _x = Activate(act.Kind);
                break;
            case ResidualBlock res:
                var branch = Conv(_x, _c, _c, res.Kernel, bias: true, constantNode: false);
                _x = _net.Op(res.Mul ? "Mul" : "Add", [_x, branch]);
                break;
            case ConcatBlock cat:
                var extra = Conv(_x, _c, cat.Out, 1, bias: true, constantNode: false);
                var first = cat.TwoBranches ? Conv(_x, _c, _c, 3, bias: true, constantNode: false) : _x;
                _x = _net.Op("Concat", [first, extra], Attribute.Int("axis", 1));
                _c += cat.Out;
                break;
            case SplitSwapBlock split when _c >= 2:
                int a = 1 + (split.First - 1) % (_c - 1);
                var parts = _net.Ops("Split", 2, [_x, _net.Ints(a, _c - a)], Attribute.Int("axis", 1));
                _x = _net.Op("Concat", [_net.Op("Relu", [parts[1]]), parts[0]], Attribute.Int("axis", 1));
                break;
            case SkipAddBlock skip:
                var same = _history.Where(h => h.Channels == _c && h.Side == _side && !ReferenceEquals(h.Value, _x)).ToList();
                if (same.Count > 0) _x = _net.Op("Add", [_x, same[^Math.Min(skip.Back, same.Count)].Value]);
                break;
            case SliceBlock { Spatial: true } rows:
                int top = rows.Start % _side, height = Math.Max(1, Math.Min(rows.Length, _side - top));
                // The same range of rows and columns keeps the tensor square.
                _x = _net.Op("Slice", [_x, _net.Ints(top, top), _net.Ints(top + height, top + height), _net.Ints(2, 3)]);
                _side = height;
                break;
            case SliceBlock slice:
                int start = slice.Start % _c, length = Math.Max(1, Math.Min(slice.Length, _c - start));
                _x = _net.Op("Slice", [_x, _net.Ints(start), _net.Ints(start + length), _net.Ints(1)]);
                _c = length;
                break;
            case SeGateBlock se:
                var s = se.Kind == SeKind.ReduceMeanConv
                    ? _net.Op("ReduceMean", [_x], Attribute.Ints("axes", [2, 3]))
                    : _net.Op("GlobalAveragePool", [_x]);
                if (se.Kind == SeKind.Gemm)
                {
                    s = _net.Op("Flatten", [s]);
                    s = _net.Op("Relu", [_net.Op("Gemm", [s, Weight([se.Reduced, _c]), Weight([se.Reduced])], Attribute.Int("transB", 1))]);
                    s = _net.Op("Gemm", [s, Weight([se.Reduced, _c]), Weight([_c])]);
                }
                else
                {
                    s = _net.Op("Relu", [Conv(s, _c, se.Reduced, 1, bias: true, constantNode: false)]);
                    s = Conv(s, se.Reduced, _c, 1, bias: true, constantNode: false);
                }
                s = se.HardSigmoid ? _net.Op("HardSigmoid", [s]) : _net.Op("Sigmoid", [s]);
                if (se.Kind == SeKind.Gemm) s = _net.Op("Reshape", [s, _net.Ints(0, _c, 1, 1)]);
                _x = _net.Op("Mul", [_x, s]);
                break;
            case AffineBlock affine:
                long[] dims = affine.Shape switch { AffineShape.NC11 => [1, _c, 1, 1], AffineShape.C11 => [_c, 1, 1], _ => [] };
                // Divisors and factors stay away from 0; added terms may be either sign.
                bool scaling = affine.Op is AffineOp.Mul or AffineOp.Div;
                var constant = _net.Constant(Name(), dims, _net.Uniform(TestNet.Count(dims), scaling ? 0.5 : -0.5, scaling ? 1.5 : 0.5));
                _x = _net.Op(affine.Op.ToString(), [_x, constant]);
                break;
            case ConvTransposeBlock ct:
                bool grow = _side * 2 <= MaxSide;
                int k = grow ? 2 : 3;
                var attrs = grow
                    ? new[] { Attribute.Ints("strides", [2, 2]) }
                    : new[] { Attribute.Ints("pads", [1, 1, 1, 1]) };
                _x = _net.Op("ConvTranspose", [_x, Weight([_c, ct.Out, k, k]), Weight([ct.Out])], attrs);
                _c = ct.Out;
                if (grow) _side *= 2;
                break;
            case ResizeBlock resize:
                Resize(resize);
                break;
            case PadBlock pad:
                int p = Math.Min(pad.Pad, (MaxSide - _side) / 2);
                if (pad.Mode == PadMode.Reflect) p = Math.Min(p, _side - 1);
                if (p <= 0) break;
                var mode = pad.Mode switch { PadMode.Reflect => "reflect", PadMode.Edge => "edge", _ => "constant" };
                _x = _net.Op("Pad", [_x, _net.Ints(0, 0, p, p, 0, 0, p, p)], Attribute.String("mode", mode));
                _side += 2 * p;
                break;
            case PoolBlock pool:
                // Halve while there is room; otherwise a 3x3 window that keeps the size.
                var attributes = _side >= 4
                    ? new[] { Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2]) }
                    : new[] { Attribute.Ints("kernel_shape", [3, 3]), Attribute.Ints("pads", [1, 1, 1, 1]) };
                _x = _net.Op(pool.Max ? "MaxPool" : "AveragePool", [_x], attributes);
                if (_side >= 4) _side /= 2;
                break;
            case NhwcBlock nhwc:
                var t = _net.Op("Transpose", [_x], Attribute.Ints("perm", [0, 2, 3, 1]));
                t = nhwc.Op switch
                {
                    NhwcOp.Relu => _net.Op("Relu", [t]),
                    NhwcOp.MulPerChannel => _net.Op("Mul", [t, Vector(0.5, 1.5)]),
                    _ => _net.Op("Add", [t, Vector(-0.5, 0.5)]),
                };
                _x = _net.Op("Transpose", [t], Attribute.Ints("perm", [0, 3, 1, 2]));
                break;
        }
    }

    private Value Activate(Activation kind) => kind switch
    {
        Activation.Relu => _net.Op("Relu", [_x]),
        Activation.LeakyRelu => _net.Op("LeakyRelu", [_x], Attribute.Float("alpha", 0.1f)),
        Activation.HardSwish => _net.Op("HardSwish", [_x]),
        Activation.Clip6 => _net.Op("Clip", [_x, Scalar(0), Scalar(6)]),
        Activation.PRelu => _net.Op("PRelu", [_x, _net.Constant(Name(), [_c, 1, 1], _net.Uniform(_c, 0.05, 0.3))]),
        Activation.Swish => _net.Op("Mul", [_x, _net.Op("Sigmoid", [_x])]),
        _ => _net.Op("Sigmoid", [_x]),
    };

    private void Resize(ResizeBlock resize)
    {
        // Up by 2 while there is room, else down by 2.
        bool up = _side * 2 <= MaxSide;
        int side = up ? _side * 2 : _side / 2;
        float f = up ? 2f : 0.5f;
        var mode = Attribute.String("mode", resize.Linear ? "linear" : "nearest");
        Value? scales = null, sizes = null;
        switch (resize.Target)
        {
            case ResizeTarget.ConstantScales:
                scales = _net.Constant(Name(), [4], [1, 1, f, f]);
                break;
            case ResizeTarget.ConstantNodeScales:
                scales = _net.Op("Constant", [], Attribute.FromTensor("value", DenseTensor.FromFloats([4], [1, 1, f, f])));
                break;
            case ResizeTarget.SizesFromShape:
                var nc = _net.Op("Slice", [_net.Op("Shape", [_x]), _net.Ints(0), _net.Ints(2)]);
                sizes = _net.Op("Concat", [nc, _net.Ints(side, side)], Attribute.Int("axis", 0));
                break;
            case ResizeTarget.SizesWithConstantChannels:
                var n = _net.Op("Slice", [_net.Op("Shape", [_x]), _net.Ints(0), _net.Ints(1)]);
                sizes = _net.Op("Concat", [n, _net.Ints(_c, side, side)], Attribute.Int("axis", 0));
                break;
            default:
                // tf2onnx's NHWC Resize: the channel entry is a constant after H and W.
                var nhwc = _net.Op("Transpose", [_x], Attribute.Ints("perm", [0, 2, 3, 1]));
                var batch = _net.Op("Slice", [_net.Op("Shape", [nhwc]), _net.Ints(0), _net.Ints(1)]);
                var hwc = _net.Op("Concat", [batch, _net.Ints(side, side, _c)], Attribute.Int("axis", 0));
                var resized = _net.Op("Resize", [nhwc, null, null, hwc], mode);
                _x = _net.Op("Transpose", [resized], Attribute.Ints("perm", [0, 3, 1, 2]));
                _side = side;
                return;
        }
        _x = _net.Op("Resize", sizes is null ? [_x, null, scales] : [_x, null, null, sizes], mode);
        _side = side;
    }

    /// <summary>Reshape targets say 0 for the batch (copy it), so a symbolic batch stays symbolic.</summary>
    private Value AddHead(Head head)
    {
        switch (head.Kind)
        {
            case HeadKind.FlattenGemm:
                var flat = _net.Op("Flatten", [_x], Attribute.Int("axis", 1));
                return _net.Op("Gemm", [flat, Weight([head.Classes, _c * _side * _side]), Weight([head.Classes])], Attribute.Int("transB", 1));
            case HeadKind.PoolReshapeMatMul:
                var pooled = _net.Op("Reshape", [_net.Op("GlobalAveragePool", [_x]), _net.Ints(0, _c)]);
                return _net.Op("Add", [_net.Op("MatMul", [pooled, Weight([_c, head.Classes])]), Weight([head.Classes])]);
            case HeadKind.PoolFlattenGemmConstantNode:
                var f = _net.Op("Flatten", [_net.Op("GlobalAveragePool", [_x])]);
                var w = ConstantNode([_c, head.Classes]);
                return _net.Op("Gemm", [f, w, ConstantNode([head.Classes])]);
            default:
                return Conv(_x, _c, head.Classes, 1, bias: true, constantNode: false);
        }
    }

    private Value Conv(Value x, int cin, int cout, int k, bool bias, bool constantNode)
    {
        if (!constantNode) return _net.Conv(x, cin, cout, k: k, bias: bias, pad: k / 2);
        var w = ConstantNode([cout, cin, k, k]);
        var inputs = bias ? new[] { x, w, ConstantNode([cout]) } : new[] { x, w };
        return _net.Op("Conv", inputs, Attribute.Ints("pads", [k / 2, k / 2, k / 2, k / 2]));
    }

    private Value Weight(long[] dims) => _net.Weight(Name(), dims);

    private Value ConstantNode(long[] dims) =>
        _net.Op("Constant", [], Attribute.FromTensor("value", DenseTensor.FromDoubles(DataType.Float, dims, _net.Normal(TestNet.Count(dims), 0.5))));

    private Value Vector(double low, double high) =>
        _net.Constant(Name(), [_c], _net.Uniform(_c, low, high));

    private Value Scalar(float v) => _net.Constant(Name(), [], [v]);

    /// <summary>A fresh initializer name (TestNet's own helpers name theirs "w" and "ints").</summary>
    private string Name() => $"p{_names++}";
}
