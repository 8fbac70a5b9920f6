namespace McpSecurity.Reporting.Model;

/// <summary>
/// Data for one part of a report, or the reason it is not available (its module is not installed or
/// its store has no data source yet). A report section without a source says so instead of failing.
/// </summary>
/// <typeparam name="T">Row type.</typeparam>
public sealed class DataSource<T>
{
    internal DataSource(bool available, IReadOnlyList<T> items, string? unavailableReason)
    {
        IsAvailable = available;
        Items = items;
        UnavailableReason = unavailableReason;
    }

    /// <summary>True when the data source exists (it may still have no rows for the period).</summary>
    public bool IsAvailable { get; }

    /// <summary>The rows (empty when not available).</summary>
    public IReadOnlyList<T> Items { get; }

    /// <summary>Why the source is not available; null when it is.</summary>
    public string? UnavailableReason { get; }
}

/// <summary>Creates <see cref="DataSource{T}"/> values.</summary>
public static class DataSource
{
    /// <summary>A source with rows.</summary>
    public static DataSource<T> Of<T>(IReadOnlyList<T> items) => new(true, items ?? throw new ArgumentNullException(nameof(items)), null);

    /// <summary>A missing source with the reason shown in the report.</summary>
    public static DataSource<T> Unavailable<T>(string reason) => new(false, [], reason);
}

/// <summary>Severity names used across reports, most severe first.</summary>
public static class Severities
{
    /// <summary>Known severities, most severe first.</summary>
    public static IReadOnlyList<string> Ordered { get; } = ["critical", "high", "medium", "low", "none", "unknown"];

