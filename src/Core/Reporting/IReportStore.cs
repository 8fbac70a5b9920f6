using McpSecurity.Core.Access;

namespace McpSecurity.Core.Reporting;

/// <summary>A generated report file kept for download until it expires.</summary>
/// <param name="Id">Artifact id.</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="Kind">Report kind name.</param>
/// <param name="Format">Format name (<c>html</c>, <c>pdf</c>, <c>csv</c>, <c>json</c>).</param>
/// <param name="Title">Report title.</param>
/// <param name="FileName">File name for downloads.</param>
/// <param name="MediaType">Media type.</param>
/// <param name="SizeBytes">Content length.</param>
/// <param name="Sha256">Hex SHA-256 of the content.</param>
/// <param name="Parameters">The request that produced it, as JSON.</param>
/// <param name="PeriodFrom">Period start.</param>
/// <param name="PeriodTo">Period end.</param>
/// <param name="Empty">True when the period had no data.</param>
/// <param name="ScheduleId">Schedule that produced it, if any.</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="CreatedBy">Who asked for it.</param>
/// <param name="ExpiresAt">When retention removes it.</param>
public sealed record ReportArtifact(
    string Id,
    string TenantId,
    string Kind,
    string Format,
    string Title,
    string FileName,
    string MediaType,
    long SizeBytes,
    string Sha256,
    string Parameters,
    DateTimeOffset PeriodFrom,
    DateTimeOffset PeriodTo,
    bool Empty,
    string? ScheduleId,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset ExpiresAt);

/// <summary>A report to store; the store assigns id, hash and creation time.</summary>
/// <param name="Kind">Report kind name.</param>
/// <param name="Format">Format name.</param>
/// <param name="Title">Title.</param>
/// <param name="FileName">File name.</param>
/// <param name="MediaType">Media type.</param>
/// <param name="Content">The rendered report.</param>
/// <param name="Parameters">The request as JSON.</param>
/// <param name="PeriodFrom">Period start.</param>
/// <param name="PeriodTo">Period end.</param>
/// <param name="Empty">True when the period had no data.</param>
/// <param name="ScheduleId">Producing schedule, if any.</param>
/// <param name="ExpiresAt">Retention end.</param>
public sealed record NewReportArtifact(
    string Kind,
    string Format,
    string Title,
    string FileName,
    string MediaType,
    ReadOnlyMemory<byte> Content,
    string Parameters,
    DateTimeOffset PeriodFrom,
    DateTimeOffset PeriodTo,
    bool Empty,
    string? ScheduleId,
    DateTimeOffset ExpiresAt);

/// <summary>A per-tenant schedule that generates a report on a cron expression in a time zone.</summary>
/// <param name="Id">Schedule id.</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="Name">Unique name in the tenant.</param>
/// <param name="Cron">Cron expression (5 fields, or 6 with seconds).</param>
/// <param name="TimeZone">IANA time zone the expression is read in.</param>
/// <param name="Kind">Report kind name.</param>
/// <param name="Format">Format name.</param>
/// <param name="Parameters">Report options (project, framework, period length) as JSON.</param>
/// <param name="RetentionDays">Days each generated artifact is kept.</param>
/// <param name="Enabled">False to pause.</param>
/// <param name="NextRunAt">Next due time (null when paused or the expression never fires again).</param>
/// <param name="LastRunAt">Last time it fired.</param>
/// <param name="LastJobId">Job queued by the last run.</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="CreatedBy">Creator.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record ReportSchedule(
    string Id,
    string TenantId,
    string Name,
    string Cron,
    string TimeZone,
    string Kind,
    string Format,
    string Parameters,
    int RetentionDays,
    bool Enabled,
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    string? LastJobId,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset UpdatedAt);

/// <summary>Schedule fields set by users; validated (cron, time zone, kind) before the store sees them.</summary>
/// <param name="Name">Unique name.</param>
/// <param name="Cron">Cron expression.</param>
/// <param name="TimeZone">IANA time zone.</param>
/// <param name="Kind">Report kind.</param>
/// <param name="Format">Format.</param>
/// <param name="Parameters">Options as JSON.</param>
/// <param name="RetentionDays">Artifact retention.</param>
/// <param name="Enabled">Enabled.</param>
/// <param name="NextRunAt">First due time computed from the expression.</param>
public sealed record ReportScheduleSpec(string Name, string Cron, string TimeZone, string Kind, string Format, string Parameters, int RetentionDays, bool Enabled, DateTimeOffset? NextRunAt);

/// <summary>A tenant's stored reports and report schedules.</summary>
public interface IReportStore
{
    /// <summary>Stores a generated report; audited.</summary>
    Task<ReportArtifact> AddArtifactAsync(NewReportArtifact artifact, Actor actor, CancellationToken cancellationToken);

    /// <summary>Stored reports, newest first (metadata only).</summary>
    Task<IReadOnlyList<ReportArtifact>> ListArtifactsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>A stored report's metadata, or null.</summary>
    Task<ReportArtifact?> GetArtifactAsync(string id, CancellationToken cancellationToken);

    /// <summary>A stored report's content, or null.</summary>
    Task<byte[]?> GetArtifactContentAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes a stored report; audited. Throws <see cref="NotFoundException"/> when absent.</summary>
    Task DeleteArtifactAsync(string id, Actor actor, CancellationToken cancellationToken);

    /// <summary>Deletes every artifact whose retention ended at <paramref name="now"/>; audited when any was removed.</summary>
    Task<int> PurgeExpiredArtifactsAsync(DateTimeOffset now, Actor actor, CancellationToken cancellationToken);

    /// <summary>Creates a schedule (names unique per tenant, else <see cref="ConflictException"/>); audited.</summary>
    Task<ReportSchedule> CreateScheduleAsync(ReportScheduleSpec spec, Actor actor, CancellationToken cancellationToken);

    /// <summary>Replaces a schedule's fields; audited.</summary>
    Task<ReportSchedule> UpdateScheduleAsync(string id, ReportScheduleSpec spec, Actor actor, CancellationToken cancellationToken);

    /// <summary>Schedules by name.</summary>
    Task<IReadOnlyList<ReportSchedule>> ListSchedulesAsync(CancellationToken cancellationToken);

    /// <summary>A schedule by id, or null.</summary>
    Task<ReportSchedule?> GetScheduleAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes a schedule (its artifacts stay until they expire); audited.</summary>
    Task DeleteScheduleAsync(string id, Actor actor, CancellationToken cancellationToken);

    /// <summary>Enabled schedules due at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<ReportSchedule>> ListDueSchedulesAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Fires one occurrence: in one transaction, moves the schedule from <paramref name="expectedNextRun"/> to
    /// <paramref name="nextRun"/> only if nobody else did, and queues a job of <paramref name="jobKind"/> with
    /// <paramref name="jobPayload"/>. Two schedulers never fire one occurrence twice, and a crash never loses it.
    /// </summary>
    /// <returns>The queued job, or null when another scheduler fired this occurrence first.</returns>
    Task<Jobs.Job?> FireScheduleAsync(string id, DateTimeOffset expectedNextRun, DateTimeOffset? nextRun, string jobKind, string jobPayload, Actor actor, CancellationToken cancellationToken);
}
