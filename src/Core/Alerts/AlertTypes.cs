namespace McpSecurity.Core.Alerts;

/// <summary>Life-cycle states of an alert or an incident.</summary>
public enum AlertStatus
{
    /// <summary>New, not looked at yet.</summary>
    Open = 0,

    /// <summary>Someone is on it.</summary>
    Acknowledged = 1,

    /// <summary>Done: handled or dismissed.</summary>
    Closed = 2,
}

/// <summary>Names of alert states and levels for APIs.</summary>
public static class AlertStatuses
{
    private static readonly string[] LevelOrder = ["informational", "low", "medium", "high", "critical"];

    /// <summary>Lower-case state name.</summary>
    public static string Name(this AlertStatus status) => status switch
    {
        AlertStatus.Open => "open",
        AlertStatus.Acknowledged => "acknowledged",
        AlertStatus.Closed => "closed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>Parses a state name or throws a <see cref="ValidationException"/> naming <paramref name="field"/>.</summary>
    public static AlertStatus Parse(string? value, string field = "status")
    {
        foreach (var s in Enum.GetValues<AlertStatus>())
        {
            if (string.Equals(s.Name(), value, StringComparison.OrdinalIgnoreCase))
            {
                return s;
            }
        }

        throw new ValidationException(field, $"'{field}' must be one of open, acknowledged, closed (got '{value}').");
    }

    /// <summary>Rank of a Sigma level (informational 0 … critical 4); unknown or missing levels rank as medium.</summary>
    public static int LevelRank(string? level)
    {
        var i = level is null ? -1 : Array.IndexOf(LevelOrder, level.ToLowerInvariant());
        return i < 0 ? 2 : i;
    }

    /// <summary>The canonical level name for a rank.</summary>
    public static string LevelName(int rank) => LevelOrder[Math.Clamp(rank, 0, LevelOrder.Length - 1)];

    /// <summary>Validates a level filter value; throws a <see cref="ValidationException"/> naming the valid values.</summary>
    public static string ParseLevel(string value, string field = "level")
    {
        foreach (var l in LevelOrder)
        {
            if (string.Equals(l, value, StringComparison.OrdinalIgnoreCase))
            {
                return l;
            }
        }

        throw new ValidationException(field, $"'{field}' must be one of informational, low, medium, high, critical (got '{value}').");
    }
}

/// <summary>The entities an event is about; any may be unknown.</summary>
/// <param name="Host">Host name.</param>
/// <param name="User">User name.</param>
/// <param name="Process">Process image (path or name).</param>
/// <param name="SourceIp">Source IP address.</param>
/// <param name="DestinationIp">Destination IP address.</param>
public sealed record AlertEntities(string? Host, string? User, string? Process, string? SourceIp, string? DestinationIp)
{
    /// <summary>No entity known.</summary>
    public static AlertEntities None { get; } = new(null, null, null, null, null);

    /// <summary>
    /// The entity incidents group by: the host when known, else the user, else the source IP, else the
    /// destination IP, as <c>kind:value</c> (lower-cased); null when none is known.
    /// </summary>
    public string? PrimaryKey =>
        Host is not null ? "host:" + Host.ToLowerInvariant()
        : User is not null ? "user:" + User.ToLowerInvariant()
        : SourceIp is not null ? "ip:" + SourceIp.ToLowerInvariant()
        : DestinationIp is not null ? "ip:" + DestinationIp.ToLowerInvariant()
        : null;

