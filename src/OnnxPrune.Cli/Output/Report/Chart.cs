namespace OnnxPrune.Cli.Output.Report;

/// <summary>One chart of report.html: its anchor id, title, the inline SVG, and each series with the number of
/// points it draws. The page writes the series into data attributes so that a browser test can check that what was
/// drawn (shapes of the series' colour) matches what the report holds.</summary>
internal sealed record Chart(string Id, string Title, string Svg, IReadOnlyList<ChartSeries> Series);

/// <param name="Color">The fill or stroke colour as #rrggbb; unique within its chart.</param>
/// <param name="Points">Bars or markers this series draws.</param>
internal sealed record ChartSeries(string Name, string Color, int Points);

/// <summary>A chart left out, and the sentence that says why (a report without rounds has no round charts).</summary>
internal sealed record MissingChart(string Id, string Title, string Reason);
