using System.Diagnostics;
using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Runtime;

/// <summary>Runs alone: it reads the process's resident memory, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(SerialRuntimeCollection), DisableParallelization = true)]
public sealed class SerialRuntimeCollection;

/// <summary>
/// Each iteration moves megabytes through native memory, so a leaked output OrtValue, a leaked
/// input pin (which keeps the input array alive) or a leaked session shows up as hundreds of
/// megabytes of growth, far above allocator noise.
/// </summary>
[Collection(nameof(SerialRuntimeCollection))]
public class LeakTests
{
    private const long AllowedGrowth = 200L << 20;
    private const int Floats = 1 << 18; // 1 MiB per tensor

    private static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    [Fact]
    public void A_thousand_runs_release_inputs_and_outputs()
    {
        using var session = InferenceSession.FromBytes(TinyModel.Identity(DataType.Float, (long)Floats), runtime: Runtime);
        void RunOnce(int i)
        {
            var x = new float[Floats];
            x[^1] = i;
            var y = session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(x, Floats) })["y"].As<float>();
            if (y[^1] != i) throw new InvalidOperationException($"run {i} returned {y[^1]}");
        }

        for (var i = 0; i < 50; i++) RunOnce(i);
        var before = ResidentBytes();
        for (var i = 0; i < 1000; i++) RunOnce(i);
        (ResidentBytes() - before).Should().BeLessThan(AllowedGrowth);
    }

    [Fact]
    public void Created_and_disposed_sessions_release_their_weights()
    {
        // 8 MiB of weights per session.
        var bytes = new TinyModel()
            .Input("x", DataType.Float, (long)Floats).Output("y", DataType.Float, 8L, Floats)
            .Initializer("w", new float[8 * Floats], 8, Floats)
            .Node("Add", ["x", "w"], ["y"]).Build();

        for (var i = 0; i < 5; i++) InferenceSession.FromBytes(bytes, runtime: Runtime).Dispose();
        var before = ResidentBytes();
        for (var i = 0; i < 100; i++) InferenceSession.FromBytes(bytes, runtime: Runtime).Dispose();
        (ResidentBytes() - before).Should().BeLessThan(AllowedGrowth);
    }

    [Fact]
    public void Sessions_nobody_disposed_are_released_by_the_finalizer()
    {
        var bytes = TinyModel.Identity(DataType.Float, (long)Floats);
        static void Abandon(byte[] model)
        {
            var session = InferenceSession.FromBytes(model, runtime: Runtime);
            session.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create(new float[Floats], Floats) });
        }
        for (var i = 0; i < 10; i++) Abandon(bytes);
        var before = ResidentBytes();
        for (var i = 0; i < 200; i++) Abandon(bytes);
        (ResidentBytes() - before).Should().BeLessThan(AllowedGrowth);
    }

    private static long ResidentBytes()
    {
        for (var i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}
