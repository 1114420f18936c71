using OnnxPrune.IR;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>
/// What the trainer needs to know about an image classifier: its one float image input
/// ([N, C, H, W], or [N, F] with F = C*H*W for a model that takes flattened images), its output
/// (class scores [N, K]; when the model ends in Softmax, the Softmax input is used as the logits
/// for the loss) and the trainable initializers.
/// </summary>
internal sealed class ClassifierSignature
{
    private ClassifierSignature(string inputName, IReadOnlyList<Dim> sampleDims, Dim batch, string outputName, string logitsName,
        bool outputIsProbabilities, int? classCount)
    {
        InputName = inputName;
        SampleDims = sampleDims;
        BatchDim = batch;
        OutputName = outputName;
        LogitsName = logitsName;
        OutputIsProbabilities = outputIsProbabilities;
        ClassCount = classCount;
    }

    /// <summary>The image input.</summary>
    public string InputName { get; }

    /// <summary>The input's dims after the batch axis (C, H, W or F), as declared.</summary>
    public IReadOnlyList<Dim> SampleDims { get; }

    /// <summary>The input's batch dim as declared (usually symbolic).</summary>
    public Dim BatchDim { get; }

    /// <summary>The model's first output: class scores [N, K].</summary>
    public string OutputName { get; }

    /// <summary>The value the loss reads: <see cref="OutputName"/>, or the input of a final Softmax.</summary>
    public string LogitsName { get; }

    /// <summary>True when the output is a Softmax of the logits (probabilities).</summary>
    public bool OutputIsProbabilities { get; }

    /// <summary>K when the output declares it.</summary>
    public int? ClassCount { get; }

    /// <summary>The model's fixed batch size, or null when the batch axis is dynamic.</summary>
    public long? FixedBatch => BatchDim.Value;

    /// <exception cref="TrainingInputException">No float input, several inputs, an input of
    /// another rank, or an output that is not [N, K] float.</exception>
    public static ClassifierSignature Of(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var inputs = graph.Inputs.Where(i => !graph.Initializers.ContainsKey(i.Name)).ToList();
        var listing = string.Join(", ", inputs.Select(Describe));
        if (inputs.Count == 0) throw new TrainingInputException("the model has no input to feed images to");
        var floats = inputs.Where(i => i.ElementType == DataType.Float).ToList();
        if (floats.Count == 0)
            throw new TrainingInputException($"the model has no float input (its inputs: {listing}); training needs a float32 image input [N, C, H, W]");
        if (inputs.Count > 1)
            throw new TrainingInputException($"the model has {inputs.Count} inputs ({listing}); training needs a model with one float image input [N, C, H, W]");
        var input = floats[0];
        if (input.Shape is not { } shape || shape.Rank is not (4 or 2))
            throw new TrainingInputException($"the model's input {Describe(input)} must have shape [N, C, H, W] (or [N, C*H*W]) for image training");

        if (graph.Outputs.Count == 0) throw new TrainingInputException("the model has no output");
        var output = graph.Outputs[0];
        if (output.ElementType is not (DataType.Float or DataType.Undefined))
            throw new TrainingInputException($"the model's first output {Describe(output)} is not float; training needs class scores [N, K]");
        if (output.Shape is { Rank: not 2 } os)
            throw new TrainingInputException($"the model's first output {Describe(output)} has rank {os.Rank}; training needs class scores of shape [N, K]");
        int? classes = output.Shape is { } s2 && s2[1].Value is { } k && k > 0 && k <= int.MaxValue ? (int)k : null;
        var logits = output;
        bool probabilities = false;
        if (output.Producer is { IsOnnxDomain: true, OpType: "Softmax" } softmax && softmax.Input(0) is { } before)
        {
            logits = before;
            probabilities = true;
        }
        return new ClassifierSignature(input.Name, shape.Dims.Skip(1).ToArray(), shape[0], output.Name, logits.Name, probabilities, classes);
    }

