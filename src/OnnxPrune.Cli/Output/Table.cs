namespace OnnxPrune.Cli.Output;

/// <summary>A plain text table with aligned columns; numeric cells are right-aligned.</summary>
public sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = new();

    public Table Add(params object?[] cells)
    {
        _rows.Add(cells.Select(c => c switch
        {
            null => "",
            double d => d.ToString("0.###"),
            float f => f.ToString("0.###"),
            _ => c.ToString() ?? "",
        }).ToArray());
        return this;
    }

    public void Write(TextWriter output)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        output.WriteLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in _rows)
        {
            var cells = row.Select((c, i) => IsNumber(c) ? c.PadLeft(widths[i]) : c.PadRight(widths[i]));
            output.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    private static bool IsNumber(string s) => s.Length > 0 && (char.IsDigit(s[0]) || s[0] == '-' && s.Length > 1) && s.All(c => char.IsDigit(c) || c is '.' or ',' or '-' or 'e' or 'E' or '%' or '+');
}

/// <summary>Number formatting shared by the commands.</summary>
public static class Numbers
{
    /// <summary>1234567 -> "1.23M".</summary>
    public static string Short(double v) => Math.Abs(v) switch
    {
        >= 1e9 => $"{v / 1e9:0.##}G",
        >= 1e6 => $"{v / 1e6:0.##}M",
        >= 1e3 => $"{v / 1e3:0.##}K",
        _ => v.ToString("0.##"),
    };
}
