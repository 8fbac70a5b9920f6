using System.Globalization;

namespace McpSecurity.Core.Risk;

/// <summary>Risk levels, from the 0–100 score (thresholds in docs/risk-model.md).</summary>
public enum RiskLevel
{
    /// <summary>Below 10: informational.</summary>
    Info = 0,

    /// <summary>10 to below 35.</summary>
    Low = 1,

    /// <summary>35 to below 60.</summary>
    Medium = 2,

    /// <summary>60 to below 80.</summary>
    High = 3,

    /// <summary>80 and above.</summary>
    Critical = 4,
}

/// <summary>How sensitive the data an asset holds is.</summary>
public enum DataClassification
{
    /// <summary>Meant for everyone.</summary>
    Public = 0,

    /// <summary>Internal use; the default when nothing is said.</summary>
    Internal = 1,

    /// <summary>Customer or business confidential data.</summary>
    Confidential = 2,

    /// <summary>Regulated or secret data (payment cards, health records, keys).</summary>
    Restricted = 3,
}

/// <summary>Names and parsing of the risk enumerations; parsing refuses unknown values naming the field.</summary>
public static class RiskNames
{
    /// <summary>Valid asset environments.</summary>
    public static readonly IReadOnlyList<string> Environments = ["production", "staging", "development", "test"];

