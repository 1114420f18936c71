using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff;

/// <summary>Appends the loss of <see cref="GradientOptions.Loss"/> to the forward graph.</summary>
internal static class LossBuilder
{
    /// <returns>The scalar loss and the graph inputs the loss added (labels, target, teacher logits).</returns>
    public static (Value Loss, IReadOnlyList<string> AddedInputs) Append(GradientContext ctx, Loss loss, IReadOnlyDictionary<string, Value> values)
    {
        ctx.Scope = "loss";
        var graph = ctx.Graph;
        switch (loss)
        {
            case SoftmaxCrossEntropyLoss ce:
            {
                var logits = Find(graph, values, ce.Logits, "logits");
                var logitsShape = ctx.ShapeOf(logits);
                if (logitsShape is { Rank: < 2 }) throw new GradientException($"softmax cross-entropy needs logits of rank 2 or more; '{logits.Name}' has shape {logitsShape}");
                var labelDims = logitsShape?.Dims.Where((_, i) => i != 1).Select(d => d.IsKnown || d.Symbol is not null ? d : Dim.Unknown);
                var labels = NewInput(ctx, ce.LabelsInput, DataType.Int64, labelDims is null ? null : new Shape(labelDims));
                var names = new[] { ctx.FreshName("loss"), ctx.FreshName("loss/log_prob") };
                var node = graph.AddNode(new Node("", "SoftmaxCrossEntropyLoss", [logits, labels], names,
                    [Attribute.String("reduction", "mean")], "loss"));
                foreach (var o in node.Outputs) o.ElementType = ctx.TypeOf(logits);
                return (node.Outputs[0], [labels.Name]);
            }
            case DistillationLoss kd:
                return AppendDistillation(ctx, kd, values);
            case MeanSquaredErrorLoss mse:
            {
                var output = Find(graph, values, mse.Output, "output");
                var target = NewInput(ctx, mse.TargetInput, ctx.TypeOf(output), ctx.ShapeOf(output));
                var difference = ctx.Sub(output, target);
                var value = ctx.Op("ReduceMean", [ctx.Mul(difference, difference)], Attribute.Int("keepdims", 0));
                value.Name = ctx.FreshName("loss");
                return (value, [target.Name]);
            }
            case ExistingLoss existing:
            {
                var value = Find(graph, values, existing.Value, "loss");
                if (!GradientContext.IsFloating(ctx.TypeOf(value)))
                    throw new GradientException($"the loss '{value.Name}' is not a floating-point value");
                if (ctx.ShapeOf(value)?.ElementCount() is { } count && count != 1)
                    throw new GradientException($"the loss '{value.Name}' must be a scalar; it has shape {ctx.ShapeOf(value)}");
                return (value, []);
            }
            default:
                throw new GradientException($"unknown loss {loss.GetType().Name}");
        }
    }

    /// <summary>
    /// (1 − w)·CE + w·T²·mean_n Σ_k p·(log p − log q), p = softmax(teacher/T), q = softmax(logits/T),
    /// log-probabilities from LogSoftmax (finite for finite logits, so p = 0 never meets log 0).
    /// </summary>
    private static (Value Loss, IReadOnlyList<string> AddedInputs) AppendDistillation(GradientContext ctx, DistillationLoss kd, IReadOnlyDictionary<string, Value> values)
    {
        if (!(kd.Temperature > 0) || !double.IsFinite(kd.Temperature)) throw new GradientException($"the distillation temperature must be a positive number, got {kd.Temperature}");
        if (!(kd.Weight >= 0 && kd.Weight <= 1)) throw new GradientException($"the distillation weight must be in [0, 1], got {kd.Weight}");
        var (crossEntropy, labels) = Append(ctx, new SoftmaxCrossEntropyLoss(kd.Logits, kd.LabelsInput), values);
        var logits = Find(ctx.Graph, values, kd.Logits, "logits");
        var shape = ctx.ShapeOf(logits);
        if (shape is not { Rank: 2 }) throw new GradientException($"distillation needs logits of shape [N, classes]; '{logits.Name}' has shape {shape?.ToString() ?? "unknown"}");
        ctx.Scope = "loss/distill";
        var teacher = NewInput(ctx, kd.TeacherLogitsInput, ctx.TypeOf(logits), shape);
        double inverse = 1 / kd.Temperature;
        var teacherLog = ctx.Op("LogSoftmax", [ctx.Scale(teacher, inverse)], Attribute.Int("axis", 1));
        var studentLog = ctx.Op("LogSoftmax", [ctx.Scale(logits, inverse)], Attribute.Int("axis", 1));
        var perClass = ctx.Mul(ctx.Op("Exp", [teacherLog]), ctx.Sub(teacherLog, studentLog));
        var divergence = ctx.ReduceMean(ctx.ReduceSum(perClass, [1], keepDims: false), [0], keepDims: false);
        var loss = ctx.Add(ctx.Scale(crossEntropy, 1 - kd.Weight), ctx.Scale(divergence, kd.Weight * kd.Temperature * kd.Temperature));
        loss.Name = ctx.FreshName("loss");
        ctx.Scope = "loss";
        return (loss, [.. labels, teacher.Name]);
    }

    private static Value Find(Graph graph, IReadOnlyDictionary<string, Value> values, string? name, string what)
    {
        if (name is null)
            return graph.Outputs.Count > 0 ? graph.Outputs[0] : throw new GradientException($"the model has no output to use as the {what}");
        return values.TryGetValue(name, out var v) ? v : throw new GradientException($"the model has no value named '{name}' (the {what})");
    }

    private static Value NewInput(GradientContext ctx, string name, DataType type, Shape? shape)
    {
        if (!ctx.TryClaimName(name))
            throw new GradientException($"the loss needs a new input named '{name}', but the model already has a value of that name");
        var input = new Value(name, type, shape);
        ctx.Graph.AddInput(input);
        return input;
    }
}
