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
        Console.Error.WriteLine("usage: OnnxPrune.Bench load-save MODEL.onnx [ROUNDS] [RESULTS.md]");
        return 2;
    }
}
