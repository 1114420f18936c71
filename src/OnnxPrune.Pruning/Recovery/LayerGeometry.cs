using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>
/// How a pruned layer turns rows of its input into rows of its output, as the refit sees it: a
/// 2-D Conv reads one patch (in-group channels × kernel) per output position and group; a Gemm or
/// MatMul reads one feature vector per row. Knows where the layer's weights (and bias) sit so the
/// solution can be written back.
/// </summary>
internal sealed class LayerGeometry
{
    public required Node Node { get; init; }
    public required bool IsConv { get; init; }
    public int Groups { get; init; } = 1;
    public int KernelH { get; init; } = 1;
    public int KernelW { get; init; } = 1;
    public int StrideH { get; init; } = 1;
    public int StrideW { get; init; } = 1;
    public int PadTop { get; init; }
    public int PadLeft { get; init; }
    public int DilationH { get; init; } = 1;
    public int DilationW { get; init; } = 1;
    /// <summary>Input channels (or features) per group in the pruned layer.</summary>
    public required int InputsPerGroup { get; init; }
    /// <summary>Output channels (or features) in the pruned layer.</summary>
    public required int Outputs { get; init; }
    /// <summary>Gemm with transB: the weight is [N, K].</summary>
    public bool TransposedWeight { get; init; }
    /// <summary>Y = Alpha · A·W + Beta · C (Gemm); 1 elsewhere.</summary>
    public float Alpha { get; init; } = 1;
    public float Beta { get; init; } = 1;
    /// <summary>The layer has a bias with one entry per output, which the refit solves for too.</summary>
    public bool HasBias { get; init; }

    public int OutputsPerGroup => Outputs / Groups;
    public int WeightColumns => InputsPerGroup * KernelH * KernelW;
    public int Columns => WeightColumns + (HasBias ? 1 : 0);

    /// <summary>The geometry of <paramref name="node"/> in the pruned model, or why it cannot be refit.</summary>
    public static (LayerGeometry? Geometry, string? Why) Of(Node node)
    {
        var weight = ConstantOf(node.Input(1));
        if (weight is null || weight.DataType != DataType.Float) return (null, "its weights are not a float constant");
        var biasValue = node.OpType is "Conv" or "Gemm" ? node.Input(2) : null;
        var bias = ConstantOf(biasValue);
        if (biasValue is not null && (bias is null || bias.DataType != DataType.Float)) return (null, "its bias is not a float constant");
        if (node.OpType == "Conv")
        {
            if (weight.Dims.Length != 4) return (null, "only 2-D convolutions are refit");
            var autoPad = node.Attributes.GetString("auto_pad", "NOTSET");
            if (autoPad is not ("NOTSET" or "VALID")) return (null, $"auto_pad {autoPad} is not refit");
            var pads = node.Attributes.GetInts("pads") ?? [0, 0, 0, 0];
            var strides = node.Attributes.GetInts("strides") ?? [1, 1];
            var dilations = node.Attributes.GetInts("dilations") ?? [1, 1];
            int groups = (int)node.Attributes.GetInt("group", 1);
            return (new LayerGeometry
            {
                Node = node, IsConv = true, Groups = groups,
                KernelH = (int)weight.Dims[2], KernelW = (int)weight.Dims[3],
                StrideH = (int)strides[0], StrideW = (int)strides[1], PadTop = (int)pads[0], PadLeft = (int)pads[1],
                DilationH = (int)dilations[0], DilationW = (int)dilations[1],
                InputsPerGroup = (int)weight.Dims[1], Outputs = (int)weight.Dims[0],
                HasBias = bias is not null,
            }, null);
        }
        if (weight.Dims.Length != 2) return (null, "its weight is not a matrix");
        bool transB = node.OpType == "Gemm" && node.Attributes.GetInt("transB", 0) != 0;
        int k = (int)weight.Dims[transB ? 1 : 0], n = (int)weight.Dims[transB ? 0 : 1];
        float alpha = node.OpType == "Gemm" ? node.Attributes.GetFloat("alpha", 1) : 1;
        float beta = node.OpType == "Gemm" ? node.Attributes.GetFloat("beta", 1) : 1;
        if (alpha == 0) return (null, "its alpha is 0");
        return (new LayerGeometry
        {
            Node = node, IsConv = false, InputsPerGroup = k, Outputs = n, TransposedWeight = transB, Alpha = alpha, Beta = beta,
            HasBias = bias is not null && bias.ElementCount == n && beta != 0,
        }, null);
    }