    /// <summary>Rank of a severity (0 = critical); unknown names rank last.</summary>
    public static int Rank(string? severity)
    {
        for (var i = 0; i < Ordered.Count; i++)
        {
            if (string.Equals(Ordered[i], severity, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return Ordered.Count - 1;
    }

    /// <summary>The canonical lower-case name (unknown names become <c>unknown</c>).</summary>
    public static string Normalise(string? severity) => Ordered[Rank(severity)];
}

/// <summary>Remediation deadlines by severity, in days from when a finding was first seen.</summary>
/// <param name="CriticalDays">Days to fix a critical finding.</param>
/// <param name="HighDays">Days to fix a high finding.</param>
/// <param name="MediumDays">Days to fix a medium finding.</param>
/// <param name="LowDays">Days to fix a low finding.</param>
public sealed record SlaPolicy(int CriticalDays = 15, int HighDays = 30, int MediumDays = 90, int LowDays = 180)
{
    /// <summary>The default policy (15/30/90/180 days).</summary>
    public static SlaPolicy Default { get; } = new();

    /// <summary>Days allowed for a severity; null when the severity has no deadline.</summary>
    public int? DaysFor(string severity) => Severities.Normalise(severity) switch
    {
        "critical" => CriticalDays,
        "high" => HighDays,
        "medium" => MediumDays,
        "low" => LowDays,
        _ => null,
    };

    /// <summary>Days past the deadline at <paramref name="now"/> (negative or zero when within the SLA); null without a deadline.</summary>
    public double? DaysOverdue(string severity, DateTimeOffset firstSeen, DateTimeOffset now) =>
        DaysFor(severity) is { } days ? (now - firstSeen).TotalDays - days : null;
}

/// <summary>A risk score with the factors that produced it.</summary>
/// <param name="Score">0–100.</param>
/// <param name="Factors">Contributions in order of weight.</param>
public sealed record RiskBreakdown(double Score, IReadOnlyList<RiskFactor> Factors);

/// <summary>One factor of a risk score.</summary>
/// <param name="Name">Factor (severity, EPSS, KEV, exposure...).</param>
/// <param name="Contribution">Points it adds (may be negative for compensating controls).</param>
/// <param name="Detail">Why.</param>
public sealed record RiskFactor(string Name, double Contribution, string Detail);

/// <summary>A finding as reports see it.</summary>
/// <param name="Id">Finding id.</param>
/// <param name="Project">Project name.</param>
/// <param name="SbomVersion">SBOM version label.</param>
/// <param name="Component">Component name.</param>
/// <param name="ComponentVersion">Component version, if known.</param>
/// <param name="Purl">Package URL, if known.</param>
/// <param name="VulnerabilityId">Vulnerability id (CVE when known).</param>
/// <param name="Aliases">Other ids.</param>
/// <param name="Severity">Severity name.</param>
/// <param name="Score">CVSS base score, if known.</param>
/// <param name="FixedVersions">Versions that fix it.</param>
/// <param name="State">Finding state name (<c>open</c>, <c>fixed</c>, <c>suppressed</c>...).</param>
/// <param name="StateReason">Reason of the last state change (VEX justification, triage note).</param>
/// <param name="Explanation">One-line explanation of the match.</param>
/// <param name="Kev">True when listed in CISA KEV.</param>
/// <param name="Epss">EPSS probability, if known.</param>
/// <param name="FirstSeen">When first seen.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="Risk">Risk breakdown when the risk module provides one.</param>
public sealed record FindingRow(
    string Id,
    string Project,
    string SbomVersion,
    string Component,
    string? ComponentVersion,
    string? Purl,
    string VulnerabilityId,
    IReadOnlyList<string> Aliases,
    string Severity,
    double? Score,
    IReadOnlyList<string> FixedVersions,
    string State,
    string? StateReason,
    string Explanation,
    bool Kev,
    double? Epss,
    DateTimeOffset FirstSeen,
    DateTimeOffset UpdatedAt,
    RiskBreakdown? Risk = null);

/// <summary>A project with its latest and previous SBOM versions' findings.</summary>
/// <param name="Name">Project name.</param>
/// <param name="LatestVersion">Label of the latest SBOM version, or null when none was uploaded.</param>
/// <param name="PreviousVersion">Label of the version before it, or null.</param>
/// <param name="Findings">Findings of the latest version.</param>
/// <param name="PreviousFindings">Findings of the previous version (empty when none).</param>
/// <param name="LatestUploadedAt">When the latest version was uploaded, if known.</param>
public sealed record ProjectSnapshot(string Name, string? LatestVersion, string? PreviousVersion, IReadOnlyList<FindingRow> Findings, IReadOnlyList<FindingRow> PreviousFindings, DateTimeOffset? LatestUploadedAt = null);

/// <summary>An asset or project with its risk score, from the risk module.</summary>
/// <param name="Name">Asset or project name.</param>
/// <param name="Kind">Kind (<c>project</c>, <c>host</c>...).</param>
/// <param name="Score">0–100.</param>
/// <param name="Trend">Change since the previous snapshot, if known.</param>
public sealed record AssetRisk(string Name, string Kind, double Score, double? Trend = null);

/// <summary>A tenant risk score at one time, for trends.</summary>
/// <param name="At">Snapshot time.</param>
/// <param name="Score">0–100.</param>
public sealed record RiskPoint(DateTimeOffset At, double Score);

/// <summary>An alert as reports see it.</summary>
/// <param name="Id">Alert id.</param>
/// <param name="Title">Title (usually the rule title).</param>
/// <param name="Severity">Severity name.</param>
/// <param name="Status">Status (<c>open</c>, <c>acknowledged</c>, <c>closed</c>...).</param>
/// <param name="RuleId">Rule that raised it, if any.</param>
/// <param name="Tactics">ATT&amp;CK tactic names.</param>
/// <param name="Techniques">ATT&amp;CK technique ids.</param>
/// <param name="Entity">Main entity (host, user, IP...).</param>
/// <param name="CreatedAt">When raised.</param>
/// <param name="AcknowledgedAt">When acknowledged, if it was.</param>
/// <param name="ResolvedAt">When closed, if it was.</param>
/// <param name="IncidentId">Incident it belongs to, if any.</param>
public sealed record AlertRow(
    string Id,
    string Title,
    string Severity,
    string Status,
    string? RuleId,
    IReadOnlyList<string> Tactics,
    IReadOnlyList<string> Techniques,
    string Entity,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? ResolvedAt,
    string? IncidentId = null);

/// <summary>An incident as reports see it.</summary>
/// <param name="Id">Incident id.</param>
/// <param name="Title">Title.</param>
/// <param name="Severity">Severity name.</param>
/// <param name="Status">Status.</param>
/// <param name="AlertCount">Alerts grouped into it.</param>
/// <param name="CreatedAt">When opened.</param>
/// <param name="AcknowledgedAt">When acknowledged, if it was.</param>
/// <param name="ResolvedAt">When closed, if it was.</param>
public sealed record IncidentRow(string Id, string Title, string Severity, string Status, int AlertCount, DateTimeOffset CreatedAt, DateTimeOffset? AcknowledgedAt, DateTimeOffset? ResolvedAt);

/// <summary>A playbook run as reports see it.</summary>
/// <param name="Id">Run id.</param>
/// <param name="Playbook">Playbook name.</param>
/// <param name="Trigger">What started it.</param>
/// <param name="Status">Status (<c>succeeded</c>, <c>failed</c>, <c>running</c>, <c>waiting</c>, <c>cancelled</c>...).</param>
/// <param name="StartedAt">Start.</param>
/// <param name="FinishedAt">End, if finished.</param>
/// <param name="Approvals">Approval steps of the run.</param>
/// <param name="Error">Failure reason, if it failed.</param>
public sealed record PlaybookRunRow(string Id, string Playbook, string Trigger, string Status, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, IReadOnlyList<ApprovalRow> Approvals, string? Error);

/// <summary>One approval step of a playbook run.</summary>
/// <param name="Step">Step name.</param>
/// <param name="Decision"><c>approved</c>, <c>rejected</c>, <c>pending</c> or <c>expired</c>.</param>
/// <param name="DecidedBy">Who decided, if decided.</param>
/// <param name="RequestedAt">When requested.</param>
/// <param name="DecidedAt">When decided, if decided.</param>
public sealed record ApprovalRow(string Step, string Decision, string? DecidedBy, DateTimeOffset RequestedAt, DateTimeOffset? DecidedAt);

/// <summary>A detection rule for the ATT&amp;CK coverage report.</summary>
/// <param name="Id">Rule id.</param>
/// <param name="Title">Title.</param>
/// <param name="Enabled">Whether the rule is enabled.</param>
/// <param name="Tags">Its tags (<c>attack.t1059.001</c>, <c>attack.execution</c>...).</param>
public sealed record RuleInfo(string Id, string Title, bool Enabled, IReadOnlyList<string> Tags);

/// <summary>A user or API key for access reviews.</summary>
/// <param name="Kind"><c>user</c> or <c>api-key</c>.</param>
/// <param name="Name">Name.</param>
/// <param name="Role">Role name.</param>
/// <param name="Active">False when disabled, revoked or expired.</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="LastUsedAt">Last use, when tracked.</param>
/// <param name="ExpiresAt">Expiry, when set.</param>
public sealed record AccessEntry(string Kind, string Name, string Role, bool Active, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? ExpiresAt);

/// <summary>Result of verifying the tenant's audit hash chain.</summary>
/// <param name="Valid">True when every link holds.</param>
/// <param name="Entries">Entries checked.</param>
/// <param name="Detail">First broken link, when not valid.</param>
public sealed record AuditIntegrity(bool Valid, long Entries, string? Detail);
