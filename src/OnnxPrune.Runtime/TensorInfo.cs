using System.Collections.ObjectModel;
using OnnxPrune.IR;

namespace OnnxPrune.Runtime;

/// <summary>What kind of value an input or output is; same numbers as ORT's ONNXType.</summary>
internal enum OnnxValueKind
{
    Unknown = 0,
    Tensor = 1,
    Sequence = 2,
    Map = 3,
    Opaque = 4,
    SparseTensor = 5,
    Optional = 6,
}

/// <summary>
/// A session input or output as ORT sees it after loading the model. For non-tensors
/// (<see cref="Kind"/> other than Tensor) the element type is Undefined and the shape empty.
/// </summary>
internal sealed class TensorInfo
{
    internal TensorInfo(string name, OnnxValueKind kind, DataType elementType, long[] dims, string?[] symbolicDims)
    {
        Name = name;
        Kind = kind;
        ElementType = elementType;
        Dims = Array.AsReadOnly(dims);
        SymbolicDims = Array.AsReadOnly(symbolicDims);
    }

    public string Name { get; }
    public OnnxValueKind Kind { get; }
    public DataType ElementType { get; }

    /// <summary>One entry per axis: the size, or -1 where the model leaves it open.</summary>
    public ReadOnlyCollection<long> Dims { get; }

    /// <summary>One entry per axis: the dim_param name (e.g. "N"), or null when the axis has none.</summary>
    public ReadOnlyCollection<string?> SymbolicDims { get; }

    public override string ToString()
    {
        if (Kind != OnnxValueKind.Tensor) return $"{Name}: {Kind}";
        var axes = Dims.Select((d, i) => SymbolicDims[i] ?? (d < 0 ? "?" : d.ToString()));
        return $"{Name}: {DataTypes.Name(ElementType)}[{string.Join(",", axes)}]";
    }
}
