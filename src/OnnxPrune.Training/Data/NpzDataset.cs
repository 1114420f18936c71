using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Training.Data;

/// <summary>A data set from NumPy files: an .npz archive holding images and labels, or two
/// .npy files. Reading is <see cref="NpyFile"/>'s; errors come out as <see cref="DataFormatException"/>.</summary>
internal static class NpzDataset
{
    /// <summary>
    /// Loads images and labels from an .npz archive (numpy.savez or savez_compressed).
    /// Images: the array <paramref name="inputName"/>, by default "x" when there is one, else the
    /// first floating-point array, else the first uint8 array of rank 3 or 4. Labels: the array
    /// <paramref name="labelName"/>, by default "y" when there is one, else the first other array of
    /// integers. Images are [N, H, W] or [N, C, H, W] of float32, float64, float16 or uint8
    /// (divided by 255); labels are [N] of int64, int32 or another integer type.
    /// <paramref name="classCount"/> defaults to the largest label + 1.
    /// </summary>
    /// <exception cref="DataFormatException">The file is missing or not an .npz, an array is
    /// missing or of the wrong type or shape, the sample counts differ, or a label is outside
    /// [0, classCount); the message names the file and the array.</exception>
    public static Dataset Load(string path, string? inputName = null, string? labelName = null, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        IReadOnlyList<KeyValuePair<string, TensorData>> arrays;
        try { arrays = NpyFile.ReadNpz(path); }
        catch (NpyFormatException e) { throw new DataFormatException(e.Message, e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataFormatException($"'{path}' cannot be read: {e.Message}", e); }

        var listing = string.Join(", ", arrays.Select(a => $"'{a.Key}' {DataTypes.Name(a.Value.ElementType)} [{string.Join(",", a.Value.Dims)}]"));
        var input = inputName is not null ? Named(inputName, "images")
            : Find(a => a.Key == "x") ?? Find(a => IsFloat(a.Value.ElementType))
              ?? Find(a => a.Value.ElementType == DataType.UInt8 && a.Value.Dims.Count is 3 or 4)
              ?? throw new DataFormatException($"'{path}' has no image array: no 'x', no floating-point array and no uint8 array of rank 3 or 4 (arrays: {listing}); name it with the input option");
        var label = labelName is not null ? Named(labelName, "labels")
            : Find(a => a.Key == "y") ?? Find(a => a.Key != input.Key && IsInteger(a.Value.ElementType))
              ?? throw new DataFormatException($"'{path}' has no label array: no 'y' and no integer array besides '{input.Key}' (arrays: {listing}); name it with the label option");
        if (label.Key == input.Key) throw new DataFormatException($"'{path}': the images and the labels are both array '{input.Key}'");
        return Dataset.FromTensors(input.Value, label.Value, classCount, $"'{path}'", input.Key, label.Key);

        KeyValuePair<string, TensorData>? Find(Func<KeyValuePair<string, TensorData>, bool> match)
        {
            foreach (var a in arrays) if (match(a)) return a;
            return null;
        }

        KeyValuePair<string, TensorData> Named(string name, string role) => Find(a => a.Key == name)
            ?? throw new DataFormatException($"'{path}' has no array '{name}' for the {role} (arrays: {listing})");
    }

    /// <summary>Loads images and labels from two .npy files, under the rules of <see cref="Load"/>.</summary>
    public static Dataset LoadNpy(string imagesPath, string labelsPath, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(labelsPath);
        TensorData images, labels;
        try
        {
            images = NpyFile.ReadNpy(imagesPath);
            labels = NpyFile.ReadNpy(labelsPath);
        }
        catch (NpyFormatException e) { throw new DataFormatException(e.Message, e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataFormatException($"cannot read NumPy data: {e.Message}", e); }
        return Dataset.FromTensors(images, labels, classCount, $"'{imagesPath}' with '{labelsPath}'",
            Path.GetFileName(imagesPath), Path.GetFileName(labelsPath));
    }

    private static bool IsFloat(DataType t) => t is DataType.Float or DataType.Double or DataType.Float16;

    private static bool IsInteger(DataType t) => t is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
        or DataType.UInt8 or DataType.UInt16 or DataType.UInt32 or DataType.UInt64;
}
