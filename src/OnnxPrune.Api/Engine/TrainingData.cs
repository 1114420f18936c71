using System.CommandLine;
using System.IO.Compression;
using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The data sets the commands and the library read (--data, --test-data, --preprocess, --normalization): Fashion-MNIST,
/// IDX folders, .npz files and image folders, split, limited and normalised as the options say. Notes about what was
/// chosen go to the log the caller gives (the command's stderr; a library caller's writer).
/// </summary>
internal static class TrainingData
{
    /// <summary>--preprocess, for folders of images.</summary>
    public static Option<string?> PreprocessOption() => new("--preprocess")
    {
        Description = "How images of an image folder become inputs: resize=S (shorter side),crop=S or HxW (centre),mean=M1/M2/M3,std=S1/S2/S3,order=rgb|bgr,layout=nchw|nhwc,channels=1|3; " +
                      "unset keys default to the model's input size and its normalization metadata (else mean 0, std 1); see onnxprune inspect",
    };

    /// <summary>Runs <paramref name="body"/>, turning the library's input errors into exit code 2.</summary>
    public static int Guard(Func<int> body) => Guard<int>(body);

    /// <inheritdoc cref="Guard(Func{int})"/>
    public static T Guard<T>(Func<T> body)
    {
        try { return body(); }
        catch (DataFormatException e) { throw new UsageException(e.Message); }
        catch (TrainingInputException e) { throw new UsageException(e.Message); }
        catch (TrainingDivergedException e) { throw new TrainingFailedException(e.Message); }
        catch (GradientException e) { throw new UsageException($"the model cannot be trained: {e.Message}"); }
    }

    /// <summary>Which data to load: --data, --test-data, the seed of held-out splits, --limit-*, --holdout.</summary>
    internal sealed record DataRequest(string Data, string? TestData, int Seed, int? LimitTrain = null, int? LimitTest = null, int? Holdout = null)
    {
        /// <summary>An image folder given as --data is all test data (evaluate), not split into training and held-out test images.</summary>
        public bool WholeSetIsTest { get; init; }
    }

    /// <summary>A folder that is taken as images: one without MNIST-format IDX files (named *idx*); an empty
    /// one too, so that the image loader says what it lacks.</summary>
    internal static bool IsImageFolder(string path) =>
        Directory.Exists(path) && (ImageFolderDataset.HasImages(path)
                                   || !Directory.EnumerateFiles(path).Any(f => Path.GetFileName(f).Contains("idx", StringComparison.OrdinalIgnoreCase)));

    /// <summary>True when --data or --test-data is a folder of images, which needs an <see cref="ImagePreprocessing"/>.</summary>
    internal static bool UsesImages(DataRequest s) => IsImageFolder(s.Data) || (s.TestData is { } t && IsImageFolder(t));

    internal static void RejectPreprocess(string? preprocess, DataRequest s)
    {
        if (preprocess is not null)
            throw new UsageException($"--preprocess applies to folders of images; '{s.Data}'{(s.TestData is { } t ? $" and '{t}' are" : " is")} not one");
    }

    /// <summary>
    /// The preprocessing of image folders: --preprocess over the defaults of <paramref name="model"/>'s image input
    /// (<see cref="ImagePreprocessing.ForModel"/>). Without a model (train) the defaults come from the first image of the
    /// data (in load order): 1 channel if it is stored as grayscale, else 3; crop its size; shorter side resized to its
    /// larger side (a square image is kept as it is); mean 0, std 1 until train replaces them with the data's statistics.
    /// </summary>
    internal static ImagePreprocessing ResolvePreprocessing(string? option, Model? model, DataRequest request)
    {
        ImagePreprocessing? defaults;
        string why;
        if (model is not null) defaults = ImagePreprocessing.ForModel(model, out why);
        else
        {
            var folder = IsImageFolder(request.Data) ? request.Data : request.TestData!;
            var first = ImageFolderDataset.Scan(folder).Files[0];
            var (w, h, gray) = ImageFolderDataset.ImageSize(first);
            defaults = ImagePreprocessing.ForInput([gray ? 1 : 3, h, w], null, out why);
        }
        if (option is null)
            return defaults ?? throw new UsageException($"no default preprocessing for the images: {why}");
        try { return ImagePreprocessing.Parse(option, defaults); }
        catch (FormatException e) { throw new UsageException($"--preprocess: {e.Message}"); }
    }

