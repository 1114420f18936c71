namespace OnnxPrune.IR.ShapeInference;

/// <summary>
/// Evaluation of data-movement and arithmetic ops on small constant tensors, for constant
/// propagation during shape inference. Every function returns null instead of a tensor larger
/// than the given element limit or when its operands do not fit together.
/// </summary>
internal static class ConstOps
{
    /// <summary>A tensor of <paramref name="outDims"/> whose element k is element
    /// <paramref name="source"/>[k] of <paramref name="data"/>.</summary>
    public static ConstTensor Pick(ConstTensor data, long[] outDims, int[] source)
    {
        if (data.Ints is { } ints)
        {
            var v = new long[source.Length];
            for (int k = 0; k < v.Length; k++) v[k] = ints[source[k]];
            return ConstTensor.FromInts(data.Type, outDims, v);
        }
        var r = new double[source.Length];
        for (int k = 0; k < r.Length; k++) r[k] = data.Reals![source[k]];
        return ConstTensor.FromReals(data.Type, outDims, r);
    }

    /// <summary>For each element of a tensor of <paramref name="outDims"/> (row-major), the flat
    /// offset <paramref name="offsetOf"/> gives for its multi-index. Null above the limit.</summary>
    public static int[]? MapIndices(long[] outDims, int max, Func<long[], long> offsetOf)
    {
        long count;
        try { count = ShapeMath.ElementCount(outDims); }
        catch (OverflowException) { return null; }
        if (count > max || count < 0) return null;
        var result = new int[count];
        var idx = new long[outDims.Length];
        for (long k = 0; k < count; k++)
        {
            result[k] = checked((int)offsetOf(idx));
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < outDims[d]) break;
                idx[d] = 0;
            }
        }
        return result;
    }

    /// <summary>Numpy broadcasting of several operands: the output dims and, per operand, the
    /// flat offset read for each output element. Null when dims do not broadcast or the output
    /// is above the limit.</summary>
    public static (long[] Dims, int[][] Offsets)? BroadcastOffsets(IReadOnlyList<long[]> operands, int max)
    {
        int rank = operands.Max(o => o.Length);
        var outDims = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long d = 1;
            foreach (var o in operands)
            {
                int j = i - (rank - o.Length);
                if (j < 0) continue;
                var v = o[j];
                if (v == 1) continue;
                if (d != 1 && d != v) return null;
                d = v;
            }
            // A zero-size dim broadcasts only against 1 or 0.
            outDims[i] = operands.Any(o => i - (rank - o.Length) >= 0 && o[i - (rank - o.Length)] == 0) ? 0 : d;
        }
        var offsets = new int[operands.Count][];
        for (int k = 0; k < operands.Count; k++)
        {
            var dims = operands[k];
            var strides = ShapeMath.Strides(dims);
            int shift = rank - dims.Length;
            var map = MapIndices(outDims, max, idx =>
            {
                long off = 0;
                for (int j = 0; j < dims.Length; j++)
                    if (dims[j] != 1) off += idx[j + shift] * strides[j];
                return off;
            });
            if (map is null) return null;
            offsets[k] = map;
        }
        return (outDims, offsets);
    }

    public static ConstTensor? Gather(ConstTensor data, ConstTensor indices, int axis, int max)
    {
        if (indices.Ints is not { } idx || axis >= data.Rank) return null;
        long axisDim = data.Dims[axis];
        var fixedIdx = new long[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            var v = idx[i] < 0 ? idx[i] + axisDim : idx[i];
            if (v < 0 || v >= axisDim) return null;
            fixedIdx[i] = v;
        }
        var outDims = data.Dims.Take(axis).Concat(indices.Dims).Concat(data.Dims.Skip(axis + 1)).ToArray();
        var strides = ShapeMath.Strides(data.Dims);
        var idxStrides = ShapeMath.Strides(indices.Dims);
        int ir = indices.Rank;
        var map = MapIndices(outDims, max, o =>
        {
            long off = 0;
            for (int j = 0; j < axis; j++) off += o[j] * strides[j];
            long flat = 0;
            for (int j = 0; j < ir; j++) flat += o[axis + j] * idxStrides[j];
            off += fixedIdx[flat] * strides[axis];
            for (int j = axis + 1; j < data.Rank; j++) off += o[j - 1 + ir] * strides[j];
            return off;
        });
        return map is null ? null : Pick(data, outDims, map);
    }

    /// <summary>Strided slice: along each axis, <paramref name="count"/> elements from
    /// <paramref name="first"/> by <paramref name="step"/>.</summary>
    public static ConstTensor? Slice(ConstTensor data, long[] first, long[] step, long[] count, int max)
    {
        var strides = ShapeMath.Strides(data.Dims);
        var map = MapIndices(count, max, o =>
        {
            long off = 0;
            for (int j = 0; j < o.Length; j++) off += (first[j] + o[j] * step[j]) * strides[j];
            return off;
        });
        return map is null ? null : Pick(data, count, map);
    }

    public static ConstTensor? Transpose(ConstTensor data, int[] perm, int max)
    {
        var outDims = perm.Select(p => data.Dims[p]).ToArray();
        var strides = ShapeMath.Strides(data.Dims);
        var map = MapIndices(outDims, max, o =>
        {
            long off = 0;
            for (int j = 0; j < o.Length; j++) off += o[j] * strides[perm[j]];
            return off;
        });
        return map is null ? null : Pick(data, outDims, map);
    }

    public static ConstTensor? Concat(IReadOnlyList<ConstTensor> parts, int axis, int max)
    {
        var first = parts[0];
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank || p.Type != first.Type) return null;
            for (int j = 0; j < p.Rank; j++)
                if (j != axis && p.Dims[j] != first.Dims[j]) return null;
        }
        var outDims = (long[])first.Dims.Clone();
        outDims[axis] = parts.Sum(p => p.Dims[axis]);
        if (ShapeMath.ElementCount(outDims) > max) return null;
        long outer = ShapeMath.ElementCount(first.Dims.Take(axis).ToArray());
        long inner = ShapeMath.ElementCount(first.Dims.Skip(axis + 1).ToArray());
        if (first.Ints is not null)
        {
            var v = new List<long>();
            for (long o = 0; o < outer; o++)
                foreach (var p in parts)
                {
                    long chunk = p.Dims[axis] * inner;
                    for (long k = 0; k < chunk; k++) v.Add(p.Ints![o * chunk + k]);
                }
            return ConstTensor.FromInts(first.Type, outDims, v.ToArray());
        }
        var r = new List<double>();
        for (long o = 0; o < outer; o++)
            foreach (var p in parts)
            {
                long chunk = p.Dims[axis] * inner;
                for (long k = 0; k < chunk; k++) r.Add(p.Reals![o * chunk + k]);
            }
        return ConstTensor.FromReals(first.Type, outDims, r.ToArray());
    }

    /// <summary>Broadcasts <paramref name="data"/> to <paramref name="target"/> dims (Expand).</summary>
    public static ConstTensor? Expand(ConstTensor data, long[] target, int max)
    {
        var b = BroadcastOffsets(new[] { data.Dims, target }, max);
        return b is null ? null : Pick(data, b.Value.Dims, b.Value.Offsets[0]);
    }

    public static ConstTensor? Tile(ConstTensor data, long[] repeats, int max)
    {
        if (repeats.Length != data.Rank || repeats.Any(r => r < 0)) return null;
        var outDims = data.Dims.Select((d, i) => d * repeats[i]).ToArray();
        var strides = ShapeMath.Strides(data.Dims);
        var map = MapIndices(outDims, max, o =>
        {
            long off = 0;
            for (int j = 0; j < o.Length; j++) off += (o[j] % data.Dims[j]) * strides[j];
            return off;
        });
        return map is null ? null : Pick(data, outDims, map);
    }

    public enum ReduceKind { Sum, Prod, Min, Max, Mean }

    /// <summary>Reduces over <paramref name="axes"/> (distinct, normalized). Empty axes reduce
    /// everything.</summary>
    public static ConstTensor? Reduce(ConstTensor data, int[] axes, bool keepDims, ReduceKind kind, int max)
    {
        if (axes.Length == 0) axes = Enumerable.Range(0, data.Rank).ToArray();
        var reduced = new bool[data.Rank];
        foreach (var a in axes) reduced[a] = true;
        var keptDims = data.Dims.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        long outCount = ShapeMath.ElementCount(keptDims);
        if (outCount > max) return null;
        if (kind is ReduceKind.Min or ReduceKind.Max && data.Count == 0) return null;
        var outStrides = ShapeMath.Strides(keptDims);
        bool integral = data.Ints is not null;
        var acc = new double[outCount];
        var accI = new long[outCount];
        var seen = new bool[outCount];
        var idx = new long[data.Rank];
        for (int k = 0; k < data.Count; k++)
        {
            long o = 0;
            for (int j = 0; j < data.Rank; j++) if (!reduced[j]) o += idx[j] * outStrides[j];
            if (integral)
            {
                long v = data.Ints![k];
                accI[o] = !seen[o] ? v : kind switch
                {
                    ReduceKind.Sum or ReduceKind.Mean => accI[o] + v,
                    ReduceKind.Prod => accI[o] * v,
                    ReduceKind.Min => Math.Min(accI[o], v),
                    _ => Math.Max(accI[o], v),
                };
            }
            else
            {
                double v = data.Reals![k];
                acc[o] = !seen[o] ? v : kind switch
                {
                    ReduceKind.Sum or ReduceKind.Mean => acc[o] + v,
                    ReduceKind.Prod => acc[o] * v,
                    ReduceKind.Min => Math.Min(acc[o], v),
                    _ => Math.Max(acc[o], v),
                };
            }
            seen[o] = true;
            for (int d = data.Rank - 1; d >= 0; d--)
            {
                if (++idx[d] < data.Dims[d]) break;
                idx[d] = 0;
            }
        }
        // Reducing an empty axis gives the identity of the operation.
        for (int o = 0; o < outCount; o++)
            if (!seen[o])
            {
                accI[o] = kind == ReduceKind.Prod ? 1 : 0;
                acc[o] = kind == ReduceKind.Prod ? 1 : 0;
            }
        long group = data.Count == 0 ? 0 : data.Count / Math.Max(outCount, 1);
        var outDims = keepDims ? keptDims : data.Dims.Where((d, i) => !reduced[i]).ToArray();
        if (integral)
        {
            if (kind == ReduceKind.Mean)
            {
                if (group == 0) return null;
                for (int o = 0; o < outCount; o++) accI[o] /= group;
            }
            return ConstTensor.FromInts(data.Type, outDims, accI);
        }
        if (kind == ReduceKind.Mean)
            for (int o = 0; o < outCount; o++) acc[o] = group == 0 ? double.NaN : acc[o] / group;
        return ConstTensor.FromReals(data.Type, outDims, acc);
    }
}
