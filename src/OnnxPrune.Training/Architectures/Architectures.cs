using OnnxPrune.IR;

namespace OnnxPrune.Training.Architectures;

/// <summary>
/// The architectures `onnxprune train --arch` builds, for C x H x W inputs (1x28x28 for
/// Fashion-MNIST): CIFAR-style ResNets (He et al. 2016, section 4.2: three stages of 16/32/64
/// channels, 6n+2 layers, projection shortcuts where the shape changes), a small VGG, and a
/// small MobileNetV2.
/// </summary>
internal static class Architectures
{
    public static IReadOnlyList<string> Names => ["resnet20", "resnet56", "vgg-small", "mobilenetv2-small"];

    public static Model Build(string name, int seed, long channels = 1, long height = 28, long width = 28, long classes = 10) => name switch
    {
        "resnet20" => CifarResNet(3, seed, channels, height, width, classes),
        "resnet56" => CifarResNet(9, seed, channels, height, width, classes),
        "vgg-small" => VggSmall(seed, channels, height, width, classes),
        "mobilenetv2-small" => MobileNetV2Small(seed, channels, height, width, classes),
        _ => throw new ArgumentException($"unknown architecture '{name}'; choose one of {string.Join(", ", Names)}"),
    };

    /// <summary>ResNet-(6n+2) with basic blocks.</summary>
    public static Model CifarResNet(int blocksPerStage, int seed, long channels, long height, long width, long classes, long[]? widths = null)
    {
        widths ??= [16, 32, 64];
        var b = new NetworkBuilder(seed);
        var x = b.ConvBnRelu(b.Input("input", channels, height, width), "stem", channels, widths[0], 3);
        long cin = widths[0];
        for (int s = 0; s < widths.Length; s++)
        {
            for (int k = 0; k < blocksPerStage; k++)
            {
                long stride = s > 0 && k == 0 ? 2 : 1;
                long cout = widths[s];
                var name = $"stage{s + 1}.block{k}";
                var y = b.ConvBnRelu(x, name + ".1", cin, cout, 3, stride);
                y = b.ConvBnRelu(y, name + ".2", cout, cout, 3, relu: false);
                var shortcut = stride != 1 || cin != cout ? b.ConvBnRelu(x, name + ".shortcut", cin, cout, 1, stride, relu: false) : x;
                x = b.Relu(b.Add(y, shortcut, name + ".add"), name + ".relu");
                cin = cout;
            }
        }
        var logits = b.Linear(b.Flatten(b.GlobalAveragePool(x, "pool"), "flatten"), "fc", cin, classes);
        Rename(logits, "logits");
        b.Output(logits);
        return b.Model;
    }

    /// <summary>Conv-BN-ReLU stacks 32-32-pool-64-64-pool-128-128, then a linear classifier.</summary>
    public static Model VggSmall(int seed, long channels, long height, long width, long classes)
    {
        var b = new NetworkBuilder(seed);
        var x = b.Input("input", channels, height, width);
        long cin = channels;
        int i = 0;
        foreach (var stage in new long[][] { [32, 32], [64, 64], [128, 128] })
        {
            foreach (var cout in stage) { x = b.ConvBnRelu(x, $"features.{i++}", cin, cout, 3); cin = cout; }
            if (i < 6) x = b.MaxPool(x, $"pool{i}", 2, 2);
        }
        var logits = b.Linear(b.Flatten(b.GlobalAveragePool(x, "pool"), "flatten"), "fc", cin, classes);
        Rename(logits, "logits");
        b.Output(logits);
        return b.Model;
    }

    /// <summary>MobileNetV2 with inverted residuals (expansion 4) at small widths.</summary>
    public static Model MobileNetV2Small(int seed, long channels, long height, long width, long classes)
    {
        var b = new NetworkBuilder(seed);
        var x = b.ConvBnRelu(b.Input("input", channels, height, width), "stem", channels, 16, 3);
        long cin = 16;
        int block = 0;
        foreach (var (cout, repeats, stride) in new (long, int, long)[] { (16, 1, 1), (24, 2, 2), (32, 2, 2), (64, 2, 1) })
        {
            for (int r = 0; r < repeats; r++)
            {
                var name = $"block{block++}";
                long s = r == 0 ? stride : 1, hidden = cin * 4;
                var y = b.ConvBnRelu(x, name + ".expand", cin, hidden, 1);
                y = b.ConvBnRelu(y, name + ".depthwise", hidden, hidden, 3, s, groups: hidden);
                y = b.ConvBnRelu(y, name + ".project", hidden, cout, 1, relu: false);
                x = s == 1 && cin == cout ? b.Add(y, x, name + ".add") : y;
                cin = cout;
            }
        }
        x = b.ConvBnRelu(x, "head", cin, 128, 1);
        var logits = b.Linear(b.Flatten(b.GlobalAveragePool(x, "pool"), "flatten"), "fc", 128, classes);
        Rename(logits, "logits");
        b.Output(logits);
        return b.Model;
    }

    private static void Rename(Value v, string name) => v.Name = name;
}
