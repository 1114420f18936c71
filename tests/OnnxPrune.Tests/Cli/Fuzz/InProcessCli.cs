using OnnxPrune.Cli;

namespace OnnxPrune.Tests.Cli.Fuzz;

/// <summary>
/// Runs <see cref="CliApp.Run"/> in this process with stdout and stderr captured, so thousands of
/// fuzz cases cost no process start each. The console is process-wide: callers run in
/// <see cref="CliCollection"/>, which xunit runs alone. A run that does not finish within the
/// time limit is reported as a hang (null); its thread cannot be stopped, so the caller stops too.
/// </summary>
internal static class InProcessCli
{
    private static readonly object Gate = new();

    /// <returns>What the command did, or null when it did not finish within <paramref name="timeout"/>.</returns>
    public static CliResult? Run(TimeSpan timeout, params string[] args)
    {
        lock (Gate)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            Console.SetOut(TextWriter.Synchronized(stdout));
            Console.SetError(TextWriter.Synchronized(stderr));
            try
            {
                int exit = 0;
                Exception? escaped = null;
                var thread = new Thread(() =>
                {
                    // An exception escaping CliApp.Run is exactly the bug this looks for: keep it as output.
                    try { exit = CliApp.Run(args); }
                    catch (Exception e) { escaped = e; }
                }, maxStackSize: 16 << 20) { IsBackground = true };
                thread.Start();
                if (!thread.Join(timeout)) return null;
                if (escaped is not null)
                {
                    stderr.WriteLine($"Unhandled exception escaped CliApp.Run: {escaped}");
                    exit = -1;
                }
                return new CliResult(string.Join(" ", args), exit, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
