using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Reporting.Data;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Server.Reporting;

/// <summary>
/// Report feeds of the modules installed in this host: playbook runs and approvals from the response store.
/// Alerts, incidents and risk still answer "not available" until their stores are wired here.
/// </summary>
public sealed class PlatformReportFeeds : UnavailableReportFeeds
{
    /// <summary>Most runs and approvals read per report (the newest ones).</summary>
    public const int MaxRuns = 1000;

    /// <inheritdoc />
    public override async Task<DataSource<PlaybookRunRow>> RunsAsync(ITenantStore tenant, ReportPeriod period, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var runs = await tenant.Response.ListRunsAsync(new RunQuery(Limit: MaxRuns), cancellationToken).ConfigureAwait(false);
        var approvals = new Dictionary<string, List<ApprovalRow>>(StringComparer.Ordinal);
        foreach (var a in await tenant.Response.ListApprovalsAsync(null, MaxRuns, cancellationToken).ConfigureAwait(false))
        {
            if (!approvals.TryGetValue(a.RunId, out var list))
            {
                approvals[a.RunId] = list = [];
            }

            list.Add(new ApprovalRow(a.StepKey, a.State.ToString().ToLowerInvariant(), a.DecidedBy, a.CreatedAt, a.DecidedAt));
        }

        var rows = new List<PlaybookRunRow>(runs.Count);
        foreach (var r in runs)
        {
            rows.Add(new PlaybookRunRow(r.Id, r.PlaybookName, r.TriggerKind, r.State.Name(), r.CreatedAt, r.FinishedAt,
                approvals.TryGetValue(r.Id, out var list) ? list : [], r.Error));
        }

        return DataSource.Of<PlaybookRunRow>(rows);
    }
}