    internal sealed record LoadedData(Dataset Train, Dataset Test, Dataset? Validation, string Name, string TestDescription);

    /// <summary>Loads the training and test sets named by --data/--test-data and applies --limit-*/--holdout.</summary>
    /// <param name="preprocessing">How the images of an image folder (--data or --test-data) are decoded; needed
    /// for one (see <see cref="ResolvePreprocessing"/>), ignored for other data.</param>
    public static LoadedData LoadData(DataRequest s, int? classCount, TextWriter log, ImagePreprocessing? preprocessing = null)
    {
        Dataset train, test;
        string testDescription;
        var data = s.Data;
        if (string.Equals(data, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            EnsureFashionMnist();
            train = FashionMnist.Load(train: true);
            test = FashionMnist.Load(train: false);
            testDescription = "Fashion-MNIST test set";
            data = "fashion-mnist";
        }
        else if (IsImageFolder(data))
        {
            var all = LoadImageFolder(data, classCount, preprocessing, log);
            if (s.WholeSetIsTest) (train, test, testDescription) = (all, all, $"images of '{data}'");
            else (train, test, testDescription) = HoldOutTest(all, s, "no --test-data");
        }
        else if (Directory.Exists(data))
        {
            train = FashionMnist.Load(data, train: true);
            test = FashionMnist.Load(data, train: false);
            testDescription = $"t10k files of '{data}'";
        }
        else if (data.EndsWith(".npz", StringComparison.OrdinalIgnoreCase) || File.Exists(data))
        {
            if (!File.Exists(data)) throw new UsageException($"data file '{data}' does not exist");
            var names = NpzArrayNames(data);
            if (names.Contains("x_train") && names.Contains("y_train") && names.Contains("x_test") && names.Contains("y_test"))
            {
                train = NpzDataset.Load(data, "x_train", "y_train", classCount);
                test = NpzDataset.Load(data, "x_test", "y_test", classCount ?? train.ClassCount);
                testDescription = $"x_test/y_test of '{data}'";
            }
            else if (names.Contains("x_train") && names.Contains("y_train"))
            {
                train = NpzDataset.Load(data, "x_train", "y_train", classCount);
                (train, test, testDescription) = HoldOutTest(train, s, "no x_test/y_test arrays");
            }
            else
            {
                train = NpzDataset.Load(data, classCount: classCount);
                (train, test, testDescription) = HoldOutTest(train, s, "no x_test/y_test arrays");
            }
        }
        else throw new UsageException($"--data must be fashion-mnist, a folder of MNIST-format IDX files, an .npz file or a folder of images; '{data}' is none of these");

        if (s.TestData is { } testPath)
        {
            if (IsImageFolder(testPath)) test = LoadImageFolder(testPath, classCount ?? train.ClassCount, preprocessing, log);
            else if (!File.Exists(testPath)) throw new UsageException($"test data file '{testPath}' does not exist");
            else test = NpzDataset.Load(testPath, classCount: classCount ?? train.ClassCount);
            testDescription = $"'{testPath}'";
        }
        if (test.ClassCount != train.ClassCount && classCount is null)
            test = new Dataset(test.Images, test.Labels, test.Channels, test.Height, test.Width, train.ClassCount, test.Source);
        if (test.Channels != train.Channels || test.Height != train.Height || test.Width != train.Width)
            throw new UsageException($"the test images are {test.Channels}x{test.Height}x{test.Width} but the training images {train.Channels}x{train.Height}x{train.Width}");
        if (s.LimitTrain is { } lt && lt < train.Count) train = train.Take(lt);
        if (s.LimitTest is { } lv && lv < test.Count) test = test.Take(lv);
        Dataset? validation = null;
        if (s.Holdout is { } h)
        {
            if (h >= train.Count) throw new UsageException($"--holdout {h} leaves no training images out of {train.Count}");
            (train, validation) = train.SplitHoldout(h, s.Seed);
        }
        return new LoadedData(train, test, validation, data, testDescription);
    }

    private static Dataset LoadImageFolder(string folder, int? classCount, ImagePreprocessing? preprocessing, TextWriter log)
    {
        if (preprocessing is null)
            throw new UsageException($"'{folder}' is a folder of images: the command needs to know how to preprocess them (--preprocess)");
        if (!ImageFolderDataset.HasImages(folder))
            throw new UsageException($"folder '{folder}' holds no images ({string.Join(" ", ImageFolderDataset.Extensions)}) and no MNIST-format IDX files: give a folder of images with one sub-folder per class, or of IDX files");
        var scan = ImageFolderDataset.Scan(folder);
        if (scan.ClassNames is null)
            throw new UsageException($"image folder '{folder}' has no labels: its {scan.Files.Count} images lie directly in it, " +
                                     $"and this command needs labels: put each class's images in a sub-folder named after the class ('{folder}/CLASS/IMAGE.png'; class index = sorted sub-folder names)");
        var names = scan.ClassNames;
        log.WriteLine($"image folder '{folder}': {scan.Files.Count} images in {names.Count} class folders ({string.Join(", ", names.Take(5))}{(names.Count > 5 ? ", ..." : "")}); class index = position of the sorted folder name");
        if (classCount is { } k && k != names.Count)
            log.WriteLine($"note: the model has {k} classes but '{folder}' has {names.Count} class folders; labels are the folders' positions in sorted order");
        return ImageFolderDataset.Load(folder, preprocessing, classCount);
    }

    private static (Dataset Train, Dataset Test, string Description) HoldOutTest(Dataset all, DataRequest s, string why)
    {
        if (s.TestData is not null) return (all, all, "");
        if (all.Count < 2) throw new UsageException($"{all.Source} holds {all.Count} sample; give more data or a test set with --test-data");
        int n = Math.Max(1, all.Count / 10);
        var (train, test) = all.SplitHoldout(n, s.Seed);
        return (train, test, $"{n} images held out of {all.Source} (seed {s.Seed}; {why})");
    }

    private static HashSet<string> NpzArrayNames(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)).Select(e => e.FullName[..^4]).ToHashSet(StringComparer.Ordinal);
        }
        catch (InvalidDataException) { throw new UsageException($"'{path}' is not an .npz file (not a zip archive); save it with numpy.savez"); }
        catch (IOException e) { throw new UsageException($"'{path}' cannot be read: {e.Message}"); }
        catch (UnauthorizedAccessException e) { throw new UsageException($"'{path}' cannot be read: {e.Message}"); }
    }

    /// <summary>Fashion-MNIST comes from Debian's dataset-fashion-mnist, which the setup scripts
    /// install (tools/run-default.sh, tools/test.sh); the command itself installs nothing, it says
    /// what is missing and how to get it.</summary>
    private static void EnsureFashionMnist()
    {
        if (FashionMnist.IsAvailable()) return;
        throw new UsageException($"Fashion-MNIST is not installed ({FashionMnist.DefaultFolder} is missing): install Debian's package " +
            $"{FashionMnist.DebianPackage} (apt-get install {FashionMnist.DebianPackage}, or tools/ensure-apt.sh {FashionMnist.DebianPackage} " +
            "in the OnnxPrune repository), or pass --data with a folder of MNIST-format files or an .npz file");
    }

    /// <summary>
    /// Loads the data for an existing model (evaluate, finetune) and chooses the normalisation. For image folders
    /// the preprocessing is --preprocess over the model's defaults (<see cref="ImagePreprocessing.ForModel"/>);
    /// for nchw the images are loaded as [0, 1] values and the preprocessing's mean/std (else --normalization, else
    /// the model's metadata, else mean 0 std 1) is the normalisation applied per batch, as for other data. For
    /// nhwc (evaluate only) the mean/std is applied while loading and the returned normalisation is null.
    /// </summary>
    internal static (LoadedData Data, ChannelNormalization? Normalization, ImagePreprocessing? Preprocessing) LoadForModel(
        DataRequest request, int? classCount, string? preprocess, string? normalization, IR.Model model, bool allowNhwc, TextWriter log)
    {
        if (!UsesImages(request))
        {
            RejectPreprocess(preprocess, request);
            var data = LoadData(request, classCount, log);
            return (data, Normalization(normalization, model, data.Train, log), null);
        }
        var pre = ResolvePreprocessing(preprocess, model, request);
        bool givenInPreprocess = preprocess is not null && ImagePreprocessing.SetsNormalization(preprocess);
        if (givenInPreprocess && normalization is not null)
            throw new UsageException("give the normalisation once: mean/std in --preprocess, or --normalization");
        if (pre.Layout == TensorLayout.Nhwc)
        {
            if (!allowNhwc) throw new UsageException("--preprocess layout=nhwc: finetune trains on channels-first images (layout=nchw); evaluate takes nhwc");
            if (normalization is not null) throw new UsageException("with layout=nhwc give the normalisation as mean/std in --preprocess, not --normalization");
            log.WriteLine($"preprocessing: {pre}");
            return (LoadData(request, classCount, log, pre), null, pre);
        }
        var loaded = LoadData(request, classCount, log, pre.WithoutNormalization());
        var norm = givenInPreprocess || normalization is null ? pre.Normalization : Normalization(normalization, model, loaded.Train, log);
        pre = pre.WithNormalization(norm);
        log.WriteLine($"preprocessing: {pre}");
        return (loaded, norm, pre);
    }

    public static Option<string?> NormalizationOption() => new("--normalization")
    {
        Description = "Input normalisation: mean=M1/M2/...,std=S1/S2/... per channel, 'none', or 'data' (computed from the training images); default: the model's metadata, else 'data'",
    };

    /// <summary>The normalisation --normalization names, else the model's metadata, else the training data's statistics.</summary>
    public static ChannelNormalization Normalization(string? option, IR.Model model, Dataset train, TextWriter log)
    {
        switch (option?.Trim().ToLowerInvariant())
        {
            case "none": return ChannelNormalization.Identity(train.Channels);
            case "data": return ChannelNormalization.Compute(train);
            case null: break;
            default:
                try
                {
                    var given = ChannelNormalization.Parse(option!);
                    if (given.Channels != train.Channels) throw new UsageException($"--normalization has {given.Channels} channel(s) but the images have {train.Channels}");
                    return given;
                }
                catch (FormatException e) { throw new UsageException($"--normalization: {e.Message}"); }
        }
        var saved = model.MetadataProps.LastOrDefault(p => p.Key == "normalization").Value;
        if (saved is not null)
        {
            try
            {
                var fromModel = ChannelNormalization.Parse(saved);
                if (fromModel.Channels == train.Channels)
                {
                    log.WriteLine($"normalization from the model's metadata: {fromModel}");
                    return fromModel;
                }
            }
            catch (FormatException) { }
            log.WriteLine($"the model's normalization metadata '{saved}' does not fit the data; using the training data's mean and standard deviation");
        }
        var computed = ChannelNormalization.Compute(train);
        log.WriteLine($"the model has no normalization metadata: using the training data's mean and standard deviation ({computed}); pass --normalization to choose");
        return computed;
    }
}