    /// <summary>All entity values joined, case-insensitively: alerts of one rule dedupe on it.</summary>
    public string DedupeKey => string.Join('\u001f', Host?.ToLowerInvariant(), User?.ToLowerInvariant(), Process?.ToLowerInvariant(), SourceIp, DestinationIp);
}

/// <summary>An ATT&amp;CK object an alert refers to.</summary>
/// <param name="Id">External id, e.g. <c>T1059.001</c> or <c>TA0002</c>.</param>
/// <param name="Name">Name in the loaded ATT&amp;CK catalogue.</param>
/// <param name="Tag">The rule tag it was resolved from.</param>
/// <param name="Note">Why the resolution was not clean (revoked and replaced, deprecated), else null.</param>
public sealed record AttackReference(string Id, string Name, string Tag, string? Note = null);

/// <summary>An <c>attack.*</c> tag the catalogue did not resolve; kept and reported, never dropped.</summary>
/// <param name="Tag">The tag as written in the rule.</param>
/// <param name="Reason">Why it did not resolve.</param>
public sealed record UnresolvedTag(string Tag, string Reason);

/// <summary>ATT&amp;CK context of an alert, resolved from its rule's tags.</summary>
/// <param name="Techniques">Techniques and sub-techniques.</param>
/// <param name="Tactics">Tactics (from tactic tags and from the techniques' kill-chain phases).</param>
/// <param name="Unresolved">Tags the catalogue did not know (also every tag when no catalogue is loaded).</param>
public sealed record AlertAttack(IReadOnlyList<AttackReference> Techniques, IReadOnlyList<AttackReference> Tactics, IReadOnlyList<UnresolvedTag> Unresolved)
{
    /// <summary>No ATT&amp;CK context.</summary>
    public static AlertAttack Empty { get; } = new([], [], []);
}

/// <summary>A rule match to be stored as an alert (or merged into one).</summary>
/// <param name="RuleId">Rule id.</param>
/// <param name="RuleTitle">Rule title.</param>
/// <param name="Level">Rule level.</param>
/// <param name="Author">Rule author (the Detection Rule License requires it on every alert).</param>
/// <param name="RuleFile">Rule file, or the source name of an uploaded rule.</param>
/// <param name="EventTime">Time of the matching event.</param>
/// <param name="Entities">Entities of the event.</param>
/// <param name="Attack">ATT&amp;CK context.</param>
/// <param name="Sample">The matching event (UTF-8 JSON), kept as a sample.</param>
/// <param name="MatchedFields">Fields whose values made the rule match.</param>
public sealed record NewAlert(
    string RuleId,
    string RuleTitle,
    string? Level,
    string? Author,
    string? RuleFile,
    DateTimeOffset EventTime,
    AlertEntities Entities,
    AlertAttack Attack,
    ReadOnlyMemory<byte> Sample,
    IReadOnlyList<string> MatchedFields);

/// <summary>How matches become alerts and incidents.</summary>
/// <param name="DedupeWindow">A match of the same rule on the same entities within this time of an open or acknowledged alert's last event is merged into it.</param>
/// <param name="SuppressionWindow">After an alert of a rule and entities is closed, further matches within this time are counted on it and raise nothing.</param>
/// <param name="IncidentWindow">A new alert joins the open incident of its primary entity when that incident saw an alert within this time.</param>
/// <param name="MaxSamples">Matching events kept per alert.</param>
/// <param name="MaxSampleBytes">Largest event kept as a sample; larger ones are recorded by size only.</param>
public sealed record AlertPolicy(TimeSpan DedupeWindow, TimeSpan SuppressionWindow, TimeSpan IncidentWindow, int MaxSamples = 5, int MaxSampleBytes = 16 * 1024)
{
    /// <summary>One hour dedupe, one hour suppression, one day incident window, 5 samples of up to 16 KiB.</summary>
    public static AlertPolicy Default { get; } = new(TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.FromDays(1));
}

/// <summary>What storing a match did.</summary>
public enum AlertOutcome
{
    /// <summary>A new alert was created.</summary>
    Created,

    /// <summary>The match was merged into an existing alert (dedupe window).</summary>
    Merged,

