using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Onnx;

namespace OnnxPrune.Autodiff;

/// <summary>
/// Turns an inference model into a training graph: the forward pass, a loss and the gradient of
/// the loss with respect to every trainable initializer (and requested intermediate values), in
/// standard ONNX ops. Gradients come from the rule table (<see cref="SupportedOps"/>) applied by
/// one reverse walk; see <see cref="GradientOptions"/> for the choices.
/// </summary>
internal static class GradientBuilder
{
    /// <summary>Operator types (default domain) that have a gradient rule.</summary>
    public static IReadOnlyCollection<string> SupportedOps => GradientRules.Table.Keys;

    /// <summary>
    /// Builds the training graph. The input model is not modified (it is copied through its
    /// serialized form). Cost: one serialization round trip plus O(nodes) graph work.
    /// </summary>
    /// <exception cref="NoGradientRuleException">An op on a path from a parameter to the loss has no rule.</exception>
    /// <exception cref="GradientException">The model or the options cannot be trained as asked
    /// (opset below 7, unknown names, shapes a rule needs static, unsupported attributes).</exception>
    public static TrainingGraph Build(Model model, GradientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= GradientOptions.Default;
        long opset = model.DefaultOpset;
        if (opset == 0) throw new GradientException("the model does not import the default ONNX opset");
        if (opset < OpsetUpgrade.MinimumSupported)
            throw new GradientException($"the model uses opset {opset}; training graphs support opset {OpsetUpgrade.MinimumSupported} or newer");

        var copy = model.Clone();
        long target = Math.Max(Math.Max(opset, options.MinimumOpset), 16); // ScatterElements reduction, Shape start/end
        copy.OpsetImports[copy.OpsetImports.ContainsKey("") ? "" : "ai.onnx"] = target;
        copy.IrVersion = Math.Max(copy.IrVersion, 8);
        var graph = copy.Graph;
        var ctx = new GradientContext(graph, target, options);
        OpsetUpgrade.Run(ctx, opset);
        var dataInputs = graph.Inputs.Where(i => !graph.Initializers.ContainsKey(i.Name)).Select(i => i.Name).ToList();

        var parameters = MakeParameters(ctx, options);
        ctx.InferShapes();
        TrainingLowering.MaxPoolIndices(ctx);
        var lowered = new Dictionary<Node, GradNode>(ReferenceEqualityComparer.Instance);
        var statistics = new List<BatchNormStatistics>();
        if (options.BatchNorm == BatchNormMode.BatchStatistics) TrainingLowering.BatchNormalization(ctx, lowered, statistics);
        graph.SortTopologically();
        ctx.InferShapes(); // the loss reads the lowered outputs' shapes
        var modelOutputs = graph.Outputs.ToList(); // after lowering replaced some of them
        var (loss, addedInputs) = LossBuilder.Append(ctx, options.Loss, ValuesByName(graph));
        graph.SortTopologically();
        ctx.InferShapes();

        var requested = RequestedValues(ctx, options.ValueGradients);
        var sources = parameters.Select(p => p.Value).Concat(requested).Distinct<Value>(ReferenceEqualityComparer.Instance).ToList();
        var gradients = GradientDriver.Run(ctx, loss, sources, lowered);

        var result = SetOutputs(ctx, loss, options.KeepModelOutputs ? modelOutputs : [], parameters, requested, gradients, statistics);
        new EliminateDeadCode().Run(copy);
        Verifier.Verify(graph);
        dataInputs.RemoveAll(n => parameters.Any(p => p.Name == n));
        dataInputs.AddRange(addedInputs);
        return new TrainingGraph(copy, loss.Name, result.Parameters, dataInputs, result.ModelOutputs, result.ValueGradients,
            statistics, options.WeightsAsInputs, options.BlockedConvolutions);
    }

    /// <summary>Selects the trainable initializers and, with
    /// <see cref="GradientOptions.WeightsAsInputs"/>, turns each into a graph input of the same name.</summary>
    private static List<(Value Value, string Name, Tensor Initial)> MakeParameters(GradientContext ctx, GradientOptions options)
    {
        var graph = ctx.Graph;
        PromoteConstantWeights(ctx, options.Trainable);
        var parameters = new List<(Value Value, string Name, Tensor Initial)>();
        foreach (var init in SelectTrainable(graph, options.Trainable))
        {
            var initial = init.ConstValue!;
            Value parameter = init;
            if (options.WeightsAsInputs)
            {
                parameter = new Value(init.Name, initial.DataType, initial.Shape);
                init.ReplaceAllUsesWith(parameter);
                if (graph.Inputs.Contains(init)) graph.RemoveInput(init);
                graph.RemoveInitializer(init);
                graph.AddInput(parameter);
            }
            parameters.Add((parameter, init.Name, initial));
        }
        return parameters;
    }

    private static List<Value> RequestedValues(GradientContext ctx, IReadOnlyList<string> names)
    {
        var values = ValuesByName(ctx.Graph);
        var requested = new List<Value>();
        foreach (var name in names)
        {
            if (!values.TryGetValue(name, out var v)) throw new GradientException($"the model has no value named '{name}' to take the gradient of");
            if (!GradientContext.IsFloating(ctx.TypeOf(v))) throw new GradientException($"'{name}' is not a floating-point value; it has no gradient");
            requested.Add(v);
        }
        return requested;
    }

