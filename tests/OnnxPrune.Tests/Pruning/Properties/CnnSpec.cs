namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>
/// A random small CNN as plain data: an input of <see cref="InputChannels"/> x 8 x 8 (batch 1, or
/// a symbolic batch that keeps Shape arithmetic computed after the prepare passes), a stem conv
/// to <see cref="StemWidth"/>, then <see cref="Blocks"/> in order, then <see cref="Head"/>; and
/// which channels to remove (<see cref="RemovalSeed"/>, about <see cref="RemovalPercent"/>% of
/// every prunable group). <see cref="CnnBuilder"/> turns it into a model; a block that does not
/// fit the current tensor (a group count that does not divide the width) adapts rather than
/// fails, so every spec builds. Kept as data so a failing case prints in a readable form and
/// CsCheck can shrink it (fewer blocks, smaller widths).
/// </summary>
internal sealed record CnnSpec(bool DynamicBatch, int InputChannels, int StemWidth, IReadOnlyList<Block> Blocks, Head Head, int RemovalSeed, int RemovalPercent)
{
    public override string ToString() =>
        $"input {(DynamicBatch ? "N" : "1")}x{InputChannels}x8x8, stem conv -> {StemWidth}\n" +
        string.Concat(Blocks.Select((b, i) => $"  {i}: {b}\n")) +
        $"  head: {Head}\n  remove ~{RemovalPercent}% of each prunable group (seed {RemovalSeed})";
}

/// <summary>One construct the channel rules cover.</summary>
internal abstract record Block;

/// <summary>Conv to <paramref name="Out"/> channels; weights as a Constant node when
/// <paramref name="ConstantNode"/> (paddle2onnx), else an initializer.</summary>
internal sealed record ConvBlock(int Out, int Kernel, bool Bias, bool ConstantNode) : Block;

/// <summary>Grouped conv: <paramref name="Groups"/> (reduced to a divisor of the width), each with
/// <paramref name="PerGroupOut"/> outputs. A group count equal to the width is depthwise.</summary>
internal sealed record GroupedConvBlock(int Groups, int PerGroupOut) : Block;

/// <summary>Depthwise 3x3 conv with channel multiplier <paramref name="Multiplier"/>.</summary>
internal sealed record DepthwiseBlock(int Multiplier) : Block;

/// <summary>BatchNormalization, or InstanceNormalization when <paramref name="Instance"/>.</summary>
internal sealed record NormBlock(bool Instance) : Block;

internal enum Activation { Relu, LeakyRelu, HardSwish, Clip6, PRelu, Sigmoid, Swish }

internal sealed record ActivationBlock(Activation Kind) : Block;

/// <summary>x op Conv(x): a residual Add, or a Mul (gating by a branch).</summary>
internal sealed record ResidualBlock(bool Mul, int Kernel) : Block;

/// <summary>Concat(x, Conv(x) to <paramref name="Out"/>) on the channel axis; with
/// <paramref name="TwoBranches"/>, Concat(Conv(x), Conv(x)) as an inception block writes it.</summary>
internal sealed record ConcatBlock(int Out, bool TwoBranches) : Block;

/// <summary>Split into [a, C - a] (a from <paramref name="First"/>) and concatenate the parts
/// swapped, the second through a Relu: channels change places.</summary>
internal sealed record SplitSwapBlock(int First) : Block;

/// <summary>Slice channels [start, start + length) (both reduced to fit), or the same range of
/// rows and columns when <paramref name="Spatial"/>.</summary>
internal sealed record SliceBlock(int Start, int Length, bool Spatial) : Block;

/// <summary>Adds the tensor <paramref name="Back"/> steps earlier (counted among those of the
/// current width and size; nothing when there is none): a skip connection over several blocks.</summary>
internal sealed record SkipAddBlock(int Back) : Block;

internal enum SeKind { Conv, ReduceMeanConv, Gemm }

/// <summary>Squeeze-and-excitation: x * Sigmoid(Conv(Relu(Conv(GlobalAveragePool(x))))); the
/// pooling as ReduceMean over H, W (as TensorFlow writes it), or the two layers as Gemm between
/// Flatten and Reshape back to [1, C, 1, 1].</summary>
internal sealed record SeGateBlock(int Reduced, bool HardSigmoid, SeKind Kind) : Block;

internal enum ResizeTarget { ConstantScales, ConstantNodeScales, SizesFromShape, SizesWithConstantChannels, NhwcSizesWithConstantChannels }

/// <summary>Resize by 2 (or by 1/2 once 16 x 16 is reached): scales as an initializer or a
/// Constant node, or sizes computed from Shape (channel entry read, or a constant as tf2onnx
/// writes, in NCHW or between NHWC Transposes).</summary>
internal sealed record ResizeBlock(bool Linear, ResizeTarget Target) : Block;

internal enum PadMode { Constant, Reflect, Edge }

internal sealed record PadBlock(int Pad, PadMode Mode) : Block;

internal sealed record PoolBlock(bool Max) : Block;

internal enum NhwcOp { Relu, MulPerChannel, AddPerChannel }

/// <summary>Transpose to NHWC, one op there, Transpose back (tf2onnx's layout pairs).</summary>
internal sealed record NhwcBlock(NhwcOp Op) : Block;

internal enum AffineOp { Add, Sub, Mul, Div }

internal enum AffineShape { NC11, C11, Scalar }

/// <summary>x op a constant with one entry per channel ([1, C, 1, 1] or [C, 1, 1]) or a scalar.</summary>
internal sealed record AffineBlock(AffineOp Op, AffineShape Shape) : Block;

/// <summary>ConvTranspose to <paramref name="Out"/> channels: 2x2 stride 2 while there is room, else 3x3 padded.</summary>
internal sealed record ConvTransposeBlock(int Out) : Block;

internal enum HeadKind { FlattenGemm, PoolReshapeMatMul, PoolFlattenGemmConstantNode, ConvOutput }

internal sealed record Head(HeadKind Kind, int Classes);