    /// <summary>Lower-case name of a level.</summary>
    public static string Name(this RiskLevel level) => level switch
    {
        RiskLevel.Info => "info",
        RiskLevel.Low => "low",
        RiskLevel.Medium => "medium",
        RiskLevel.High => "high",
        RiskLevel.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    /// <summary>Lower-case name of a data classification.</summary>
    public static string Name(this DataClassification value) => value switch
    {
        DataClassification.Public => "public",
        DataClassification.Internal => "internal",
        DataClassification.Confidential => "confidential",
        DataClassification.Restricted => "restricted",
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    /// <summary>Parses a level name or throws a <see cref="ValidationException"/> naming <paramref name="field"/>.</summary>
    public static RiskLevel ParseLevel(string? value, string field)
    {
        foreach (var l in Enum.GetValues<RiskLevel>())
        {
            if (string.Equals(l.Name(), value?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return l;
            }
        }

        throw new ValidationException(field, $"Unknown risk level '{value}'. Valid: critical, high, medium, low, info.");
    }

    /// <summary>Parses a data classification or throws a <see cref="ValidationException"/> naming <paramref name="field"/>.</summary>
    public static DataClassification ParseClassification(string? value, string field)
    {
        foreach (var d in Enum.GetValues<DataClassification>())
        {
            if (string.Equals(d.Name(), value?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return d;
            }
        }

        throw new ValidationException(field, $"Unknown data classification '{value}'. Valid: public, internal, confidential, restricted.");
    }

    /// <summary>Validates an asset criticality tier: 0 (most critical) to 3.</summary>
    public static int ValidateTier(int? tier, string field) => tier switch
    {
        null => throw new ValidationException(field, $"'{field}' is required: a criticality tier from 0 (business critical) to 3 (low)."),
        < 0 or > 3 => throw new ValidationException(field, string.Create(CultureInfo.InvariantCulture, $"Unknown tier {tier}. Tiers are 0 (business critical), 1, 2 and 3 (low).")),
        _ => tier.Value,
    };

    /// <summary>Validates an environment name (production, staging, development, test).</summary>
    public static string ValidateEnvironment(string? value, string field)
    {
        var v = (value ?? "production").Trim().ToLowerInvariant();
        foreach (var e in Environments)
        {
            if (string.Equals(e, v, StringComparison.Ordinal))
            {
                return e;
            }
        }

        throw new ValidationException(field, $"Unknown environment '{value}'. Valid: production, staging, development, test.");
    }

    /// <summary>
    /// Validates CVSS security requirements as <c>CR:H/IR:M/AR:L</c> (any subset, each L, M or H) and
    /// returns them in canonical order, or null when empty.
    /// </summary>
    public static string? ValidateRequirements(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        string? cr = null, ir = null, ar = null;
        foreach (var part in value.Trim().Split('/'))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            var key = colon < 0 ? part : part[..colon];
            var v = colon < 0 ? string.Empty : part[(colon + 1)..];
            if (v is not ("L" or "M" or "H"))
            {
                throw new ValidationException(field, $"Security requirement '{part}' must be CR, IR or AR with value L, M or H, e.g. 'CR:H/IR:M/AR:L'.");
            }

            switch (key)
            {
                case "CR" when cr is null: cr = v; break;
                case "IR" when ir is null: ir = v; break;
                case "AR" when ar is null: ar = v; break;
                default:
                    throw new ValidationException(field, $"Security requirement '{part}' is unknown or repeated; use CR, IR and AR at most once each, e.g. 'CR:H/IR:M/AR:L'.");
            }
        }

        var parts = new List<string>(3);
        if (cr is not null)
        {
            parts.Add("CR:" + cr);
        }

        if (ir is not null)
        {
            parts.Add("IR:" + ir);
        }

        if (ar is not null)
        {
            parts.Add("AR:" + ar);
        }

        return string.Join('/', parts);
    }
}

/// <summary>An asset of the inventory: what runs, how important it is, how exposed, and what it is linked to.</summary>
/// <param name="Id">Asset id.</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="Name">Unique name (case-insensitive) within the tenant.</param>
/// <param name="Kind">Free kind such as application, service, host, database.</param>
/// <param name="Tier">Criticality tier: 0 business critical, 1 high, 2 medium, 3 low.</param>
/// <param name="Owner">Owning team or person.</param>
/// <param name="Environment">production, staging, development or test.</param>
/// <param name="InternetFacing">Reachable from the internet.</param>
/// <param name="DataClassification">The most sensitive data it holds.</param>
/// <param name="BusinessService">The business service it belongs to, for aggregation.</param>
/// <param name="Tags">Free tags.</param>
/// <param name="Projects">Linked supply-chain projects (ids or names).</param>
/// <param name="Hosts">Linked host names or addresses (for alerts).</param>
/// <param name="SecurityRequirements">CVSS environmental requirements, e.g. <c>CR:H/IR:M/AR:L</c>.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record Asset(
    string Id,
    string TenantId,
    string Name,
    string Kind,
    int Tier,
    string? Owner,
    string Environment,
    bool InternetFacing,
    DataClassification DataClassification,
    string? BusinessService,
    IReadOnlyList<string> Tags,
    IReadOnlyList<string> Projects,
    IReadOnlyList<string> Hosts,
    string? SecurityRequirements,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>What a caller gives to create, replace or import an asset. <see cref="Validate"/> checks it at the boundary.</summary>
public sealed record AssetSpec(
    string? Name,
    string? Kind,
    int? Tier,
    string? Owner,
    string? Environment,
    bool? InternetFacing,
    string? DataClassification,
    string? BusinessService,
    IReadOnlyList<string>? Tags,
    IReadOnlyList<string>? Projects,
    IReadOnlyList<string>? Hosts,
    string? SecurityRequirements)
{
    /// <summary>Most entries in each of tags, projects and hosts.</summary>
    public const int MaxListEntries = 100;

    /// <summary>A validated, normalised copy; <paramref name="where"/> prefixes field names (e.g. "line 3: ").</summary>
    public ValidAsset Validate(string where = "")
    {
        var name = Names.Validate(Name, where + "name");
        var kind = string.IsNullOrWhiteSpace(Kind) ? "application" : Names.Validate(Kind, where + "kind").ToLowerInvariant();
        var tier = RiskNames.ValidateTier(Tier, where + "tier");
        var owner = string.IsNullOrWhiteSpace(Owner) ? null : Names.Validate(Owner, where + "owner");
        var env = RiskNames.ValidateEnvironment(Environment, where + "environment");
        var data = string.IsNullOrWhiteSpace(DataClassification) ? Risk.DataClassification.Internal : RiskNames.ParseClassification(DataClassification, where + "dataClassification");
        var service = string.IsNullOrWhiteSpace(BusinessService) ? null : Names.Validate(BusinessService, where + "businessService");
        return new ValidAsset(name, kind, tier, owner, env, InternetFacing ?? false, data, service,
            List(Tags, where + "tags"), List(Projects, where + "projects"), List(Hosts, where + "hosts"),
            RiskNames.ValidateRequirements(SecurityRequirements, where + "securityRequirements"));
    }

    private static string[] List(IReadOnlyList<string>? values, string field)
    {
        if (values is null || values.Count == 0)
        {
            return [];
        }

        if (values.Count > MaxListEntries)
        {
            throw new ValidationException(field, $"'{field}' has {values.Count} entries; at most {MaxListEntries} are allowed.");
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var list = new List<string>(values.Count);
        foreach (var v in values)
        {
            var s = Names.Validate(v, field);
            if (seen.Add(s))
            {
                list.Add(s);
            }
        }

        return [.. list];
    }
}

/// <summary>An asset specification that passed <see cref="AssetSpec.Validate"/>.</summary>
public sealed record ValidAsset(
    string Name,
    string Kind,
    int Tier,
    string? Owner,
    string Environment,
    bool InternetFacing,
    DataClassification DataClassification,
    string? BusinessService,
    IReadOnlyList<string> Tags,
    IReadOnlyList<string> Projects,
    IReadOnlyList<string> Hosts,
    string? SecurityRequirements);

/// <summary>Life-cycle of a risk assessment.</summary>
public enum AssessmentState
{
    /// <summary>Waiting for its job.</summary>
    Queued = 0,

    /// <summary>Being computed.</summary>
    Running = 1,

    /// <summary>Done; the result is stored.</summary>
    Completed = 2,

    /// <summary>Failed; the error is stored.</summary>
    Failed = 3,
}

/// <summary>A requested risk assessment and, once done, its report.</summary>
/// <param name="Id">Assessment id.</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="State">Queued, running, completed or failed.</param>
/// <param name="Request">The validated request as JSON (scope and business context).</param>
/// <param name="Result">The report as JSON once completed.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="JobId">The job computing it.</param>
/// <param name="CreatedAt">Request time.</param>
/// <param name="CompletedAt">Completion time.</param>
/// <param name="CreatedBy">Who asked.</param>
public sealed record Assessment(
    string Id,
    string TenantId,
    AssessmentState State,
    string Request,
    string? Result,
    string? Error,
    string JobId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    string CreatedBy);

/// <summary>One entity's risk on one day.</summary>
/// <param name="EntityKind">tenant, service, project or asset.</param>
/// <param name="EntityId">Entity id (the tenant id for the tenant).</param>
/// <param name="EntityName">Display name.</param>
/// <param name="Score">Aggregated score 0–100.</param>
/// <param name="Level">Level name.</param>
/// <param name="Findings">Scored findings counted in.</param>
/// <param name="Critical">Findings at level critical.</param>
/// <param name="High">Findings at level high.</param>
public sealed record RiskSnapshotEntry(string EntityKind, string EntityId, string? EntityName, double Score, string Level, int Findings, int Critical, int High);

/// <summary>A day's risk picture: entity scores plus the per-finding scores (opaque, compact encoding owned by the risk module).</summary>
/// <param name="Day">The UTC day.</param>
/// <param name="Entities">Per-entity scores.</param>
/// <param name="FindingData">Encoded per-finding scores and factors, for "what changed" diffs.</param>
public sealed record RiskSnapshot(DateOnly Day, IReadOnlyList<RiskSnapshotEntry> Entities, ReadOnlyMemory<byte> FindingData);

/// <summary>One point of a trend.</summary>
public sealed record RiskTrendPoint(DateOnly Day, double Score, string Level, int Findings);
