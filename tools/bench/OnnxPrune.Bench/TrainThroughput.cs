using System.Diagnostics;
using System.Globalization;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;
using OnnxPrune.Training;
using OnnxPrune.Training.Architectures;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Bench;

/// <summary>
/// Training throughput (images per second) and peak memory of OnnxPrune's trainer against
/// PyTorch (Debian's python3-torch, /usr/bin/python3) on the same CIFAR-style ResNets, batch
/// 128, 2 threads. Every measurement is its own child process, so each side's peak resident
/// memory is its own; the sides alternate within a round and the order flips each round so
/// neither always runs on a machine the other just warmed or heated.
/// </summary>
internal static class TrainThroughput
{
    private const int Batch = 128, Threads = 2, Warmup = 5;

    /// <summary>Parent: ROUNDS x {ours, torch} per architecture; appends a table to the results file.</summary>
    public static int Run(int rounds, int steps, string resultsFile, IReadOnlyList<string> archs)
    {
        var lines = new List<string>();
        var stepCounts = new List<string>();
        foreach (var arch in archs)
        {
            // ResNet-20 steps are 3x shorter: time 3x as many, so every measurement lasts seconds.
            int archSteps = arch == "resnet20" ? 3 * steps : steps;
            stepCounts.Add($"{arch} {archSteps}");
            var ours = new List<(double Rate, double PeakMb)>();
            var torch = new List<(double Rate, double PeakMb)>();
            for (int r = 0; r < rounds; r++)
            {
                if (r % 2 == 0) { ours.Add(Ours(arch, archSteps)); torch.Add(Torch(arch, archSteps)); }
                else { torch.Add(Torch(arch, archSteps)); ours.Add(Ours(arch, archSteps)); }
                Console.Error.WriteLine($"{arch} round {r + 1}/{rounds}: ours {ours[^1].Rate:0.0} img/s, PyTorch {torch[^1].Rate:0.0} img/s");
            }
            double mo = Statistics.Median(ours.Select(o => o.Rate)), mt = Statistics.Median(torch.Select(t => t.Rate));
            lines.Add($"| {arch} | {mo:0.0} ({ours.Min(o => o.Rate):0.0}–{ours.Max(o => o.Rate):0.0}) | {mt:0.0} ({torch.Min(t => t.Rate):0.0}–{torch.Max(t => t.Rate):0.0}) | {mo / mt:0.00}x | {ours.Max(o => o.PeakMb):0} | {torch.Max(t => t.PeakMb):0} |");
        }
        var report = $"""
            ## training throughput, OnnxPrune vs PyTorch ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {Environment.GetEnvironmentVariable("ONNXPRUNE_COMMIT") ?? "?"})

            batch {Batch}, {Threads} threads, SGD momentum 0.9 + weight decay, softmax cross-entropy; per measurement {Warmup} warm-up steps then timed steps ({string.Join(", ", stepCounts)}) in a fresh process; {rounds} rounds, sides alternating; {Environment.ProcessorCount} cores.
            OnnxPrune: `onnxprune train`'s Trainer (training graph on ONNX Runtime {OrtRuntime.Shared.VersionString}, convolutions on its NCHWc kernels with channel block {NchwcSupport.BlockSize()}, Fashion-MNIST batches with crop+flip augmentation and normalisation included in the time). PyTorch {TorchVersion()}: the same architecture on random 1x28x28 batches (tools/bench/OnnxPrune.Bench/torch_train_step.py).

            | model | OnnxPrune img/s, median (min–max) | PyTorch img/s, median (min–max) | ours / PyTorch | OnnxPrune peak RSS MB | PyTorch peak RSS MB |
            |---|---|---|---|---|---|
            {string.Join("\n", lines)}

            """;
        Console.Write(report);
        File.AppendAllText(resultsFile, report + "\n");
        return 0;
    }

    /// <summary>Child: one measurement of our trainer; prints "IMAGES_PER_SECOND PEAK_MB".</summary>
    public static int Step(string arch, int steps)
    {
        var train = FashionMnist.Load(train: true).Take(Batch * (steps + Warmup + 1));
        using var trainer = new Trainer(Architectures.Build(arch, seed: 1), new TrainerOptions
        {
            BatchSize = Batch, Seed = 1, Normalization = ChannelNormalization.Compute(train),
            Augmentation = new Augmentation(CropPadding: 2, HorizontalFlip: true),
            Session = new SessionSettings { IntraOpThreads = Threads },
        });
        var rate = trainer.MeasureThroughput(train, Warmup, steps);
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rate:0.000} {self.PeakWorkingSet64 / 1048576.0:0.0}"));
        return 0;
    }

    private static (double, double) Ours(string arch, int steps) =>
        Child("dotnet", [typeof(TrainThroughput).Assembly.Location, "train-step", arch, steps.ToString(CultureInfo.InvariantCulture)]);

    private static (double, double) Torch(string arch, int steps) =>
        Child("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "torch_train_step.py"), arch, Warmup.ToString(CultureInfo.InvariantCulture),
            steps.ToString(CultureInfo.InvariantCulture), Batch.ToString(CultureInfo.InvariantCulture), Threads.ToString(CultureInfo.InvariantCulture)]);

    private static (double Rate, double PeakMb) Child(string program, string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = process.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(" ", args)} exited with {process.ExitCode}");
        var parts = output.Split(' ');
        return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static string TorchVersion()
    {
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import torch; print(torch.__version__)"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var version = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return version;
    }

}
