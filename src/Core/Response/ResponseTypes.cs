namespace McpSecurity.Core.Response;

/// <summary>A stored playbook: its YAML source and a version that grows with every save.</summary>
public sealed record PlaybookRecord(
    string Id,
    string TenantId,
    string Name,
    int Version,
    string Source,
    bool Enabled,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string UpdatedBy);

/// <summary>Life-cycle states of a playbook run.</summary>
public enum RunState
{
    /// <summary>Created, waiting for a worker.</summary>
    Queued = 0,

    /// <summary>A worker holds its lease and is executing steps.</summary>
    Running = 1,

    /// <summary>Parked on a wait step or an approval until <see cref="PlaybookRun.WakeAt"/> or a decision.</summary>
    Waiting = 2,

    /// <summary>Every step finished.</summary>
    Succeeded = 3,

    /// <summary>A step failed and the failure was not tolerated.</summary>
    Failed = 4,

    /// <summary>Cancelled on request.</summary>
    Cancelled = 5,
}

/// <summary>Life-cycle states of one step of a run.</summary>
public enum StepState
{
    /// <summary>Started: written before the action is called, so a crash leaves a trace.</summary>
    Running = 0,

    /// <summary>Finished; its output is final and is never produced again.</summary>
    Succeeded = 1,

    /// <summary>Failed after its retries.</summary>
    Failed = 2,

    /// <summary>Not executed (condition branch not taken, dry run, cancelled).</summary>
    Skipped = 3,

    /// <summary>Parked on a wait or an approval.</summary>
    Waiting = 4,
}

/// <summary>Decision states of an approval.</summary>
public enum ApprovalState
{
    /// <summary>Waiting for a decision.</summary>
    Pending = 0,

    /// <summary>Approved by a permitted person.</summary>
    Approved = 1,

    /// <summary>Rejected by a permitted person.</summary>
    Rejected = 2,

    /// <summary>Nobody decided before it expired; the step's timeout outcome applies.</summary>
    Expired = 3,
}

/// <summary>A playbook run.</summary>
/// <param name="Id">Run id.</param>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="PlaybookId">Stored playbook id, or null for a run of a file (CLI).</param>
/// <param name="PlaybookName">Playbook name.</param>
/// <param name="PlaybookVersion">Version of the stored playbook the run executes.</param>
/// <param name="Definition">The YAML the run executes (a snapshot, so edits do not change running runs).</param>
/// <param name="State">Current state.</param>
/// <param name="TriggerKind">manual, alert, incident, finding, risk, schedule or webhook.</param>
/// <param name="TriggerKey">Idempotency key of the trigger (bus message id, schedule slot); one run per key and playbook.</param>
/// <param name="Trigger">The trigger document (JSON).</param>
/// <param name="Input">The run inputs (JSON object).</param>
/// <param name="Outputs">The rendered outputs (JSON object) once finished.</param>
/// <param name="Error">Why the run failed.</param>
/// <param name="DryRun">True when actions are described instead of executed.</param>
/// <param name="CancelRequested">True once cancellation was asked for.</param>
/// <param name="WakeAt">When a waiting run becomes runnable again.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="UpdatedAt">Last state change.</param>
/// <param name="FinishedAt">When it reached a final state.</param>
/// <param name="CreatedBy">Who or what started it.</param>
public sealed record PlaybookRun(
    string Id,
    string TenantId,
    string? PlaybookId,
    string PlaybookName,
    int PlaybookVersion,
    string Definition,
    RunState State,
    string TriggerKind,
    string? TriggerKey,
    string Trigger,
    string Input,
    string? Outputs,
    string? Error,
    bool DryRun,
    bool CancelRequested,
    DateTimeOffset? WakeAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt,
    string CreatedBy)
{
    /// <summary>True for succeeded, failed and cancelled runs.</summary>
    public bool IsFinal => State is RunState.Succeeded or RunState.Failed or RunState.Cancelled;
}

/// <summary>What a new run starts from.</summary>
public sealed record NewRun(
    string? PlaybookId,
    string PlaybookName,
    int PlaybookVersion,
    string Definition,
    string TriggerKind,
    string? TriggerKey,
    string Trigger,
    string Input,
    bool DryRun);

/// <summary>
/// The persisted state of one step execution. <see cref="Key"/> is the step's path in the run
/// (e.g. <c>notify</c>, <c>each[3]/post</c>) and is also the basis of the action's idempotency key.
/// </summary>
public sealed record StepRecord(
    string RunId,
    string Key,
    string StepId,
    string Kind,
    StepState State,
    int Attempts,
    string? Input,
    string? Output,
    string? Error,
    string? Log,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? WakeAt);

/// <summary>A change of a run's state written together with step records.</summary>
public sealed record RunUpdate(
    string RunId,
    RunState State,
    string? Outputs = null,
    string? Error = null,
    DateTimeOffset? WakeAt = null);

/// <summary>An approval gate of a run.</summary>
public sealed record ApprovalRecord(
    string Id,
    string TenantId,
    string RunId,
    string StepKey,
    string PlaybookName,
    string Message,
    IReadOnlyList<string> Approvers,
    string OnTimeout,
    ApprovalState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    string? DecidedBy,
    DateTimeOffset? DecidedAt,
    string? Comment);

/// <summary>Filter of a run listing.</summary>
public sealed record RunQuery(string? PlaybookName = null, RunState? State = null, int Limit = 100);

/// <summary>Names of states for APIs.</summary>
public static class ResponseStateNames
{
    /// <summary>Lower-case name of a run state.</summary>
    public static string Name(this RunState state) => state switch
    {
        RunState.Queued => "queued",
        RunState.Running => "running",
        RunState.Waiting => "waiting",
        RunState.Succeeded => "succeeded",
        RunState.Failed => "failed",
        RunState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Lower-case name of a step state.</summary>
    public static string Name(this StepState state) => state switch
    {
        StepState.Running => "running",
        StepState.Succeeded => "succeeded",
        StepState.Failed => "failed",
        StepState.Skipped => "skipped",
        StepState.Waiting => "waiting",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Lower-case name of an approval state.</summary>
    public static string Name(this ApprovalState state) => state switch
    {
        ApprovalState.Pending => "pending",
        ApprovalState.Approved => "approved",
        ApprovalState.Rejected => "rejected",
        ApprovalState.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Parses a run state name; null when unknown.</summary>
    public static RunState? ParseRunState(string? name) => name switch
    {
        "queued" => RunState.Queued,
        "running" => RunState.Running,
        "waiting" => RunState.Waiting,
        "succeeded" => RunState.Succeeded,
        "failed" => RunState.Failed,
        "cancelled" => RunState.Cancelled,
        _ => null,
    };
}
