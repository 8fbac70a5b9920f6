using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Risk.Context;

namespace McpSecurity.Risk.Assessment;

/// <summary>An explained, prioritised risk assessment.</summary>
public sealed record RiskReport(
    DateTimeOffset GeneratedAt,
    ContextDto? Context,
    IReadOnlyList<string> WeightAdjustments,
    EntityRiskDto Tenant,
    IReadOnlyList<EntityRiskDto> Services,
    IReadOnlyList<EntityRiskDto> Projects,
    IReadOnlyList<EntityRiskDto> Assets,
    IReadOnlyList<ScoredFindingDto> Findings,
    IReadOnlyList<ControlImpactDto> Controls,
    Narrative Narrative)
{
    /// <summary>Open alerts and incidents of the tenant, highest score first (at most <see cref="RiskAssessor.MaxReportedAlerts"/>).</summary>
    public IReadOnlyList<Alerts.ScoredAlertDto> Alerts { get; init; } = [];
}

/// <summary>The business context an assessment ran with.</summary>
public sealed record ContextDto(int ApplicationTier, string DataClassification, bool InternetFacing, string Environment, IReadOnlyList<string> Compliance, string? BusinessService);

/// <summary>One entity's aggregated risk.</summary>
public sealed record EntityRiskDto(string Kind, string Id, string Name, double Score, string Level, double Max, int Findings, int Critical, int High, int Alerts = 0);

/// <summary>The inputs a finding was scored from.</summary>
public sealed record FactorsDto(
    double? Cvss, double? EpssProbability, double? EpssPercentile, bool Kev, bool KevRansomware, int? KevDueInDays, string ExploitMaturity,
    int? AssetTier, bool InternetFacing, string DataClassification, int? DependencyDepth, string Control, int AgeDays, string? AttackVector);

/// <summary>Points each factor contributed; they add up to the score.</summary>
public sealed record BreakdownDto(double Severity, double Threat, double Asset, double Exposure, double Data, double Depth, double Controls, double Age, double KevOverdue, double Cap);

/// <summary>A scored finding with its explanation.</summary>
public sealed record ScoredFindingDto(
    string Id, string VulnerabilityId, IReadOnlyList<string> Aliases, string Component, string? Version, string? Purl,
    string ProjectId, string ProjectName, double Score, string Level, int SlaDays, FactorsDto Factors, BreakdownDto Breakdown,
    IReadOnlyList<string> Controls, IReadOnlyList<string> FixedVersions, string? Summary, string State);

/// <summary>A compliance control the findings bear on.</summary>
public sealed record ControlImpactDto(string Framework, string Id, string Title, int Findings, string WorstLevel, IReadOnlyList<string> VulnerabilityIds);

/// <summary>The written analysis: from templates, or from an LLM checked against the facts.</summary>
/// <param name="Source">"template" or "llm".</param>
/// <param name="Model">The model when <paramref name="Source"/> is "llm".</param>
/// <param name="Fallback">True when an LLM was asked but failed and the template text is shown instead.</param>
/// <param name="FallbackReason">Why the LLM answer was not used.</param>
/// <param name="Content">The analysis.</param>
/// <param name="GuardrailFlags">Claims dropped or text rejected by the guard-rails, one line each.</param>
/// <param name="Usage">Tokens used, when an LLM was called.</param>
public sealed record Narrative(string Source, string? Model, bool Fallback, string? FallbackReason, NarrativeContent Content, IReadOnlyList<string> GuardrailFlags, TokenUsage? Usage);

/// <summary>The analysis itself; also the JSON schema an LLM must answer in.</summary>
public sealed record NarrativeContent(
    string ExecutiveSummary,
    IReadOnlyList<TopRisk> TopRisks,
    IReadOnlyList<AttackVectorDto> AttackVectors,
    RemediationPlan Remediation,
    IReadOnlyList<ComplianceImpactDto> ComplianceImpact);

/// <summary>A top risk with its business impact.</summary>
public sealed record TopRisk(string Title, string BusinessImpact, IReadOnlyList<string> VulnerabilityIds, IReadOnlyList<string> Components);

/// <summary>A likely attack vector.</summary>
public sealed record AttackVectorDto(string Description, IReadOnlyList<string> VulnerabilityIds);

/// <summary>Remediation in three horizons.</summary>
public sealed record RemediationPlan(IReadOnlyList<RemediationItem> Immediate, IReadOnlyList<RemediationItem> ShortTerm, IReadOnlyList<RemediationItem> LongTerm);

/// <summary>One remediation step.</summary>
/// <param name="Action">What to do.</param>
/// <param name="Effort">low, medium or high.</param>
/// <param name="ExpectedRiskReduction">Points the tenant score is expected to drop.</param>
/// <param name="VulnerabilityIds">Vulnerabilities it addresses.</param>
/// <param name="Components">Components it changes.</param>
public sealed record RemediationItem(string Action, string Effort, double ExpectedRiskReduction, IReadOnlyList<string> VulnerabilityIds, IReadOnlyList<string> Components);

/// <summary>The impact on one compliance control.</summary>
public sealed record ComplianceImpactDto(string Framework, string Control, string Impact);

/// <summary>Token counts of LLM calls, and their cost at the configured prices (null when no price is configured).</summary>
public sealed record TokenUsage(long InputTokens, long OutputTokens, int Calls, double? Cost = null);

/// <summary>Source-generated JSON of the risk module.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RiskReport))]
[JsonSerializable(typeof(BusinessContextSpec))]
[JsonSerializable(typeof(NarrativeContent))]
[JsonSerializable(typeof(Scoring.FindingFactors))]
[JsonSerializable(typeof(Alerting.RiskEvent))]
[JsonSerializable(typeof(List<Core.Risk.AssetSpec>))]
[JsonSerializable(typeof(Snapshots.RiskDiffResult))]
public sealed partial class RiskJsonContext : JsonSerializerContext;
