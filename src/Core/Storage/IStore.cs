using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Core.Storage;

/// <summary>
/// The platform's store. Tenant-owned data is reachable only through <see cref="ForTenant"/>;
/// the few operations that must work before a tenant is known (authentication, tenant
/// administration, the job runner's claim) live on the store itself and say so.
/// </summary>
public interface IStore : IAsyncDisposable
{
    /// <summary>Provider name: "sqlite" or "postgres".</summary>
    string Provider { get; }

    /// <summary>Applies pending migrations; each runs in a transaction so a failure leaves the database as it was.</summary>
    Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Cheap round-trip used by readiness checks.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken);

    /// <summary>The shared advisory database (not tenant data).</summary>
    SupplyChain.IAdvisoryStore Advisories { get; }

    /// <summary>Operations on one tenant's data.</summary>
    ITenantStore ForTenant(TenantScope scope);

    /// <summary>Creates a tenant (names are unique, case-insensitive) and records it in the new tenant's audit log.</summary>
    Task<Tenant> CreateTenantAsync(string name, bool isOperator, Actor actor, CancellationToken cancellationToken);

    /// <summary>All tenants. Only for operator administration and the CLI on the host.</summary>
    Task<IReadOnlyList<Tenant>> ListAllTenantsAsync(CancellationToken cancellationToken);

    /// <summary>Finds a tenant by its name (case-insensitive).</summary>
    Task<Tenant?> FindTenantByNameAsync(string name, CancellationToken cancellationToken);

    /// <summary>Finds an API key by the SHA-256 of its secret, for authentication.</summary>
    Task<ApiKey?> FindApiKeyByHashAsync(string keyHash, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the oldest queued job of the given kinds (or a running job whose lease expired after a crash)
    /// and leases it to <paramref name="runnerId"/> until <paramref name="leaseUntil"/>.
    /// </summary>
    Task<Job?> ClaimNextJobAsync(IReadOnlyCollection<string> kinds, string runnerId, DateTimeOffset leaseUntil, CancellationToken cancellationToken);
}

/// <summary>Every query on a tenant's data. Obtained from <see cref="IStore.ForTenant"/> only.</summary>
public interface ITenantStore
{
    /// <summary>The tenant this store is scoped to.</summary>
    TenantScope Scope { get; }

    /// <summary>Projects, SBOM versions, components, dependency graph and findings of the tenant.</summary>
    SupplyChain.ISupplyChainStore SupplyChain { get; }

    /// <summary>Asset inventory, risk assessments and daily risk snapshots of the tenant.</summary>
    Risk.IRiskStore Risk { get; }
    /// <summary>Playbooks, runs, step states, approvals and sealed secrets of the tenant.</summary>
    Response.IResponseStore Response { get; }

    /// <summary>Alerts, incidents, rule settings and correlation checkpoints of the tenant.</summary>
    Alerts.IAlertStore Alerts { get; }

    /// <summary>Stored reports and report schedules of the tenant.</summary>
    Reporting.IReportStore Reports { get; }

    /// <summary>The tenant record.</summary>
    Task<Tenant> GetTenantAsync(CancellationToken cancellationToken);

    /// <summary>Creates a user; names are unique per tenant.</summary>
    Task<User> CreateUserAsync(string name, string? email, Role role, string passwordHash, Actor actor, CancellationToken cancellationToken);

    /// <summary>Users of the tenant, by name.</summary>
    Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken);

    /// <summary>A user by id, or null.</summary>
    Task<User?> GetUserAsync(string id, CancellationToken cancellationToken);

    /// <summary>A user and their password hash by name, for sign-in.</summary>
    Task<(User User, string PasswordHash)?> FindUserForSignInAsync(string name, CancellationToken cancellationToken);

    /// <summary>Disables or re-enables a user.</summary>
    Task<User> SetUserDisabledAsync(string id, bool disabled, Actor actor, CancellationToken cancellationToken);

    /// <summary>Stores a new API key (only its hash); names are unique per tenant.</summary>
    Task<ApiKey> CreateApiKeyAsync(string name, Role role, string keyHash, string prefix, DateTimeOffset? expiresAt, Actor actor, CancellationToken cancellationToken);

    /// <summary>API keys of the tenant.</summary>
    Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(CancellationToken cancellationToken);

    /// <summary>Revokes a key; revoking twice is a no-op.</summary>
    Task<ApiKey> RevokeApiKeyAsync(string id, Actor actor, CancellationToken cancellationToken);

    /// <summary>Records that a key was used (best effort, not audited).</summary>
    Task TouchApiKeyAsync(string id, DateTimeOffset when, CancellationToken cancellationToken);

    /// <summary>Appends an entry to the tenant's hash chain.</summary>
    Task<AuditEntry> AppendAuditAsync(Actor actor, AuditRecord record, CancellationToken cancellationToken);

    /// <summary>Audit entries after <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Audit entries about one target (such as <c>finding:42</c> or <c>run:7</c>) after
    /// <paramref name="afterSequence"/>, oldest first; served by an index, whatever the size of the log.
    /// </summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditForTargetAsync(string target, long afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> audit entries, newest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ListRecentAuditAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Re-walks the whole chain and reports the first broken link.</summary>
    Task<AuditVerification> VerifyAuditAsync(CancellationToken cancellationToken);

    /// <summary>Queues a job.</summary>
    Task<Job> EnqueueJobAsync(string kind, string payload, Actor actor, CancellationToken cancellationToken);

    /// <summary>
    /// Queues a job unless one of the same kind was already queued with <paramref name="dedupeKey"/> (by any
    /// process sharing the store), and returns the job that holds the key: several nodes reacting to the same
    /// change queue one job between them.
    /// </summary>
    Task<(Job Job, bool Created)> EnqueueJobOnceAsync(string kind, string payload, string dedupeKey, Actor actor, CancellationToken cancellationToken);

    /// <summary>A job by id, or null.</summary>
    Task<Job?> GetJobAsync(string id, CancellationToken cancellationToken);

    /// <summary>Most recent jobs first.</summary>
    Task<IReadOnlyList<Job>> ListJobsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Asks a job to stop; a queued job is cancelled at once.</summary>
    Task<Job> RequestJobCancelAsync(string id, Actor actor, CancellationToken cancellationToken);

    /// <summary>Reports progress of a running job and extends its lease; returns false if cancellation was requested.</summary>
    Task<bool> ReportJobProgressAsync(string id, int progress, string? message, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Moves a job to a final state.</summary>
    Task CompleteJobAsync(string id, JobState state, string? result, string? error, CancellationToken cancellationToken);
}
