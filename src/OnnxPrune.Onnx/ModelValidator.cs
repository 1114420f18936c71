using OnnxPrune.IR;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Onnx;

/// <summary>
/// Checks, at load, what the ONNX spec requires and later stages rely on but protobuf parsing
/// cannot see: an opset import, typed graph inputs and outputs, sane declared dims, and operands
/// of one element type where an op's schema says they share one. A truncated file that still
/// parses usually fails one of these.
/// </summary>
internal static class ModelValidator
{
    /// <summary>Any declared dim above this, or a shape with more elements than <see cref="MaxElements"/>, is corrupt.</summary>
    private const long MaxDim = 1L << 40, MaxElements = 1L << 48;

    /// <summary>Ops whose listed inputs share one type variable T in every opset (ONNX operator spec).</summary>
    private static readonly Dictionary<string, int> SameTypeInputs = new(StringComparer.Ordinal)
    {
        ["Conv"] = 3, ["ConvTranspose"] = 3, ["Gemm"] = 3, ["MatMul"] = 2, ["Add"] = 2, ["Sub"] = 2, ["Mul"] = 2, ["Div"] = 2,
        ["PRelu"] = 2, ["Sum"] = int.MaxValue, ["Max"] = int.MaxValue, ["Min"] = int.MaxValue, ["Mean"] = int.MaxValue,
        ["Concat"] = int.MaxValue, ["InstanceNormalization"] = 3,
    };

    /// <summary>Ops defined for floating-point tensors only (ONNX type constraint T: float16, float, double, bfloat16).</summary>
    private static readonly HashSet<string> FloatOnly = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "AveragePool", "GlobalAveragePool", "LpPool",
        "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "HardSigmoid", "HardSwish",
    };

    public static void Check(ModelProto proto, Model model, string label)
    {
        if (proto.IrVersion >= 3 && proto.OpsetImport.Count == 0)
            throw new OnnxFormatException($"{label} has no opset_import, so its operators have no meaning; the file is truncated or was not written by an ONNX exporter");
        var graph = model.Graph;
        if (graph.Outputs.Count == 0)
            throw new OnnxFormatException($"{label} has no graph outputs; the file is truncated or incomplete");
        foreach (var input in graph.Inputs)
        {
            if (input.ConstValue is not null) continue;
            if (input.Origin is ValueInfoProto { Type: null })
                throw new OnnxFormatException($"{label}: graph input '{input.Name}' has no type; every graph input must declare its element type and shape");
            CheckDims(input, label, "graph input");
        }
        foreach (var output in graph.Outputs) CheckDims(output, label, "graph output");
        foreach (var node in graph.Nodes) CheckOperandTypes(node, label);
    }

    private static void CheckDims(Value v, string label, string what)
    {
        if (v.Shape is not { } shape) return;
        double elements = 1;
        foreach (var d in shape.Dims)
        {
            if (d.Value is not { } size) continue;
            if (size < 0 || size > MaxDim)
                throw new OnnxFormatException($"{label}: {what} '{v.Name}' declares shape {shape}, whose dim {size} is not a plausible size; fix the model's dims");
            elements *= size;
        }
        if (elements > MaxElements)
            throw new OnnxFormatException($"{label}: {what} '{v.Name}' declares shape {shape}, {elements:g3} elements; fix the model's dims");
    }

    private static void CheckOperandTypes(Node node, string label)
    {
        if (node.IsOnnxDomain && FloatOnly.Contains(node.OpType))
            foreach (var v in node.Inputs)
            {
                var t = v is null ? DataType.Undefined : v.ConstValue?.DataType ?? v.ElementType;
                if (t != DataType.Undefined && !DataTypes.IsFloatingPoint(t))
                    throw new OnnxFormatException($"{label}: node '{node.Name}' ({node.OpType}) takes '{v!.Name}' as {DataTypes.Name(t)}, but {node.OpType} is defined for floating-point tensors only");
            }
        if (!node.IsOnnxDomain || !SameTypeInputs.TryGetValue(node.OpType, out var count)) return;
        DataType? first = null;
        Value? firstValue = null;
        for (int i = 0; i < Math.Min(count, node.Inputs.Count); i++)
        {
            var v = node.Inputs[i];
            var t = v is null ? DataType.Undefined : v.ConstValue?.DataType ?? v.ElementType;
            if (t == DataType.Undefined) continue;
            if (first is null) { first = t; firstValue = v; continue; }
            if (t != first)
                throw new OnnxFormatException($"{label}: node '{node.Name}' ({node.OpType}) takes '{firstValue!.Name}' as {DataTypes.Name(first.Value)} " +
                    $"but '{v!.Name}' as {DataTypes.Name(t)}; its inputs must have one element type");
        }
    }
}
