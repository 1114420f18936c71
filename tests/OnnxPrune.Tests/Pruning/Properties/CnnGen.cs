using CsCheck;

namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>CsCheck generators of <see cref="CnnSpec"/>. Built from CsCheck's own combinators so
/// its size order shrinks toward fewer blocks and smaller numbers.</summary>
internal static class CnnGen
{
    private static readonly Gen<int> Width = Gen.Int[2, 12];

    private static readonly Gen<Block> Block = Gen.Frequency<Block>(
        (4, Gen.Select(Width, Gen.OneOf(1, 3), Gen.Bool, Gen.Bool, (o, k, b, c) => (Block)new ConvBlock(o, k, b, c))),
        (2, Gen.Select(Gen.Int[2, 4], Gen.Int[1, 4], (g, o) => (Block)new GroupedConvBlock(g, o))),
        (2, Gen.Int[1, 2].Select(m => (Block)new DepthwiseBlock(m))),
        (2, Gen.Frequency((3, Gen.Const(false)), (1, Gen.Const(true))).Select(i => (Block)new NormBlock(i))),
        (3, Gen.Enum<Activation>().Select(a => (Block)new ActivationBlock(a))),
        (2, Gen.Select(Gen.Bool, Gen.OneOf(1, 3), (m, k) => (Block)new ResidualBlock(m, k))),
        (2, Gen.Select(Width, Gen.Bool, (o, t) => (Block)new ConcatBlock(o, t))),
        (1, Gen.Int[1, 11].Select(a => (Block)new SplitSwapBlock(a))),
        (1, Gen.Select(Gen.Int[0, 11], Gen.Int[1, 12], Gen.Frequency((3, Gen.Const(false)), (1, Gen.Const(true))), (s, l, sp) => (Block)new SliceBlock(s, l, sp))),
        (2, Gen.Int[1, 3].Select(b => (Block)new SkipAddBlock(b))),
        (2, Gen.Select(Gen.Int[1, 4], Gen.Bool, Gen.Enum<SeKind>(), (r, h, k) => (Block)new SeGateBlock(r, h, k))),
        (2, Gen.Select(Gen.Bool, Gen.Enum<ResizeTarget>(), (l, t) => (Block)new ResizeBlock(l, t))),
        (1, Gen.Select(Gen.Int[1, 2], Gen.Enum<PadMode>(), (p, m) => (Block)new PadBlock(p, m))),
        (2, Gen.Bool.Select(m => (Block)new PoolBlock(m))),
        (1, Gen.Enum<NhwcOp>().Select(o => (Block)new NhwcBlock(o))),
        (1, Gen.Select(Gen.Enum<AffineOp>(), Gen.Enum<AffineShape>(), (o, sh) => (Block)new AffineBlock(o, sh))),
        (1, Width.Select(o => (Block)new ConvTransposeBlock(o))));

    private static readonly Gen<Head> HeadGen = Gen.Select(Gen.Enum<HeadKind>(), Gen.Int[2, 5], (k, c) => new Head(k, c));

    /// <summary>A CNN of 1 to <paramref name="maxBlocks"/> blocks.</summary>
    public static Gen<CnnSpec> Spec(int maxBlocks = 7) =>
        Gen.Select(Gen.Bool, Gen.Int[1, 4], Width, Block.List[1, maxBlocks], HeadGen, Gen.Int[0, 9999], Gen.Int[10, 90],
            (dynamic, cin, stem, blocks, head, seed, percent) => new CnnSpec(dynamic, cin, stem, blocks, head, seed, percent));
}
