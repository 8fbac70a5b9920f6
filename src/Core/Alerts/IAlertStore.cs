using McpSecurity.Core.Access;

namespace McpSecurity.Core.Alerts;

/// <summary>
/// A tenant's alerts, incidents, per-tenant rule settings and correlation checkpoints. Every change a
/// person makes (status, assignee, rule enable/disable/upload) and every alert or incident the platform
/// raises is audited in the same transaction; merging a repeat match into an existing alert only moves
/// its counters and is not audited.
/// </summary>
public interface IAlertStore
{
    /// <summary>
    /// Stores a rule match: merges it into a recent alert of the same rule and entities (dedupe window),
    /// counts it on a recently closed one (suppression window), or creates an alert and attaches it to
    /// the open incident of its primary entity (creating the incident when there is none in the window).
    /// One transaction; a failure leaves nothing behind.
    /// </summary>
    Task<AlertWrite> RecordAsync(NewAlert alert, AlertPolicy policy, Actor actor, CancellationToken cancellationToken);

    /// <summary>
    /// Stores many rule matches as <see cref="RecordAsync"/> does, in order and in one transaction (all or nothing),
    /// so a batch of events costs one commit; the results are in the order of <paramref name="alerts"/>.
    /// </summary>
    Task<IReadOnlyList<AlertWrite>> RecordManyAsync(IReadOnlyList<NewAlert> alerts, AlertPolicy policy, Actor actor, CancellationToken cancellationToken);

    /// <summary>Alerts matching a query, newest first; the cursor of the last one pages on.</summary>
    Task<IReadOnlyList<Alert>> ListAlertsAsync(AlertQuery query, CancellationToken cancellationToken);

    /// <summary>An alert by id, or null.</summary>
    Task<Alert?> GetAlertAsync(string id, CancellationToken cancellationToken);

    /// <summary>The matching events kept with an alert (UTF-8 JSON array), or null when the alert does not exist.</summary>
    Task<byte[]?> GetAlertSamplesAsync(string id, CancellationToken cancellationToken);

    /// <summary>Changes an alert's state, with an optional reason; audited.</summary>
    Task<Alert> SetAlertStatusAsync(string id, AlertStatus status, string? reason, Actor actor, CancellationToken cancellationToken);

    /// <summary>Assigns an alert to someone (null unassigns); audited.</summary>
    Task<Alert> AssignAlertAsync(string id, string? assignee, Actor actor, CancellationToken cancellationToken);

    /// <summary>Incidents matching a query, newest first.</summary>
    Task<IReadOnlyList<Incident>> ListIncidentsAsync(IncidentQuery query, CancellationToken cancellationToken);

    /// <summary>An incident by id, or null.</summary>
    Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken);

    /// <summary>Changes an incident's state, with an optional reason; audited.</summary>
    Task<Incident> SetIncidentStatusAsync(string id, AlertStatus status, string? reason, Actor actor, CancellationToken cancellationToken);

    /// <summary>Assigns an incident to someone (null unassigns); audited.</summary>
    Task<Incident> AssignIncidentAsync(string id, string? assignee, Actor actor, CancellationToken cancellationToken);

    /// <summary>The tenant's rule settings (disabled rules and uploaded rules), by rule id.</summary>
    Task<IReadOnlyList<TenantRule>> ListRulesAsync(CancellationToken cancellationToken);

    /// <summary>Enables or disables a rule for the tenant; audited.</summary>
    Task<TenantRule> SetRuleEnabledAsync(string ruleId, string? title, bool enabled, Actor actor, CancellationToken cancellationToken);

    /// <summary>Stores (or replaces) a rule the tenant uploaded; audited. The caller validates the YAML first.</summary>
    Task<TenantRule> SaveUploadedRuleAsync(string ruleId, string title, string yaml, Actor actor, CancellationToken cancellationToken);

    /// <summary>
    /// A value that changes whenever the tenant's rule settings change (count and latest change), so a
    /// process can tell cheaply whether its compiled rules are stale.
    /// </summary>
    Task<string> GetRulesStampAsync(CancellationToken cancellationToken);

    /// <summary>Saves correlation state under a key (opaque bytes; replaced whole). Not audited: it is engine state, not a decision.</summary>
    Task SaveCheckpointAsync(string key, ReadOnlyMemory<byte> state, CancellationToken cancellationToken);

    /// <summary>The correlation state saved under a key, or null.</summary>
    Task<byte[]?> LoadCheckpointAsync(string key, CancellationToken cancellationToken);
}
