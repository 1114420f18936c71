namespace OnnxPrune.Training.Data;

/// <summary>A data set from a pair of MNIST-format IDX files (gzipped or not): images
/// [N, H, W] or [N, C, H, W] and labels [N].</summary>
internal static class IdxDataset
{
    /// <summary>Reads the two files; uint8 images are divided by 255, float images are taken as
    /// they are. <paramref name="classCount"/> defaults to the largest label + 1.</summary>
    /// <exception cref="DataFormatException">A file is missing or malformed, the shapes do not fit,
    /// or a label is outside [0, classCount).</exception>
    public static Dataset Load(string imagesPath, string labelsPath, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(labelsPath);
        var images = IdxFile.Read(imagesPath);
        var labels = IdxFile.Read(labelsPath);
        return Dataset.FromTensors(images, labels, classCount, $"'{imagesPath}' with '{labelsPath}'",
            Path.GetFileName(imagesPath), Path.GetFileName(labelsPath));
    }
}

/// <summary>
/// Fashion-MNIST (Zalando): 28x28 grey images of 10 kinds of clothing, 60,000 for training and
/// 10,000 for testing, as shipped by Debian's package dataset-fashion-mnist in
/// /usr/share/datasets/fashion-mnist (gzipped IDX).
/// </summary>
internal static class FashionMnist
{
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    public const string DebianPackage = "dataset-fashion-mnist";
    public const int ClassCount = 10;

    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The training (60,000) or test (10,000) images from <see cref="DefaultFolder"/>.</summary>
    public static Dataset Load(bool train) => Load(DefaultFolder, train);

    /// <summary>
    /// The training set (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) or the test
    /// set (t10k-...) from <paramref name="folder"/>, as float images [N, 1, 28, 28] scaled to
    /// [0, 1] and labels 0..9. Any folder holding MNIST-format files of these names works (MNIST
    /// itself, for instance).
    /// </summary>
    /// <exception cref="DataFormatException">The folder or a file is missing (the message says
    /// which Debian package provides them), or a file is malformed.</exception>
    public static Dataset Load(string folder, bool train)
    {
        var (images, labels) = Files(folder, train);
        var data = IdxDataset.Load(images, labels, ClassCount);
        if (data.Channels != 1)
            throw new DataFormatException($"'{images}' holds {data.Channels}-channel images; Fashion-MNIST images are single-channel [N, 28, 28]");
        return data;
    }

    /// <summary>Whether both files of both splits are in <paramref name="folder"/>.</summary>
    public static bool IsAvailable(string folder = DefaultFolder) =>
        Find(folder, "train-images-idx3-ubyte") is not null && Find(folder, "train-labels-idx1-ubyte") is not null &&
        Find(folder, "t10k-images-idx3-ubyte") is not null && Find(folder, "t10k-labels-idx1-ubyte") is not null;

    /// <summary>Paths of the image and label files of a split (the .gz file, else the plain one).</summary>
    /// <exception cref="DataFormatException">The folder or a file is missing.</exception>
    public static (string Images, string Labels) Files(string folder, bool train)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var install = folder == DefaultFolder
            ? $"install Debian's package {DebianPackage} (apt-get install {DebianPackage})"
            : $"it should hold the Fashion-MNIST files as Debian's package {DebianPackage} installs them in {DefaultFolder}";
        if (!Directory.Exists(folder)) throw new DataFormatException($"Fashion-MNIST folder '{folder}' does not exist: {install}");
        var prefix = train ? "train" : "t10k";
        return (Require($"{prefix}-images-idx3-ubyte"), Require($"{prefix}-labels-idx1-ubyte"));

        string Require(string name) => Find(folder, name)
            ?? throw new DataFormatException($"Fashion-MNIST folder '{folder}' has neither {name}.gz nor {name}: {install}");
    }

    private static string? Find(string folder, string name)
    {
        foreach (var candidate in new[] { Path.Combine(folder, name + ".gz"), Path.Combine(folder, name) })
            if (File.Exists(candidate)) return candidate;
        return null;
    }
}