    /// <summary>
    /// Checks that <paramref name="data"/> fits: its images [C, H, W] against the input's declared
    /// dims, its labels against the model's classes.
    /// </summary>
    /// <exception cref="TrainingInputException">They do not fit; the message shows both shapes.</exception>
    public void CheckData(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var expected = "[" + string.Join(",", SampleDims) + "]";
        if (SampleDims.Count == 3)
        {
            long[] actual = [data.Channels, data.Height, data.Width];
            for (var i = 0; i < 3; i++)
                if (SampleDims[i].Value is { } d && d != actual[i])
                    throw new TrainingInputException(
                        $"{data.Source} holds {data.Channels}x{data.Height}x{data.Width} images (C x H x W) but the model's input '{InputName}' takes [N,{string.Join(",", SampleDims)}]: the data does not fit the model");
        }
        else if (SampleDims[0].Value is { } f && f != data.SampleSize)
            throw new TrainingInputException(
                $"{data.Source} holds {data.Channels}x{data.Height}x{data.Width} images ({data.SampleSize} values each) but the model's input '{InputName}' takes {expected} values per sample: the data does not fit the model");
        if (ClassCount is { } k)
        {
            var labels = data.Labels;
            for (var i = 0; i < labels.Length; i++)
                if ((ulong)labels[i] >= (ulong)k)
                    throw new TrainingInputException(
                        $"{data.Source}: label of sample {i} is {labels[i]}, outside [0, {k}) for the model's {k} classes (output '{OutputName}')");
        }
    }

    /// <summary>The dims of a batch of <paramref name="batch"/> samples of <paramref name="data"/> as the input takes them.</summary>
    public long[] BatchDims(int batch, Dataset data) =>
        SampleDims.Count == 3 ? [batch, data.Channels, data.Height, data.Width] : [batch, data.SampleSize];

    /// <summary>
    /// The default trainable set: every float32 initializer, or output of a Constant node, that
    /// feeds a layer's parameter position (<see cref="OpFacts.ParameterSlots"/>: Conv/ConvTranspose
    /// weight and bias, Gemm/MatMul operands, BatchNormalization scale and bias, PRelu slope), in model order.
    /// For a model with BatchNorm folded into its convolutions this is the convolution weights and
    /// biases and the classifier.
    /// </summary>
    public static IReadOnlyList<string> DefaultTrainable(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var node in graph.Nodes)
            foreach (var slot in OpFacts.ParameterSlots(node))
            {
                if (node.Input(slot) is not { } v) continue;
                bool isFloat = v.IsInitializer ? v.ConstValue!.DataType == DataType.Float
                    : OpFacts.ConstantTensor(v.Producer)?.DataType == DataType.Float;
                if (isFloat && chosen.Add(v.Name)) order.Add(v.Name);
            }
        var initializerOrder = graph.InitializersInOrder().Select((v, i) => (v.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        return order.OrderBy(n => initializerOrder.TryGetValue(n, out var i) ? i : int.MaxValue).ToList();
    }

    /// <summary>Turns the Constant nodes among <paramref name="names"/> into initializers of the
    /// same name (as the gradient builder does), so trained values can be written back.</summary>
    internal static void PromoteConstants(Model model, IEnumerable<string> names)
    {
        var graph = model.Graph;
        var wanted = new HashSet<string>(names, StringComparer.Ordinal);
        foreach (var node in graph.Nodes.ToList())
        {
            if (OpFacts.ConstantTensor(node) is null || node.Outputs.Count != 1) continue;
            var output = node.Outputs[0];
            if (wanted.Contains(output.Name) && !graph.Initializers.ContainsKey(output.Name) && !output.IsGraphOutput) graph.PromoteConstant(node);
        }
    }

    private static string Describe(Value v) =>
        $"'{v.Name}' {(v.ElementType == DataType.Undefined ? "?" : DataTypes.Name(v.ElementType))}{v.Shape?.ToString() ?? "[?]"}";
}
