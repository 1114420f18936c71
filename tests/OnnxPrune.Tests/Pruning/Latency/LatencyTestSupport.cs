using OnnxPrune.IR;
using OnnxPrune.Pruning.Latency;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>A temporary cache folder per test, and a stand-in probe that counts its calls and answers a
/// deterministic number (no timing: the machine is shared and noisy).</summary>
internal sealed class LatencyFixture : IDisposable
{
    public LatencyFixture() => Directory.CreateDirectory(Folder);

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "onnxprune-latency-test-" + Guid.NewGuid().ToString("N"));
    public int Probes { get; private set; }

    /// <summary>MAC-like stand-in: proportional to the widths and the kernel, plus a fixed cost.</summary>
    public double Fake(LayerSignature s, int cin, int cout)
    {
        Probes++;
        long kernel = s.Kernel.Aggregate(1L, (a, b) => a * b);
        return 0.01 + 1e-4 * cin * cout * kernel / (s.Kind == LayerKind.Depthwise ? cin : 1);
    }

    public LatencyTable Table(string? identity = null) =>
        new(Folder, new SessionSettings { IntraOpThreads = 1 }, batch: 1, Fake, identity ?? "test machine | batch 1");

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
