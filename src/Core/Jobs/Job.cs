namespace McpSecurity.Core.Jobs;

/// <summary>Lifecycle states of a background job.</summary>
public enum JobState
{
    /// <summary>Waiting for a runner.</summary>
    Queued = 0,

    /// <summary>Claimed by a runner.</summary>
    Running = 1,

    /// <summary>Finished without error.</summary>
    Succeeded = 2,

    /// <summary>Finished with an error (see <see cref="Job.Error"/>).</summary>
    Failed = 3,

    /// <summary>Cancelled on request.</summary>
    Cancelled = 4,
}

/// <summary>A durable background job.</summary>
public sealed record Job(
    string Id,
    string TenantId,
    string Kind,
    JobState State,
    int Progress,
    string? Message,
    string? Error,
    string Payload,
    string? Result,
    int Attempts,
    bool CancelRequested,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string CreatedBy)
{
    /// <summary>True once the job can no longer change.</summary>
    public bool IsFinished => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}

/// <summary>Lower-case names of job states for APIs.</summary>
public static class JobStates
{
    /// <summary>Lower-case state name.</summary>
    public static string Name(this JobState state) => state switch
    {
        JobState.Queued => "queued",
        JobState.Running => "running",
        JobState.Succeeded => "succeeded",
        JobState.Failed => "failed",
        JobState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}
