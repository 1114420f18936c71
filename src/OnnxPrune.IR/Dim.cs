namespace OnnxPrune.IR;

/// <summary>One dimension of a shape: a known size, a named symbolic size (batch, N, ...), or
/// unknown. Immutable.</summary>
public readonly record struct Dim
{
    public long? Value { get; }
    public string? Symbol { get; }

    private Dim(long? value, string? symbol) { Value = value; Symbol = symbol; }

    public static Dim Known(long value) => new(value, null);
    public static Dim Symbolic(string name) => new(null, name);
    public static readonly Dim Unknown = new(null, null);

    public bool IsKnown => Value.HasValue;

    public static implicit operator Dim(long value) => Known(value);

    public override string ToString() => Value?.ToString() ?? Symbol ?? "?";
}

/// <summary>A tensor shape: an ordered list of dims. Immutable; compared by value.</summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly Dim[] _dims;

    public Shape(IEnumerable<Dim> dims) => _dims = dims.ToArray();
    public Shape(params long[] dims) => _dims = dims.Select(Dim.Known).ToArray();

    public static readonly Shape Scalar = new(Array.Empty<long>());

    public int Rank => _dims.Length;
    public Dim this[int i] => _dims[i];
    public IReadOnlyList<Dim> Dims => _dims;

    /// <summary>True when every dim has a known size.</summary>
    public bool IsStatic => _dims.All(d => d.IsKnown);

    /// <summary>The sizes, or null when any dim is not known.</summary>
    public long[]? TryGetSizes() => IsStatic ? _dims.Select(d => d.Value!.Value).ToArray() : null;

    /// <summary>Product of the dims; null when any is unknown.</summary>
    public long? ElementCount()
    {
        long n = 1;
        foreach (var d in _dims)
        {
            if (!d.IsKnown) return null;
            n *= d.Value!.Value;
        }
        return n;
    }

    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);
    public override bool Equals(object? obj) => Equals(obj as Shape);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(",", _dims) + "]";
}
