using OnnxPrune.Api.Engine;
using OnnxPrune.Onnx;

namespace OnnxPrune.Api;

/// <summary>The ONNX model to prune: a file, its bytes, or a model already in OnnxPrune's IR.</summary>
public sealed class ModelSource
{
    private ModelSource(ModelInput input) => Input = input;

    internal ModelInput Input { get; }

    /// <summary>The name the report and the messages give the model.</summary>
    public string Name => Input.Name;

    /// <summary>An .onnx file; tensors it keeps in external data files are read from beside it. The file is read when
    /// the run starts; a missing file is a <see cref="UsageException"/> then.</summary>
    /// <param name="path">The model's path.</param>
    public static ModelSource FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new ModelSource(ModelInput.FromFile(path));
    }

    /// <summary>A serialized ONNX model (the bytes of an .onnx file).</summary>
    /// <param name="bytes">The model; not copied, so do not change it while a run uses it.</param>
    /// <param name="name">How the report and messages name the model.</param>
    /// <param name="externalDataDirectory">The folder its external data files are in, when it has any.</param>
    public static ModelSource FromBytes(byte[] bytes, string name = "model.onnx", string? externalDataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new ModelSource(new ModelInput(() => bytes, externalDataDirectory, name));
    }

    /// <summary>A model in OnnxPrune's IR (for example one a toolchain built or edited with <c>OnnxPrune.IR</c>). It is
    /// serialized when the source is made, so later changes to <paramref name="model"/> do not reach the run.</summary>
    /// <param name="model">The model.</param>
    /// <param name="name">How the report and messages name the model.</param>
    public static ModelSource FromModel(IR.Model model, string name = "model.onnx")
    {
        ArgumentNullException.ThrowIfNull(model);
        var bytes = OnnxModelFile.ToBytes(model);
        return new ModelSource(new ModelInput(() => bytes, null, name));
    }
}
