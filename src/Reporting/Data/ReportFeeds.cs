using McpSecurity.Core.Storage;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Data;

/// <summary>
/// Data of modules that reports read but that live outside the supply-chain store: alerts, incidents, playbook
/// runs, risk scores and detection rules. A host wires each feed to its module's store when the module is
/// installed; until then a feed answers <see cref="DataSource.Unavailable{T}"/> and the report says so.
/// </summary>
public interface IReportFeeds
{
    /// <summary>Alerts of the tenant created in or before the period.</summary>
    Task<DataSource<AlertRow>> AlertsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken);

    /// <summary>Incidents of the tenant.</summary>
    Task<DataSource<IncidentRow>> IncidentsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken);

    /// <summary>Playbook runs of the tenant.</summary>
    Task<DataSource<PlaybookRunRow>> RunsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken);

    /// <summary>Risk scores of the tenant's assets and projects.</summary>
    Task<DataSource<AssetRisk>> RiskAsync(ITenantStore tenant, CancellationToken cancellationToken);

    /// <summary>Tenant risk score snapshots in the period, oldest first.</summary>
    Task<DataSource<RiskPoint>> RiskTrendAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken);

    /// <summary>Detection rules and whether each is enabled.</summary>
    Task<DataSource<RuleInfo>> RulesAsync(ITenantStore tenant, CancellationToken cancellationToken);

    /// <summary>Risk breakdowns of findings by finding id (empty when the risk module is not installed).</summary>
    Task<IReadOnlyDictionary<string, RiskBreakdown>> FindingRiskAsync(ITenantStore tenant, IReadOnlyList<string> findingIds, CancellationToken cancellationToken);

    /// <summary>Why findings have no risk breakdown; null when the risk module supplies them.</summary>
    string? FindingRiskUnavailableReason { get; }
}

/// <summary>
/// Feeds for an installation without the detection, response and risk modules: each says why it has no data.
/// Rules can be supplied (the CLI loads them from a directory); everything else is unavailable.
/// </summary>
public class UnavailableReportFeeds : IReportFeeds
{
    /// <summary>Rules supplied by the host, or null.</summary>
    public IReadOnlyList<RuleInfo>? Rules { get; init; }

    /// <inheritdoc />
    public virtual Task<DataSource<AlertRow>> AlertsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken) =>
        Task.FromResult(DataSource.Unavailable<AlertRow>("the alert store (detection module) is not installed in this version"));

    /// <inheritdoc />
    public virtual Task<DataSource<IncidentRow>> IncidentsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken) =>
        Task.FromResult(DataSource.Unavailable<IncidentRow>("the incident store (detection module) is not installed in this version"));

    /// <inheritdoc />
    public virtual Task<DataSource<PlaybookRunRow>> RunsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken) =>
        Task.FromResult(DataSource.Unavailable<PlaybookRunRow>("the playbook store (response module) is not installed in this version"));

    /// <inheritdoc />
    public virtual Task<DataSource<AssetRisk>> RiskAsync(ITenantStore tenant, CancellationToken cancellationToken) =>
        Task.FromResult(DataSource.Unavailable<AssetRisk>("the risk module is not installed in this version"));

    /// <inheritdoc />
    public virtual Task<DataSource<RiskPoint>> RiskTrendAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken) =>
        Task.FromResult(DataSource.Unavailable<RiskPoint>("the risk module is not installed in this version"));

    /// <inheritdoc />
    public virtual Task<DataSource<RuleInfo>> RulesAsync(ITenantStore tenant, CancellationToken cancellationToken) =>
        Task.FromResult(Rules is { } rules ? DataSource.Of(rules) : DataSource.Unavailable<RuleInfo>("no rule store in this version; pass --rules DIR to the CLI"));

    /// <inheritdoc />
    public virtual Task<IReadOnlyDictionary<string, RiskBreakdown>> FindingRiskAsync(ITenantStore tenant, IReadOnlyList<string> findingIds, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, RiskBreakdown>>(new Dictionary<string, RiskBreakdown>());

    /// <inheritdoc />
    public virtual string? FindingRiskUnavailableReason => "the risk module is not installed in this version";
}
