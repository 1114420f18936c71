namespace OnnxPrune.Bench;

/// <summary>Benchmarks that compare OnnxPrune with a reference side by side. See tools/bench/README.md.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "load-save")
        {
            int rounds = args.Length > 2 ? int.Parse(args[2]) : 21;
            var results = args.Length > 3 ? args[3] : "tools/bench/results/load-save.md";
            return LoadSaveBenchmark.Run(args[1], rounds, results);
        }
        if (args.Length >= 2 && args[0] == "prune-speed")
            return PruneSpeed.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 9, args.Length > 3 ? args[3] : "tools/bench/results/prune-speed.md");
        if (args.Length >= 3 && args[0] == "prune-table")
            return PruneTable.Run(args[1], args[2], args.Skip(3).ToList());
        if (args.Length >= 3 && args[0] == "latency-model")
            return LatencyModelBench.Run(args[1], args.Skip(2).Where(a => a != "--partial").ToList(), args.Contains("--partial"));
        if (args.Length >= 4 && args[0] == "train-throughput")
            return TrainThroughput.Run(int.Parse(args[1]), int.Parse(args[2]), args[3], args.Length > 4 ? args.Skip(4).ToList() : ["resnet20", "resnet56"]);
        if (args.Length == 3 && args[0] == "train-step")
            return TrainThroughput.Step(args[1], int.Parse(args[2]));
        Console.Error.WriteLine("usage: OnnxPrune.Bench load-save MODEL.onnx [ROUNDS] [RESULTS.md]\n       OnnxPrune.Bench prune-table MODELS_DIR OUT.md MODEL...\n       OnnxPrune.Bench latency-model OUT.md [--partial] MODEL.onnx...\n       OnnxPrune.Bench train-throughput ROUNDS STEPS RESULTS.md [ARCH...]");
        return 2;
    }
}
