namespace OnnxPrune.Training.Data;

/// <summary>Seeded shuffling (Fisher-Yates with <see cref="System.Random"/>) and seed derivation,
/// so that an order is a function of the seed alone, stable across runs and processes.</summary>
internal static class Shuffling
{
    /// <summary>Fisher-Yates: for i from n-1 down to 1, swap item i with item random.Next(i + 1).</summary>
    public static void Shuffle<T>(Span<T> items, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>0..count-1 shuffled with <paramref name="random"/>.</summary>
    public static int[] Permutation(int count, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        Shuffle(order.AsSpan(), random);
        return order;
    }

    /// <summary>A non-negative seed derived from (seed, epoch, stream) by SplitMix64 mixing;
    /// unlike <see cref="HashCode"/> it is the same in every process.</summary>
    public static int DeriveSeed(int seed, int epoch, int stream)
    {
        var z = ((ulong)(uint)seed << 32 | (uint)epoch) + 0x9E3779B97F4A7C15UL * (ulong)(stream + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & int.MaxValue);
    }
}
