using Spectre.Console;
using Spectre.Console.Rendering;

namespace OnnxPrune.Cli.Output;

/// <summary>
/// A table of the commands' output, drawn by Spectre.Console: a rounded frame and a bold header on a
/// terminal; on a pipe, borderless columns (header, then one line per row, two spaces between columns)
/// that scripts can split. Numeric cells are right-aligned. Cells are text, never markup, so "[1,3]"
/// prints as it is.
/// </summary>
public sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = new();

    public IReadOnlyList<IReadOnlyList<string>> Rows => _rows;

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

    internal IRenderable Render(bool styled)
    {
        var table = new Spectre.Console.Table { Border = styled ? TableBorder.Rounded : TableBorder.None };
        for (int i = 0; i < headers.Length; i++)
        {
            var column = new TableColumn(new Text(headers[i], styled ? new Style(decoration: Decoration.Bold) : Style.Plain));
            // A narrow terminal wraps the text columns (names, notes); numbers keep their width.
            if (!styled || _rows.All(r => i >= r.Length || r[i].Length == 0 || IsNumber(r[i]))) column.NoWrap();
            if (!styled) column.Padding(0, 0, 2, 0); // columns start at the line's first character, two spaces apart
            table.AddColumn(column);
        }
        foreach (var row in _rows)
            table.AddRow(headers.Select((_, i) => (IRenderable)Cell(i < row.Length ? row[i] : "")).ToArray());
        return table;
    }

    private static Text Cell(string s) => new(s) { Justification = IsNumber(s) ? Justify.Right : Justify.Left };

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
