using McpSecurity.Core.Access;

namespace McpSecurity.Core.Response;

/// <summary>
/// Playbooks, runs, step states, approvals and sealed secrets of one tenant. Step records and run
/// state changes are written in batches (<see cref="WriteAsync"/>) so a busy engine commits many runs'
/// progress in one transaction; every call returns only after its data is committed.
/// </summary>
public interface IResponseStore
{
    /// <summary>Creates or replaces a playbook by name (the version grows by one); audited.</summary>
    Task<PlaybookRecord> SavePlaybookAsync(string name, string source, bool enabled, Actor actor, CancellationToken cancellationToken);

    /// <summary>Playbooks of the tenant, by name.</summary>
    Task<IReadOnlyList<PlaybookRecord>> ListPlaybooksAsync(CancellationToken cancellationToken);

    /// <summary>A playbook by id or name (case-insensitive), or null.</summary>
    Task<PlaybookRecord?> GetPlaybookAsync(string idOrName, CancellationToken cancellationToken);

    /// <summary>
    /// Creates a queued run; audited. With a trigger key, a second run of the same playbook and key is not
    /// created: the existing run is returned and <c>Created</c> is false (at-least-once triggers stay idempotent).
    /// </summary>
    Task<(PlaybookRun Run, bool Created)> CreateRunAsync(NewRun run, Actor actor, CancellationToken cancellationToken);

    /// <summary>
    /// The engine's group commit, in one transaction: creates runs (each audited; the trigger-key rule of
    /// <see cref="CreateRunAsync"/> holds, also between runs of the batch), then upserts step records and applies run
    /// updates in order (as <see cref="WriteAsync"/>). With a <paramref name="leaseOwner"/>, new runs are created already
    /// claimed by it (running, lease until <paramref name="leaseUntil"/>), so their worker needs no separate claim.
    /// Returns the created (or existing) runs in the order of <paramref name="creates"/>.
    /// </summary>
    Task<IReadOnlyList<(PlaybookRun Run, bool Created)>> WriteBatchAsync(IReadOnlyList<(NewRun Run, Actor Actor)> creates, string? leaseOwner, DateTimeOffset leaseUntil,
        IReadOnlyList<StepRecord> steps, IReadOnlyList<RunUpdate> runs, CancellationToken cancellationToken);

    /// <summary>A run by id, or null.</summary>
    Task<PlaybookRun?> GetRunAsync(string id, CancellationToken cancellationToken);

    /// <summary>Runs, newest first.</summary>
    Task<IReadOnlyList<PlaybookRun>> ListRunsAsync(RunQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lease of a run that may be executed now (queued; waiting and due; or running with an
    /// expired lease, i.e. its worker died). Returns the run, or null when another worker has it or it is not due.
    /// </summary>
    Task<PlaybookRun?> ClaimRunAsync(string id, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Ids of runs that are runnable now (see <see cref="ClaimRunAsync"/>), oldest first.</summary>
    Task<IReadOnlyList<string>> ListRunnableAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Extends the lease of the given runs held by <paramref name="owner"/>.</summary>
    Task RenewLeasesAsync(string owner, IReadOnlyCollection<string> runIds, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>
    /// Upserts step records and applies run updates in one transaction. A run update to a final state
    /// is audited in the same transaction and releases the lease.
    /// </summary>
    Task WriteAsync(IReadOnlyList<StepRecord> steps, IReadOnlyList<RunUpdate> runs, CancellationToken cancellationToken);

    /// <summary>Step records of a run in the order they started.</summary>
    Task<IReadOnlyList<StepRecord>> ListStepsAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Asks a run to stop; a run that is not executing is cancelled at once. Audited.</summary>
    Task<PlaybookRun> RequestCancelAsync(string runId, Actor actor, CancellationToken cancellationToken);

    /// <summary>Queues a failed or cancelled run again; its failed steps run again, completed steps are kept. Audited.</summary>
    Task<PlaybookRun> RetryRunAsync(string runId, Actor actor, CancellationToken cancellationToken);

    /// <summary>Creates an approval gate (idempotent per run and step key) and parks the run until its expiry.</summary>
    Task<ApprovalRecord> CreateApprovalAsync(ApprovalRecord approval, CancellationToken cancellationToken);

    /// <summary>Approvals, newest first, optionally of one state.</summary>
    Task<IReadOnlyList<ApprovalRecord>> ListApprovalsAsync(ApprovalState? state, int limit, CancellationToken cancellationToken);

    /// <summary>An approval by id, or by run and step key.</summary>
    Task<ApprovalRecord?> GetApprovalAsync(string id, CancellationToken cancellationToken);

    /// <summary>The approval of a run's step, or null.</summary>
    Task<ApprovalRecord?> FindApprovalAsync(string runId, string stepKey, CancellationToken cancellationToken);

    /// <summary>
    /// Records a decision on a pending approval and makes its run runnable, in one transaction with the
    /// audit entry. Throws <see cref="ConflictException"/> when it is no longer pending or has expired.
    /// </summary>
    Task<ApprovalRecord> DecideApprovalAsync(string id, bool approve, string? comment, Actor actor, CancellationToken cancellationToken);

    /// <summary>Marks pending approvals past their expiry as expired (audited) and makes their runs runnable; returns how many.</summary>
    Task<int> ExpireApprovalsAsync(CancellationToken cancellationToken);

    /// <summary>Stores a sealed (already encrypted) secret under a name; audited without the value.</summary>
    Task SetSecretAsync(string name, string sealedValue, Actor actor, CancellationToken cancellationToken);

    /// <summary>The sealed value of a secret, or null.</summary>
    Task<string?> GetSecretAsync(string name, CancellationToken cancellationToken);

    /// <summary>Names of the tenant's secrets.</summary>
    Task<IReadOnlyList<string>> ListSecretNamesAsync(CancellationToken cancellationToken);
}
