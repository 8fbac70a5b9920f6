using System.Globalization;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Builders;

/// <summary>What every report builder needs besides its data: tenant, clock, period and SLA policy.</summary>
/// <param name="Tenant">Tenant name shown on the report.</param>
/// <param name="Now">The time the report is built (reports are deterministic for a given time).</param>
/// <param name="Period">The period covered.</param>
/// <param name="Sla">Remediation deadlines.</param>
public sealed record ReportContext(string Tenant, DateTimeOffset Now, ReportPeriod Period, SlaPolicy Sla)
{
    /// <summary>A context for the last 30 days with the default SLA policy.</summary>
    public static ReportContext Create(string tenant, DateTimeOffset now, ReportPeriod? period = null) =>
        new(tenant, now, period ?? ReportPeriod.LastDays(now, 30), SlaPolicy.Default);
}

/// <summary>Formatting shared by the builders (invariant culture, UTC).</summary>
internal static class Fmt
{
    public static string Date(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string DateTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string DateOrDash(DateTimeOffset? t) => t is { } v ? Date(v) : "-";

    public static string Int(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Num(double v, int decimals = 1) => v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static string Score(double? v) => v is { } s ? s.ToString("0.0", CultureInfo.InvariantCulture) : "-";

    public static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    public static string Duration(TimeSpan? span)
    {
        if (span is not { } s)
        {
            return "-";
        }

        return s.TotalDays >= 1 ? Num(s.TotalDays) + " d"
            : s.TotalHours >= 1 ? Num(s.TotalHours) + " h"
            : Num(s.TotalMinutes) + " min";
    }

    public static string Period(ReportPeriod p) => Date(p.From) + " to " + Date(p.To);

    public static string Join(IReadOnlyList<string> values, int max = 3)
    {
        if (values.Count == 0)
        {
            return "-";
        }

        if (values.Count <= max)
        {
            return string.Join(", ", values);
        }

        return string.Join(", ", values.Take(max)) + " (+" + (values.Count - max).ToString(CultureInfo.InvariantCulture) + ")";
    }

    public static string Tone(string severity) => Severities.Normalise(severity);

    /// <summary>Counts per severity in severity order, only severities that occur (critical..low always shown).</summary>
    public static List<Bar> SeverityBars(IEnumerable<string> severities)
    {
        var counts = new int[Severities.Ordered.Count];
        foreach (var s in severities)
        {
            counts[Severities.Rank(s)]++;
        }

        var bars = new List<Bar>();
        for (var i = 0; i < counts.Length; i++)
        {
            if (i < 4 || counts[i] > 0)
            {
                bars.Add(new Bar(Severities.Ordered[i], counts[i], Severities.Ordered[i]));
            }
        }

        return bars;
    }

    public static NoticeBlock Unavailable<T>(DataSource<T> source, string what) =>
        new("warning", what + " not available: " + source.UnavailableReason);
}