    /// <summary>Outputs in order: loss, model outputs, parameter gradients, value gradients,
    /// batch statistics (mean, variance per BatchNormalization).</summary>
    private static (List<TrainableParameter> Parameters, List<string> ModelOutputs, Dictionary<string, string> ValueGradients) SetOutputs(
        GradientContext ctx, Value loss, IReadOnlyList<Value> modelOutputs, List<(Value Value, string Name, Tensor Initial)> parameters,
        List<Value> requested, Dictionary<Value, Value> gradients, List<BatchNormStatistics> statistics)
    {
        var graph = ctx.Graph;
        ctx.Scope = "grad/out";
        graph.ClearOutputs();
        if (loss.ElementType == DataType.Undefined) loss.ElementType = ctx.TypeOf(loss);
        graph.AddOutput(loss);
        var kept = new List<string>();
        foreach (var o in modelOutputs)
        {
            if (graph.Outputs.Contains(o)) continue;
            graph.AddOutput(o);
            kept.Add(o.Name);
        }
        var named = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        var trainable = new List<TrainableParameter>();
        foreach (var (value, name, initial) in parameters)
        {
            var output = NameGradient(ctx, gradients.GetValueOrDefault(value), value, $"grad/{name}", named, initial.Dims);
            trainable.Add(new TrainableParameter(name, output.Name, initial));
        }
        var valueGradients = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in requested)
        {
            if (valueGradients.ContainsKey(v.Name)) continue;
            var output = NameGradient(ctx, gradients.GetValueOrDefault(v), v, $"grad/{v.Name}", named, null);
            valueGradients[v.Name] = output.Name;
        }
        if (statistics.Count > 0)
        {
            var values = ValuesByName(graph);
            foreach (var s in statistics)
            {
                graph.AddOutput(values[s.BatchMeanOutput]);
                graph.AddOutput(values[s.BatchVarianceOutput]);
            }
        }
        return (trainable, kept, valueGradients);
    }

    /// <summary>Makes <paramref name="gradient"/> a graph output called <paramref name="name"/>
    /// (renaming a value the builder emitted, else through an Identity); zeros when the loss does
    /// not depend on <paramref name="of"/>.</summary>
    private static Value NameGradient(GradientContext ctx, Value? gradient, Value of, string name, HashSet<Value> named, long[]? dims)
    {
        var graph = ctx.Graph;
        Value output;
        if (gradient is null)
        {
            output = ctx.ZerosLike(of);
            output.Name = ctx.FreshName(name);
        }
        else if (gradient.Producer is { } producer && ReferenceEquals(producer.Graph, graph) && producer.Name.StartsWith("grad/", StringComparison.Ordinal)
                 && !named.Contains(gradient) && !gradient.IsGraphOutput)
        {
            gradient.Name = ctx.FreshName(name);
            output = gradient;
        }
        else
        {
            output = ctx.Op("Identity", [gradient]);
            output.Name = ctx.FreshName(name);
        }
        named.Add(output);
        output.ElementType = ctx.TypeOf(of);
        if (dims is not null) output.Shape = new Shape(dims);
        graph.AddOutput(output);
        return output;
    }

    /// <summary>Every value of the graph by name: inputs, initializers, node outputs.</summary>
    private static Dictionary<string, Value> ValuesByName(Graph graph)
    {
        var map = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var v in graph.InitializersInOrder()) map[v.Name] = v;
        foreach (var v in graph.Inputs) map[v.Name] = v;
        foreach (var n in graph.Nodes)
            foreach (var o in n.Outputs)
                if (o.Name.Length > 0) map[o.Name] = o;
        return map;
    }

    /// <summary>Input positions that hold trainable weights: the layers' parameters and, for exports
    /// that write normalisation as arithmetic, Add/Mul operands (see <see cref="IsWeight"/>).</summary>
    private static IEnumerable<int> WeightSlots(Node node) => OpFacts.ParameterSlots(node).Concat(OpFacts.AffineOperandSlots(node));

    private static bool IsWeight(Node node, Tensor data) =>
        DataTypes.IsFloatingPoint(data.DataType) && (node.OpType is not ("Add" or "Mul") || data.ElementCount > 1);

    /// <summary>Constant nodes holding weights (in the default selection's positions, or named
    /// in an explicit selection) become initializers of the same name.</summary>
    private static void PromoteConstantWeights(GradientContext ctx, IReadOnlyList<string>? explicitNames)
    {
        var graph = ctx.Graph;
        var wanted = explicitNames is null ? null : new HashSet<string>(explicitNames, StringComparer.Ordinal);
        var constants = new List<Node>();
        foreach (var node in graph.Nodes)
        {
            if (OpFacts.ConstantTensor(node) is not { } data) continue;
            var output = node.Outputs[0];
            if (output.IsGraphOutput) continue;
            bool take = wanted is not null
                ? wanted.Contains(output.Name)
                : output.Uses.Any(u => WeightSlots(u.Node).Contains(u.InputIndex) && IsWeight(u.Node, data));
            if (take && DataTypes.IsFloatingPoint(data.DataType)) constants.Add(node);
        }
        foreach (var node in constants) graph.PromoteConstant(node);
    }

    private static List<Value> SelectTrainable(Graph graph, IReadOnlyList<string>? explicitNames)
    {
        if (explicitNames is not null)
        {
            var list = new List<Value>();
            foreach (var name in explicitNames.Distinct())
            {
                if (!graph.Initializers.TryGetValue(name, out var v))
                    throw new GradientException($"'{name}' is not an initializer of the model, so it cannot be trained");
                if (!DataTypes.IsFloatingPoint(v.ConstValue!.DataType))
                    throw new GradientException($"initializer '{name}' is {DataTypes.Name(v.ConstValue.DataType)}, not floating point, so it cannot be trained");
                list.Add(v);
            }
            return list;
        }
        var chosen = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Nodes)
        {
            foreach (var slot in WeightSlots(node))
            {
                if (node.Input(slot) is { IsInitializer: true } v && IsWeight(node, v.ConstValue!)) chosen.Add(v);
            }
        }
        return graph.InitializersInOrder().Where(chosen.Contains).ToList();
    }
}
