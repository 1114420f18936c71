using System.CommandLine;
using System.Globalization;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// Option checks declared on the options themselves (System.CommandLine validators), so a bad
/// value is a parse error: exit 2 before any work, with a message naming the option and what it
/// takes. (AcceptOnlyFromAmong's own message does not name the option.)
/// </summary>
internal static class Validators
{
    /// <summary>Accepts only <paramref name="values"/> (any letter case).</summary>
    public static Option<string> OneOf(this Option<string> option, params string[] values)
    {
        option.Validators.Add(result =>
        {
            if (!TryGet<string>(result, out var value)) return;
            if (!values.Contains(value, StringComparer.OrdinalIgnoreCase))
                result.AddError($"{option.Name} must be {Alternatives(values)}, got '{value}'");
        });
        option.CompletionSources.Add(values);
        return option;
    }

    /// <summary>At least <paramref name="minimum"/> (0 reads "zero or more", 1 "at least 1").</summary>
    public static Option<int> AtLeast(this Option<int> option, int minimum, string? zeroMeans = null)
    {
        option.Validators.Add(result =>
        {
            if (TryGet<int>(result, out var value)) Check(result, option.Name, value, minimum, zeroMeans);
        });
        return option;
    }

    /// <summary>When given, at least <paramref name="minimum"/>.</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int minimum)
    {
        option.Validators.Add(result =>
        {
            if (TryGet<int?>(result, out var given) && given is { } value) Check(result, option.Name, value, minimum, null);
        });
        return option;
    }

    /// <summary>A finite number in the interval; <paramref name="interval"/> says it in the message, e.g. "in [0, 1)".</summary>
    public static Option<double> Within(this Option<double> option, Func<double, bool> accepts, string interval)
    {
        option.Validators.Add(result =>
        {
            if (!TryGet<double>(result, out var value)) return;
            if (!double.IsFinite(value) || !accepts(value)) result.AddError($"{option.Name} must be {interval}, got {Format(value)}");
        });
        return option;
    }

    /// <summary>When given, a finite number the predicate accepts.</summary>
    public static Option<double?> Within(this Option<double?> option, Func<double, bool> accepts, string interval)
    {
        option.Validators.Add(result =>
        {
            if (TryGet<double?>(result, out var given) && given is { } value && (!double.IsFinite(value) || !accepts(value)))
                result.AddError($"{option.Name} must be {interval}, got {Format(value)}");
        });
        return option;
    }

    /// <summary>The option's value; false when it is not a value of the type at all ("--runs many"),
    /// which the parser reports itself.</summary>
    private static bool TryGet<T>(System.CommandLine.Parsing.OptionResult result, out T value) => TryRead(result.GetValueOrDefault<T>, out value);

    /// <summary>An option's value as a command validator sees it; false when it does not parse.</summary>
    public static bool TryGet<T>(System.CommandLine.Parsing.CommandResult result, Option<T> option, out T value) =>
        TryRead(() => result.GetValue(option), out value);

    /// <summary>System.CommandLine throws InvalidOperationException for a value that does not convert.</summary>
    private static bool TryRead<T>(Func<T?> read, out T value)
    {
        try
        {
            value = read()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    private static void Check(System.CommandLine.Parsing.OptionResult result, string name, int value, int minimum, string? zeroMeans)
    {
        if (value >= minimum) return;
        var bound = minimum switch
        {
            0 => zeroMeans is null ? "zero or more" : $"zero ({zeroMeans}) or more",
            _ => $"at least {minimum}",
        };
        result.AddError($"{name} must be {bound}, got {value}");
    }

    private static string Alternatives(IReadOnlyList<string> values) =>
        values.Count == 1 ? values[0] : string.Join(", ", values.Take(values.Count - 1)) + " or " + values[^1];

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
