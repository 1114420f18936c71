using System.Diagnostics;
using OnnxPrune.Onnx;

namespace OnnxPrune.Bench;

/// <summary>
/// Load + IR + save of one model by OnnxPrune against onnx.load + onnx.save by Debian's Python
/// onnx package, interleaved run by run in one process pair so both see the same machine state.
/// Both sides are warmed up (JIT, imports, page cache) before timing.
/// </summary>
internal static class LoadSaveBenchmark
{
    public static int Run(string model, int rounds, string resultsFile)
    {
        var temp = Path.Combine(Path.GetTempPath(), $"onnxprune-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(temp);
        var oursOut = Path.Combine(temp, "ours.onnx");
        var theirsOut = Path.Combine(temp, "python.onnx");
        var script = Path.Combine(AppContext.BaseDirectory, "onnx_load_save.py");
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script, model, theirsOut])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
        })!;
        if (python.StandardOutput.ReadLine() != "ready") throw new InvalidOperationException("the Python side did not start (is python3-onnx installed?)");

        double Ours()
        {
            var start = Stopwatch.GetTimestamp();
            var m = OnnxModelFile.Load(model);
            OnnxModelFile.Save(m, oursOut);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        double Theirs()
        {
            python.StandardInput.WriteLine("go");
            return double.Parse(python.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
        }

        for (int i = 0; i < 3; i++) { Ours(); Theirs(); }
        var ours = new List<double>();
        var theirs = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            // Alternate who goes first so neither always runs on a cache the other warmed.
            if (i % 2 == 0) { ours.Add(Ours()); theirs.Add(Theirs()); }
            else { theirs.Add(Theirs()); ours.Add(Ours()); }
        }
        python.StandardInput.Close();
        python.WaitForExit();

        // The two outputs must be the same model, or the comparison means nothing.
        var same = Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(oursOut))
            .Equals(Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(theirsOut)));
        double mo = Statistics.Median(ours), mt = Statistics.Median(theirs);
        var size = new FileInfo(model).Length / 1e6;
        var report = $"""
            ## load + IR + save vs onnx.load + onnx.save ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)

            model: {Path.GetFileName(model)} ({size:0.0} MB); {rounds} interleaved rounds after 3 warm-up rounds each; {Environment.ProcessorCount} cores
            outputs identical (protobuf equality): {same}

            | side | median ms | min ms | max ms |
            |---|---|---|---|
            | OnnxPrune (.NET {Environment.Version}) | {mo:0.0} | {ours.Min():0.0} | {ours.Max():0.0} |
            | onnx (Python, /usr/bin/python3) | {mt:0.0} | {theirs.Min():0.0} | {theirs.Max():0.0} |

            ratio (python median / ours median): {mt / mo:0.00}x {(mo <= mt ? "(ours faster)" : "(ours slower)")}

            """;
        Console.Write(report);
        File.AppendAllText(resultsFile, report + "\n");
        Directory.Delete(temp, recursive: true);
        return same ? 0 : 1;
    }

}
