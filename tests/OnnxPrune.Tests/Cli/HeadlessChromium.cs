using System.Diagnostics;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// Debian's chromium, run headless on a local file: --dump-dom gives the DOM after the browser parsed the page (so
/// the SVG is what a browser builds, not what we wrote), --screenshot a PNG. tools/test.sh installs the package.
/// The page fetches nothing; the flags keep the browser itself off the network too.
/// </summary>
internal static class HeadlessChromium
{
    public const string Binary = "/usr/bin/chromium";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static string DumpDom(string htmlPath) => Run(htmlPath, "--dump-dom");

    /// <summary>Takes a screenshot of the page at 1280 wide, tall enough for every chart.</summary>
    public static void Screenshot(string htmlPath, string pngPath, int height = 2400) =>
        Run(htmlPath, $"--screenshot={pngPath}", $"--window-size=1280,{height}", "--hide-scrollbars");

    private static string Run(string htmlPath, params string[] extra)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: run tools/test.sh (it installs Debian's chromium)");
        using var profile = TestData.NewTempFolder(); // a fresh profile: no state from other runs, no lock contention
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile.Path}" }.Concat(extra))
            start.ArgumentList.Add(a);
        start.ArgumentList.Add(new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"chromium did not finish within {Timeout}"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"chromium exited with {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
