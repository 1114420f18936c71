using OnnxPrune.IR;
using OnnxPrune.IR.Passes;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// The lowering onto ONNX Runtime's blocked-layout kernels as IR passes, in the order they must
/// run: the interleaved weight-gradient inputs first (they read the Reshape/Transpose form the
/// Conv pass does not touch), then the Convs, then the propagation of the blocked layout between
/// them. Each pass infers shapes afresh (nchwc ops by their shape rules) and reports what it did.
/// </summary>
internal sealed class NchwcPasses
{
    private NchwcPasses(int block)
    {
        Interleave = new InterleavePass(block);
        Convolutions = new ConvolutionPass(block);
        Layout = new LayoutPass(block, Convolutions);
    }

    /// <param name="block">The kernels' channel block (<see cref="NchwcSupport.BlockSize"/>).</param>
    public static NchwcPasses Create(int block)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(block);
        return new NchwcPasses(block);
    }

    public InterleavePass Interleave { get; }
    public ConvolutionPass Convolutions { get; }
    public LayoutPass Layout { get; }

    public IReadOnlyList<IPass> All => [Interleave, Convolutions, Layout];

    /// <summary>Weight-gradient inputs with a channel block interleaved into their width
    /// (<see cref="BlockedChannelInterleave"/>).</summary>
    public sealed class InterleavePass(int block) : IPass
    {
        public string Name => "nchwc-interleave";
        public int Lowered { get; private set; }

        public bool Run(Model model) => (Lowered = BlockedChannelInterleave.Lower(model, block)) > 0;
    }

    /// <summary>Convs and per-channel affine maps onto the blocked kernels (<see cref="BlockedConvolutions"/>).</summary>
    public sealed class ConvolutionPass(int block) : IPass
    {
        public string Name => "nchwc-convolutions";
        public int Lowered { get; private set; }
        public int Affine { get; private set; }

        public bool Run(Model model)
        {
            (Lowered, Affine) = BlockedConvolutions.LowerConvolutions(model, block);
            return Lowered + Affine > 0;
        }
    }

    /// <summary>Activations stay blocked between lowered Convs (<see cref="BlockedLayoutPropagation"/>);
    /// runs only when the Conv pass lowered something.</summary>
    public sealed class LayoutPass(int block, ConvolutionPass convolutions) : IPass
    {
        public string Name => "nchwc-layout";
        public int Moved { get; private set; }

        public bool Run(Model model) =>
            (Moved = convolutions.Lowered + convolutions.Affine > 0 ? BlockedLayoutPropagation.Propagate(model, block) : 0) > 0;
    }
}
