using McpSecurity.Reporting.Builders;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Tests.Support;

/// <summary>Builders for synthetic report inputs.</summary>
internal static class Some
{
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static int _next;

    public static ReportContext Context(ReportPeriod? period = null) => ReportContext.Create("acme", Now, period);

    public static FindingRow Finding(
        string severity = "high",
        string state = "open",
        string component = "lodash",
        string vuln = "",
        double? score = 7.5,
        int ageDays = 3,
        bool kev = false,
        string project = "shop",
        IReadOnlyList<string>? fixedVersions = null,
        string? stateReason = null,
        RiskBreakdown? risk = null)
    {
        var n = Interlocked.Increment(ref _next);
        return new FindingRow("fnd_" + n.ToString("D6", System.Globalization.CultureInfo.InvariantCulture), project, "1.0.0", component, "4.17.20", "pkg:npm/" + component + "@4.17.20",
            vuln.Length > 0 ? vuln : "CVE-2026-" + n.ToString("D5", System.Globalization.CultureInfo.InvariantCulture), [], severity, score, fixedVersions ?? ["4.17.21"], state, stateReason,
            component + " 4.17.20 is in the SEMVER range (introduced 0, fixed 4.17.21)", kev, 0.12, Now.AddDays(-ageDays), Now.AddDays(-ageDays), risk);
    }

    public static AlertRow Alert(string severity = "high", string tactic = "execution", string entity = "host-1", double ackHours = 1, double? resolveHours = 4, double ageHours = 48, string? rule = null, params string[] techniques)
    {
        var n = Interlocked.Increment(ref _next);
        var created = Now.AddHours(-ageHours);
        return new AlertRow("alr_" + n, "Suspicious process " + n, severity, resolveHours is null ? "open" : "closed", rule, [tactic], techniques, entity, created,
            created.AddHours(ackHours), resolveHours is { } r ? created.AddHours(r) : null);
    }
}
