using System.Diagnostics.CodeAnalysis;

namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>One metric of a CVSS version: its key, allowed values and whether it is mandatory.</summary>
internal sealed record CvssMetric(string Key, string[] Values, bool Mandatory);

/// <summary>Parses <c>KEY:VALUE</c> lists against a version's metric table.</summary>
internal static class CvssMetrics
{
    public static readonly CvssMetric[] V2 =
    [
        new("AV", ["L", "A", "N"], true),
        new("AC", ["H", "M", "L"], true),
        new("Au", ["M", "S", "N"], true),
        new("C", ["N", "P", "C"], true),
        new("I", ["N", "P", "C"], true),
        new("A", ["N", "P", "C"], true),
        new("E", ["U", "POC", "F", "H", "ND"], false),
        new("RL", ["OF", "TF", "W", "U", "ND"], false),
        new("RC", ["UC", "UR", "C", "ND"], false),
        new("CDP", ["N", "L", "LM", "MH", "H", "ND"], false),
        new("TD", ["N", "L", "M", "H", "ND"], false),
        new("CR", ["L", "M", "H", "ND"], false),
        new("IR", ["L", "M", "H", "ND"], false),
        new("AR", ["L", "M", "H", "ND"], false),
    ];

    public static readonly CvssMetric[] V3 =
    [
        new("AV", ["N", "A", "L", "P"], true),
        new("AC", ["L", "H"], true),
        new("PR", ["N", "L", "H"], true),
        new("UI", ["N", "R"], true),
        new("S", ["U", "C"], true),
        new("C", ["H", "L", "N"], true),
        new("I", ["H", "L", "N"], true),
        new("A", ["H", "L", "N"], true),
        new("E", ["X", "H", "F", "P", "U"], false),
        new("RL", ["X", "U", "W", "T", "O"], false),
        new("RC", ["X", "C", "R", "U"], false),
        new("CR", ["X", "H", "M", "L"], false),
        new("IR", ["X", "H", "M", "L"], false),
        new("AR", ["X", "H", "M", "L"], false),
        new("MAV", ["X", "N", "A", "L", "P"], false),
        new("MAC", ["X", "L", "H"], false),
        new("MPR", ["X", "N", "L", "H"], false),
        new("MUI", ["X", "N", "R"], false),
        new("MS", ["X", "U", "C"], false),
        new("MC", ["X", "H", "L", "N"], false),
        new("MI", ["X", "H", "L", "N"], false),
        new("MA", ["X", "H", "L", "N"], false),
    ];

    public static readonly CvssMetric[] V4 =
    [
        new("AV", ["N", "A", "L", "P"], true),
        new("AC", ["L", "H"], true),
        new("AT", ["N", "P"], true),
        new("PR", ["N", "L", "H"], true),
        new("UI", ["N", "P", "A"], true),
        new("VC", ["H", "L", "N"], true),
        new("VI", ["H", "L", "N"], true),
        new("VA", ["H", "L", "N"], true),
        new("SC", ["H", "L", "N"], true),
        new("SI", ["H", "L", "N"], true),
        new("SA", ["H", "L", "N"], true),
        new("E", ["X", "A", "P", "U"], false),
        new("CR", ["X", "H", "M", "L"], false),
        new("IR", ["X", "H", "M", "L"], false),
        new("AR", ["X", "H", "M", "L"], false),
        new("MAV", ["X", "N", "A", "L", "P"], false),
        new("MAC", ["X", "L", "H"], false),
        new("MAT", ["X", "N", "P"], false),
        new("MPR", ["X", "N", "L", "H"], false),
        new("MUI", ["X", "N", "P", "A"], false),
        new("MVC", ["X", "H", "L", "N"], false),
        new("MVI", ["X", "H", "L", "N"], false),
        new("MVA", ["X", "H", "L", "N"], false),
        new("MSC", ["X", "H", "L", "N"], false),
        new("MSI", ["X", "S", "H", "L", "N"], false),
        new("MSA", ["X", "S", "H", "L", "N"], false),
        new("S", ["X", "N", "P"], false),
        new("AU", ["X", "N", "Y"], false),
        new("R", ["X", "A", "U", "I"], false),
        new("V", ["X", "D", "C"], false),
        new("RE", ["X", "L", "M", "H"], false),
        new("U", ["X", "Clear", "Green", "Amber", "Red"], false),
    ];

    /// <summary>
    /// Parses the metric list (the part after the version prefix) into a map from metric key to value.
    /// </summary>
    public static bool TryParse(string label, ReadOnlySpan<char> text, CvssMetric[] table, [NotNullWhen(true)] out Dictionary<string, string>? values, [NotNullWhen(false)] out string? error)
    {
        values = new Dictionary<string, string>(table.Length, StringComparer.Ordinal);
        foreach (var range in text.Split('/'))
        {
            var part = text[range];
            var colon = part.IndexOf(':');
            if (colon <= 0 || colon == part.Length - 1)
            {
                error = $"{label}: component '{part}' is not of the form METRIC:VALUE";
                values = null;
                return false;
            }

            var key = part[..colon];
            var value = part[(colon + 1)..];
            var metric = Find(table, key);
            if (metric is null)
            {
                error = $"{label}: unknown metric '{key}'";
                values = null;
                return false;
            }

            var allowed = FindValue(metric, value);
            if (allowed is null)
            {
                error = $"{label}: metric '{metric.Key}' has invalid value '{value}' (allowed: {string.Join(", ", metric.Values)})";
                values = null;
                return false;
            }

            if (!values.TryAdd(metric.Key, allowed))
            {
                error = $"{label}: metric '{metric.Key}' appears more than once";
                values = null;
                return false;
            }
        }

        foreach (var metric in table)
        {
            if (metric.Mandatory && !values.ContainsKey(metric.Key))
            {
                error = $"{label}: mandatory metric '{metric.Key}' is missing";
                values = null;
                return false;
            }
        }

        error = null;
        return true;
    }

    private static CvssMetric? Find(CvssMetric[] table, ReadOnlySpan<char> key)
    {
        foreach (var metric in table)
        {
            if (key.Equals(metric.Key, StringComparison.Ordinal))
            {
                return metric;
            }
        }

        return null;
    }

    private static string? FindValue(CvssMetric metric, ReadOnlySpan<char> value)
    {
        foreach (var v in metric.Values)
        {
            if (value.Equals(v, StringComparison.Ordinal))
            {
                return v;
            }
        }

        return null;
    }
}
