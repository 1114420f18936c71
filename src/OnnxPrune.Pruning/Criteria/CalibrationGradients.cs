using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;
using OnnxPrune.Training;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// The loss gradient g (and, for second-order criteria, the Hessian-vector product Hθ) of a
/// model's parameters, averaged over calibration images: one run of the gradient graph OnnxPrune
/// builds per batch, on ONNX Runtime. The loss is softmax cross-entropy against the labels, or
/// against the original model's own top-1 predictions when there are none (the KL divergence of
/// the unpruned model to its own soft outputs has zero gradient, so first-order scores would all
/// be 0). BatchNorm uses its running statistics: the model as it is deployed.
/// </summary>
internal sealed class CalibrationGradients(CalibrationSet data, SessionSettings session, int batchSize)
{
    /// <summary>The parameter slices a group's removal zeroes (producers, per-channel parameters,
    /// consumer slices), and their tensors' names. Statistics and divisors are not parameters
    /// that go to zero, so they are not scored.</summary>
    public static (List<ParamBinding> Bindings, List<string> Names) ScoredParameters(ChannelAnalysis analysis)
    {
        var bindings = analysis.Bindings.Where(b => b.Role is ParamRole.Producer or ParamRole.Consumer or ParamRole.PerChannel
            && analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex]) is { DataType: DataType.Float }).ToList();
        return (bindings, bindings.Select(b => b.Node.Inputs[b.InputIndex]!.Name).Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>Per root unit: Σ over the unit's member slices of θ·v (v per parameter name, in the
    /// parameter's layout).</summary>
    public static Dictionary<int, double> GroupDots(ChannelAnalysis analysis, IEnumerable<ParamBinding> bindings, IReadOnlyDictionary<string, float[]> v)
    {
        var sums = new Dictionary<int, double>();
        foreach (var b in bindings)
        {
            var parameter = b.Node.Inputs[b.InputIndex]!;
            var dots = TensorSlicing.Dots(analysis.Context.ConstantOf(parameter)!, v[parameter.Name], b.Axis);
            for (int i = 0; i < dots.Length; i++)
            {
                if (b.IndexUnits[i] < 0) continue;
                var root = analysis.Root(b.IndexUnits[i]);
                sums[root] = sums.GetValueOrDefault(root) + dots[i];
            }
        }
        return sums;
    }

    /// <summary>Mean gradient, and with <paramref name="hessianTimesTheta"/> the mean of Hθ by a
    /// forward difference of gradients, (g((1+ε)θ) − g(θ)) / ε, which reuses g(θ): one more run
    /// per batch (ε from <see cref="HessianVectorProduct.DefaultStep"/>).</summary>
    public (IReadOnlyDictionary<string, float[]> Gradient, IReadOnlyDictionary<string, float[]>? HessianTheta) Compute(
        Model model, IReadOnlyList<string> parameters, bool hessianTimesTheta)
    {
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data.Images);
        var images = data.Images;
        var labels = data.HasLabels ? images.Labels : Predictions(model, signature);
        var gradient = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var curvature = hessianTimesTheta ? new Dictionary<string, float[]>(StringComparer.Ordinal) : null;
        // One session per batch size (the last batch may be smaller), with its parameters at (1+ε)θ.
        var sessions = new Dictionary<int, (GradientSession Session, Dictionary<string, TensorData> Shifted, double Epsilon)>();
        try
        {
            foreach (var (start, n, batch) in data.Batches(signature, batchSize))
            {
                if (!sessions.TryGetValue(n, out var entry))
                {
                    var created = Session(model, signature, parameters, n);
                    var (shifted, eps) = curvature is null ? (new Dictionary<string, TensorData>(), 0) : Scaled(created);
                    sessions[n] = entry = (created, shifted, eps);
                }
                var (gradients, shiftedParameters, epsilon) = entry;
                var feeds = new Dictionary<string, TensorData>
                {
                    [signature.InputName] = batch,
                    ["labels"] = TensorData.Create(labels.AsSpan(start, n).ToArray(), n),
                };
                float weight = (float)n / images.Count; // the graph's loss is the batch mean
                var at = gradients.Evaluate(feeds);
                Accumulate(gradient, parameters, name => at.Gradients[name].As<float>(), weight);
                if (curvature is null) continue;
                var moved = gradients.Evaluate(feeds, shiftedParameters);
                Accumulate(curvature, parameters, name =>
                {
                    var (g1, g0) = (moved.Gradients[name].As<float>(), at.Gradients[name].As<float>());
                    var d = new float[g1.Length];
                    System.Numerics.Tensors.TensorPrimitives.Subtract(g1, g0, d);
                    return d;
                }, weight / (float)epsilon);
            }
        }
        finally
        {
            foreach (var s in sessions.Values) s.Session.Dispose();
        }
        return (gradient, curvature);
    }

    private static void Accumulate(Dictionary<string, float[]> total, IReadOnlyList<string> names, Func<string, float[]> value, float weight)
    {
        foreach (var name in names)
        {
            var v = value(name);
            var sum = total.TryGetValue(name, out var s) ? s : total[name] = new float[v.Length];
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(v, weight, sum, sum);
        }
    }

    /// <summary>The parameters at (1+ε)θ, with ε.</summary>
    private static (Dictionary<string, TensorData> Parameters, double Epsilon) Scaled(GradientSession session)
    {
        double norm = Math.Sqrt(session.InitialParameters.Values.Sum(t => (double)System.Numerics.Tensors.TensorPrimitives.SumOfSquares(t.As<float>())));
        double epsilon = HessianVectorProduct.DefaultStep(norm, norm);
        var shifted = session.InitialParameters.ToDictionary(p => p.Key, p =>
        {
            var values = p.Value.As<float>();
            var scaled = new float[values.Length];
            System.Numerics.Tensors.TensorPrimitives.Multiply(values, (float)(1 + epsilon), scaled);
            return TensorData.Create(scaled, p.Value.Dims.ToArray());
        }, StringComparer.Ordinal);
        return (shifted, epsilon);
    }

    /// <summary>A gradient session for batches of <paramref name="batch"/> images, the parameters
    /// fed as inputs (so a shifted θ can be fed): the batch is fixed in the graph so its
    /// convolutions can run on ORT's blocked kernels (CPU).</summary>
    private GradientSession Session(Model model, ClassifierSignature signature, IReadOnlyList<string> parameters, int batch)
    {
        var copy = model.Clone();
        var input = copy.Graph.Inputs.First(i => i.Name == signature.InputName);
        if (input.Shape is { Rank: > 0 } shape) input.Shape = new Shape([Dim.Known(batch), .. shape.Dims.Skip(1)]);
        bool cpu = session.Provider == ExecutionProvider.Cpu;
        var graph = GradientBuilder.Build(copy, new GradientOptions
        {
            Trainable = parameters,
            WeightsAsInputs = true,
            BatchNorm = BatchNormMode.RunningStatistics,
            Loss = new SoftmaxCrossEntropyLoss(signature.LogitsName, "labels"),
            KeepModelOutputs = false,
            BlockedConvolutions = cpu,
            ChannelBlock = cpu ? NchwcSupport.BlockSize() : 0,
        });
        return new GradientSession(graph, session);
    }

    /// <summary>
    /// Visits the gradient of the single-image loss ℓ(x_n, y) for every calibration image n and each of
    /// its <paramref name="maxClasses"/> most probable classes y (all classes when the model has no
    /// more), with the weight p_y(x_n) / N: the terms of the Gauss-Newton matrix of the cross-entropy,
    /// G = (1/N) Σ_n Σ_y p_y ∇ℓ_y ∇ℓ_yᵀ (Σ_y p_y (p − e_y)(p − e_y)ᵀ = diag(p) − ppᵀ, the Hessian of
    /// the loss in the logits). One gradient run per (image, class), on batches of one image.
    /// </summary>
    public void ForEachImageClassGradient(Model model, IReadOnlyList<string> parameters, int maxClasses,
        Action<double, IReadOnlyDictionary<string, float[]>> visit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxClasses);
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data.Images);
        var (probabilities, classes) = Probabilities(model, signature);
        int count = data.Images.Count;
        using var single = Session(model, signature, parameters, 1);
        foreach (var (start, _, image) in data.Batches(signature, 1))
        {
            var p = probabilities.AsSpan(start * classes, classes).ToArray();
            foreach (var y in Enumerable.Range(0, classes).OrderByDescending(y => p[y]).ThenBy(y => y).Take(maxClasses))
            {
                var feeds = new Dictionary<string, TensorData> { [signature.InputName] = image, ["labels"] = TensorData.Create(new[] { (long)y }, 1) };
                var at = single.Evaluate(feeds);
                visit(p[y] / count, parameters.ToDictionary(name => name, name => at.Gradients[name].As<float>(), StringComparer.Ordinal));
            }
        }
    }

    /// <summary>The original model's top-1 class for every calibration image.</summary>
    private long[] Predictions(Model model, ClassifierSignature signature)
    {
        var (probabilities, classes) = Probabilities(model, signature);
        var labels = new long[data.Images.Count];
        for (int i = 0; i < labels.Length; i++)
            labels[i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(probabilities.AsSpan(i * classes, classes));
        return labels;
    }

    /// <summary>The original model's class probabilities for every calibration image (row-major
    /// [images, classes]): its output, or the softmax of it when the output is logits.</summary>
    private (float[] Probabilities, int Classes) Probabilities(Model model, ClassifierSignature signature)
    {
        using var inference = InferenceSession.FromModel(model, session);
        float[]? all = null;
        int classes = 0;
        foreach (var (start, n, batch) in data.Batches(signature, batchSize))
        {
            var output = inference.Run(new Dictionary<string, TensorData> { [signature.InputName] = batch }, [signature.OutputName])[signature.OutputName];
            var scores = output.As<float>();
            classes = (int)output.Dims[^1];
            all ??= new float[data.Images.Count * classes];
            for (int i = 0; i < n; i++)
            {
                var row = scores.AsSpan(i * classes, classes);
                var destination = all.AsSpan((start + i) * classes, classes);
                if (signature.OutputIsProbabilities) row.CopyTo(destination);
                else System.Numerics.Tensors.TensorPrimitives.SoftMax(row, destination);
            }
        }
        return (all ?? [], classes);
    }
}
