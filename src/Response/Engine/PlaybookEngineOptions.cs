namespace McpSecurity.Response.Engine;

/// <summary>Settings of the playbook engine (configuration section <c>Response</c>).</summary>
public sealed class PlaybookEngineOptions
{
    /// <summary>Runs executing at once in this process.</summary>
    public int MaxConcurrentRuns { get; set; } = 1024;

    /// <summary>Runs of one tenant executing at once in this process.</summary>
    public int MaxRunsPerTenant { get; set; } = 512;

    /// <summary>How long a worker's claim on a run lasts without renewal; a run whose worker died is resumed after it.</summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How often the store is polled for due runs, expired approvals and schedules.</summary>
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>Waits shorter than this are slept in process instead of parking the run.</summary>
    public int InlineWaitMilliseconds { get; set; } = 2000;
}