    /// <summary>The match fell in the suppression window of a closed alert; counted, nothing raised.</summary>
    Suppressed,
}

/// <summary>Result of <see cref="IAlertStore.RecordAsync"/>.</summary>
/// <param name="Outcome">Created, merged or suppressed.</param>
/// <param name="AlertId">The alert created or merged into (or that suppressed the match).</param>
/// <param name="IncidentId">The incident the alert belongs to, if any.</param>
/// <param name="IncidentCreated">True when this match opened a new incident.</param>
public sealed record AlertWrite(AlertOutcome Outcome, string AlertId, string? IncidentId, bool IncidentCreated);

/// <summary>A stored alert.</summary>
public sealed record Alert(
    string Id,
    string TenantId,
    string RuleId,
    string RuleTitle,
    string Level,
    string? Author,
    string? RuleFile,
    AlertEntities Entities,
    AlertAttack Attack,
    IReadOnlyList<string> MatchedFields,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    long Count,
    long Suppressed,
    AlertStatus Status,
    string? StatusReason,
    string? Assignee,
    string? IncidentId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>Filters of an alert listing; newest first, keyset paging with <see cref="After"/>.</summary>
/// <param name="Status">Only this state.</param>
/// <param name="Level">Only this level.</param>
/// <param name="RuleId">Only this rule.</param>
/// <param name="Entity">Only alerts with this host, user, process, source or destination IP (exact, case-insensitive).</param>
/// <param name="Since">First seen at or after.</param>
/// <param name="Until">First seen before.</param>
/// <param name="IncidentId">Only alerts of this incident.</param>
/// <param name="Limit">Page size (1-1000).</param>
/// <param name="After">Cursor returned with the previous page.</param>
public sealed record AlertQuery(
    AlertStatus? Status = null,
    string? Level = null,
    string? RuleId = null,
    string? Entity = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null,
    string? IncidentId = null,
    int Limit = 100,
    string? After = null);

/// <summary>A group of alerts about one entity within a time window.</summary>
public sealed record Incident(
    string Id,
    string TenantId,
    string Title,
    string EntityKey,
    string Level,
    AlertStatus Status,
    string? StatusReason,
    string? Assignee,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    int AlertCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>Filters of an incident listing; newest first, keyset paging with <see cref="After"/>.</summary>
/// <param name="Status">Only this state.</param>
/// <param name="Entity">Only this entity key (<c>host:name</c>, <c>user:name</c>, <c>ip:addr</c>) or bare value.</param>
/// <param name="Since">First seen at or after.</param>
/// <param name="Until">First seen before.</param>
/// <param name="Limit">Page size (1-1000).</param>
/// <param name="After">Cursor returned with the previous page.</param>
public sealed record IncidentQuery(AlertStatus? Status = null, string? Entity = null, DateTimeOffset? Since = null, DateTimeOffset? Until = null, int Limit = 100, string? After = null);

/// <summary>A tenant's setting for one rule: enabled or not, and the YAML of a rule the tenant uploaded.</summary>
/// <param name="RuleId">Rule id.</param>
/// <param name="Title">Rule title (of an uploaded rule, or as known when it was disabled).</param>
/// <param name="Enabled">False when the tenant disabled the rule.</param>
/// <param name="Yaml">The uploaded rule text, or null for a rule from the configured directories.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="UpdatedBy">Who made the last change.</param>
public sealed record TenantRule(string RuleId, string? Title, bool Enabled, string? Yaml, DateTimeOffset UpdatedAt, string UpdatedBy)
{
    /// <summary>True for a rule the tenant uploaded.</summary>
    public bool Uploaded => Yaml is not null;
}

/// <summary>Keyset paging of alert and incident listings (newest first).</summary>
public static class AlertPaging
{
    /// <summary>The cursor that continues a listing after the item first seen at <paramref name="firstSeen"/> with id <paramref name="id"/>.</summary>
    public static string Cursor(DateTimeOffset firstSeen, string id) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{firstSeen.ToUnixTimeMilliseconds()}.{id}");
}
