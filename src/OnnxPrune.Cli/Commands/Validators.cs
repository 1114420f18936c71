using System.CommandLine;
using System.Globalization;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// Option checks declared on the options themselves (System.CommandLine validators), so a bad
/// value is a parse error: exit 2 before any work, with a message naming the option and what it
/// takes. (AcceptOnlyFromAmong's own message does not name the option.)
/// </summary>
internal static class Validators
{
    /// <summary>Accepts only <paramref name="values"/> (exactly as written).</summary>
    public static Option<string> OneOf(Option<string> option, params string[] values)
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!values.Contains(value, StringComparer.Ordinal))
                result.AddError($"{option.Name} must be {Alternatives(values)}, got '{value}'");
        });
        option.CompletionSources.Add(values);
        return option;
    }

    /// <summary>At least <paramref name="minimum"/>.</summary>
    public static Option<T> AtLeast<T>(Option<T> option, T minimum, string? meaningOfMinimum = null) where T : struct, IComparable<T>
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<T>();
            if (value.CompareTo(minimum) < 0)
                result.AddError($"{option.Name} must be {Format(minimum)}{(meaningOfMinimum is null ? "" : $" ({meaningOfMinimum})")} or more, got {Format(value)}");
        });
        return option;
    }

    private static string Alternatives(IReadOnlyList<string> values) =>
        values.Count == 1 ? values[0] : string.Join(", ", values.Take(values.Count - 1)) + " or " + values[^1];

    private static string Format<T>(T value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}
