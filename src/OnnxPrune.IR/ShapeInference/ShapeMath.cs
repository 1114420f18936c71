namespace OnnxPrune.IR.ShapeInference;

/// <summary>Arithmetic on dims and shapes that several rules share. Every helper answers
/// "unknown" (null or <see cref="Dim.Unknown"/>) rather than throwing on inputs that no valid
/// model has.</summary>
internal static class ShapeMath
{
    /// <summary>A shape of <paramref name="rank"/> dims none of which is known.</summary>
    public static Shape UnknownDims(int rank) => new(Enumerable.Repeat(Dim.Unknown, rank));

    /// <summary>Normalizes an axis in [-rank, rank-1] to [0, rank-1]; null when out of range.</summary>
    public static int? Axis(long axis, int rank)
    {
        if (axis < -rank || axis >= rank) return null;
        return (int)(axis < 0 ? axis + rank : axis);
    }

    /// <summary>Normalizes a list of axes; null when any is out of range or two are equal.</summary>
    public static int[]? Axes(IReadOnlyList<long> axes, int rank)
    {
        var result = new int[axes.Count];
        for (int i = 0; i < result.Length; i++)
        {
            if (Axis(axes[i], rank) is not { } a) return null;
            result[i] = a;
        }
        return result.Distinct().Count() == result.Length ? result : null;
    }

    /// <summary>Product of dims: known when all are known; a lone non-known dim times known 1s
    /// keeps that dim (a symbolic batch survives Flatten); otherwise unknown.</summary>
    public static Dim Product(IEnumerable<Dim> dims)
    {
        long known = 1;
        Dim? other = null;
        int others = 0;
        foreach (var d in dims)
        {
            if (d.IsKnown) known = checked(known * d.Value!.Value);
            else { other = d; others++; }
        }
        if (others == 0) return Dim.Known(known);
        if (others == 1 && known == 1) return other!.Value;
        return Dim.Unknown;
    }

    public static Dim Multiply(Dim a, Dim b)
    {
        if (a.IsKnown && b.IsKnown) return Dim.Known(checked(a.Value!.Value * b.Value!.Value));
        if (a.IsKnown && a.Value == 1) return b;
        if (b.IsKnown && b.Value == 1) return a;
        if ((a.IsKnown && a.Value == 0) || (b.IsKnown && b.Value == 0)) return Dim.Known(0);
        return Dim.Unknown;
    }

    /// <summary>Sum of dims, known only when every term is known.</summary>
    public static Dim Sum(IEnumerable<Dim> dims)
    {
        long s = 0;
        foreach (var d in dims)
        {
            if (!d.IsKnown) return Dim.Unknown;
            s = checked(s + d.Value!.Value);
        }
        return Dim.Known(s);
    }

    /// <summary>Two descriptions of the same dim: the more precise one (known over symbolic over
    /// unknown; the first when both are equally precise).</summary>
    public static Dim Merge(Dim a, Dim b)
    {
        if (a.IsKnown) return a;
        if (b.IsKnown) return b;
        if (a.Symbol is not null) return a;
        return b;
    }

    /// <summary>Multidirectional (numpy) broadcasting. Null when a shape is unknown or two known
    /// dims disagree and neither is 1.</summary>
    public static Shape? Broadcast(IReadOnlyList<Shape?> shapes)
    {
        if (shapes.Count == 0) return null;
        int rank = 0;
        foreach (var s in shapes)
        {
            if (s is null) return null;
            rank = Math.Max(rank, s.Rank);
        }
        var dims = new Dim[rank];
        var column = new List<Dim>(shapes.Count);
        for (int i = 0; i < rank; i++)
        {
            column.Clear();
            foreach (var s in shapes!)
            {
                int j = i - (rank - s!.Rank);
                if (j >= 0) column.Add(s[j]);
            }
            if (BroadcastDim(column) is not { } d) return null;
            dims[i] = d;
        }
        return new Shape(dims);
    }

    public static Shape? Broadcast(params Shape?[] shapes) => Broadcast((IReadOnlyList<Shape?>)shapes);

    private static Dim? BroadcastDim(List<Dim> column)
    {
        long? big = null;
        bool allOne = true;
        foreach (var d in column)
        {
            if (d.IsKnown)
            {
                var v = d.Value!.Value;
                if (v == 1) continue;
                if (big is { } b && b != v) return null;
                big = v;
                allOne = false;
            }
            else allOne = false;
        }
        if (big is { } k) return Dim.Known(k);
        if (allOne) return Dim.Known(1);
        // Only 1s and non-known dims: the result is the non-known dim when they all agree.
        string? symbol = null;
        foreach (var d in column)
        {
            if (d.IsKnown) continue;
            if (d.Symbol is null) return Dim.Unknown;
            if (symbol is null) symbol = d.Symbol;
            else if (symbol != d.Symbol) return Dim.Unknown;
        }
        return symbol is null ? Dim.Unknown : Dim.Symbolic(symbol);
    }

    public static long FloorDiv(long a, long b)
    {
        long q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
        return q;
    }

    public static long CeilDiv(long a, long b) => -FloorDiv(-a, b);

    /// <summary>
    /// One axis of ONNX Slice: clamps <paramref name="start"/> and <paramref name="end"/> the way the
    /// spec says (after adding <paramref name="dim"/> to negative values) and returns the number of
    /// elements taken; <paramref name="first"/> is the first index read. Null when step is 0.
    /// </summary>
    public static long? SliceCount(long dim, long start, long end, long step, out long first)
    {
        first = 0;
        if (step == 0) return null;
        if (start < 0) start = start < long.MinValue + dim ? long.MinValue : start + dim;
        if (end < 0) end = end < long.MinValue + dim ? long.MinValue : end + dim;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            first = start;
            return end > start ? CeilDiv(end - start, step) : 0;
        }
        start = Math.Clamp(start, 0, Math.Max(dim - 1, 0));
        end = Math.Clamp(end, -1, dim - 1);
        first = start;
        if (dim == 0) return 0;
        return start > end ? CeilDiv(start - end, -step) : 0;
    }

    /// <summary>Row-major strides of <paramref name="dims"/>.</summary>
    public static long[] Strides(IReadOnlyList<long> dims)
    {
        var s = new long[dims.Count];
        long acc = 1;
        for (int i = dims.Count - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    public static long ElementCount(IReadOnlyList<long> dims)
    {
        long n = 1;
        foreach (var d in dims) n = checked(n * d);
        return n;
    }
}