    /// <summary>Output positions per sample: H_out·W_out for a Conv, the rows in front of the features for a Gemm/MatMul.</summary>
    public static long PositionsPerSample(IReadOnlyList<long> outputDims, bool isConv)
    {
        long p = 1;
        for (int i = isConv ? 2 : 1; i < outputDims.Count - (isConv ? 0 : 1); i++) p *= outputDims[i];
        return p;
    }

    /// <summary>
    /// Writes the input row of position <paramref name="position"/> of sample <paramref name="sample"/>,
    /// group <paramref name="group"/>, as row <paramref name="row"/> of a column-major matrix with
    /// <paramref name="rows"/> rows (zero outside the input: the padding), with 1 in the bias column.
    /// </summary>
    public void FillRow(float[] input, IReadOnlyList<long> inputDims, IReadOnlyList<long> outputDims, int sample, long position, int group,
        float[] matrix, int row, int rows)
    {
        if (!IsConv)
        {
            int features = (int)inputDims[^1];
            long rowsPerSample = 1;
            for (int i = 1; i < inputDims.Count - 1; i++) rowsPerSample *= inputDims[i];
            long offset = (sample * rowsPerSample + position) * features;
            for (int f = 0; f < features; f++) matrix[f * rows + row] = input[offset + f];
        }
        else
        {
            int channels = (int)inputDims[1], height = (int)inputDims[2], width = (int)inputDims[3];
            int outWidth = (int)outputDims[3];
            int oh = (int)(position / outWidth), ow = (int)(position % outWidth);
            int col = 0;
            for (int c = 0; c < InputsPerGroup; c++)
            {
                long plane = ((long)sample * channels + group * InputsPerGroup + c) * height * width;
                for (int kh = 0; kh < KernelH; kh++)
                {
                    int y = oh * StrideH - PadTop + kh * DilationH;
                    for (int kw = 0; kw < KernelW; kw++, col++)
                    {
                        int x = ow * StrideW - PadLeft + kw * DilationW;
                        matrix[col * rows + row] = y >= 0 && y < height && x >= 0 && x < width ? input[plane + (long)y * width + x] : 0;
                    }
                }
            }
        }
        if (HasBias) matrix[WeightColumns * rows + row] = 1;
    }

    /// <summary>Current weights of group <paramref name="group"/> as a Columns × OutputsPerGroup matrix (column-major
    /// by output), in the units the refit solves in (alpha and beta applied).</summary>
    public double[,] CurrentSolution(int group)
    {
        var w = ConstantOf(Node.Input(1))!.ToFloatArray();
        var b = HasBias ? ConstantOf(Node.Input(2))!.ToFloatArray() : null;
        var s = new double[Columns, OutputsPerGroup];
        for (int o = 0; o < OutputsPerGroup; o++)
        {
            int output = group * OutputsPerGroup + o;
            for (int c = 0; c < WeightColumns; c++) s[c, o] = Alpha * w[WeightIndex(output, c)];
            if (b is not null) s[WeightColumns, o] = Beta * b[output];
        }
        return s;
    }

    /// <summary>Writes the solution of every group into new initializers for the layer's weight and bias.</summary>
    public void Write(Graph graph, IReadOnlyList<double[,]> solutions)
    {
        var weightTensor = ConstantOf(Node.Input(1))!;
        var w = weightTensor.ToFloatArray();
        var b = HasBias ? ConstantOf(Node.Input(2))!.ToFloatArray() : null;
        for (int g = 0; g < Groups; g++)
            for (int o = 0; o < OutputsPerGroup; o++)
            {
                int output = g * OutputsPerGroup + o;
                for (int c = 0; c < WeightColumns; c++) w[WeightIndex(output, c)] = (float)(solutions[g][c, o] / Alpha);
                if (b is not null) b[output] = (float)(solutions[g][WeightColumns, o] / Beta);
            }
        Node.SetInput(1, graph.AddInitializer(Node.Input(1)!.Name + "_refit", DenseTensor.FromFloats(weightTensor.Dims, w)));
        if (b is not null) Node.SetInput(2, graph.AddInitializer(Node.Input(2)!.Name + "_refit", DenseTensor.FromFloats(ConstantOf(Node.Input(2))!.Dims, b)));
    }

    private int WeightIndex(int output, int column) =>
        !IsConv ? (TransposedWeight ? output * InputsPerGroup + column : column * Outputs + output)
                : output * WeightColumns + column;

    private static Tensor? ConstantOf(Value? v) =>
        v is null ? null : v.Producer is { } p ? OpFacts.ConstantTensor(p) : v.IsGraphInput ? null : v.ConstValue;
}
