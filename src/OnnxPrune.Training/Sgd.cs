using System.Numerics;
using System.Runtime.InteropServices;

namespace OnnxPrune.Training;

/// <summary>
/// In-place updates on float spans, vectorised with <see cref="Vector{T}"/>; no allocation.
/// The arithmetic is the same on every run (fixed evaluation order), so results are reproducible.
/// </summary>
internal static class Sgd
{
    /// <summary>
    /// One step of SGD for one parameter (torch.optim.SGD, dampening 0):
    /// g = grad + wd·w; v = μ·v + g; w -= lr·(Nesterov ? g + μ·v : v). With μ = 0, w -= lr·g.
    /// <paramref name="gradient"/> is used as scratch (overwritten).
    /// </summary>
    public static void Step(Span<float> weights, Span<float> gradient, Span<float> velocity,
        float learningRate, float momentum, bool nesterov, float weightDecay)
    {
        if (weights.Length != gradient.Length || (momentum != 0 && velocity.Length != weights.Length))
            throw new ArgumentException($"parameter of {weights.Length} values, gradient of {gradient.Length}, velocity of {velocity.Length}");
        if (weightDecay != 0) AddScaled(gradient, weights, weightDecay);          // g += wd·w
        if (momentum == 0)
        {
            AddScaled(weights, gradient, -learningRate);                           // w -= lr·g
            return;
        }
        ScaleAdd(velocity, momentum, gradient);                                    // v = μ·v + g
        if (nesterov)
        {
            AddScaled(gradient, velocity, momentum);                               // g += μ·v
            AddScaled(weights, gradient, -learningRate);                           // w -= lr·g
        }
        else AddScaled(weights, velocity, -learningRate);                          // w -= lr·v
    }

    /// <summary>target = (1 - m)·target + m·batch.</summary>
    public static void Blend(Span<float> target, ReadOnlySpan<float> batch, float m)
    {
        if (target.Length != batch.Length) throw new ArgumentException($"running statistics of {target.Length} values, batch statistics of {batch.Length}");
        float keep = 1 - m;
        for (var i = 0; i < target.Length; i++) target[i] = keep * target[i] + m * batch[i];
    }

    /// <summary>y += a·x.</summary>
    public static void AddScaled(Span<float> y, ReadOnlySpan<float> x, float a)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (var k = 0; k < vy.Length; k++) vy[k] += va * vx[k];
            i = vy.Length * Vector<float>.Count;
        }
        for (; i < y.Length; i++) y[i] += a * x[i];
    }

    /// <summary>y = a·y + x.</summary>
    public static void ScaleAdd(Span<float> y, float a, ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (var k = 0; k < vy.Length; k++) vy[k] = va * vy[k] + vx[k];
            i = vy.Length * Vector<float>.Count;
        }
        for (; i < y.Length; i++) y[i] = a * y[i] + x[i];
    }
}
