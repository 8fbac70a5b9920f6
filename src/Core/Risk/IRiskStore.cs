using McpSecurity.Core.Access;

namespace McpSecurity.Core.Risk;

/// <summary>A tenant's asset inventory, risk assessments and daily risk snapshots. Every change is audited.</summary>
public interface IRiskStore
{
    /// <summary>Creates an asset; names are unique per tenant (409 otherwise).</summary>
    Task<Asset> CreateAssetAsync(ValidAsset asset, Actor actor, CancellationToken cancellationToken);

    /// <summary>Replaces an asset's fields.</summary>
    Task<Asset> UpdateAssetAsync(string id, ValidAsset asset, Actor actor, CancellationToken cancellationToken);

    /// <summary>Deletes an asset.</summary>
    Task DeleteAssetAsync(string id, Actor actor, CancellationToken cancellationToken);

    /// <summary>An asset by id or name, or null.</summary>
    Task<Asset?> GetAssetAsync(string idOrName, CancellationToken cancellationToken);

    /// <summary>Assets of the tenant, by name.</summary>
    Task<IReadOnlyList<Asset>> ListAssetsAsync(CancellationToken cancellationToken);

    /// <summary>Creates or replaces (by name) many assets in one transaction: all or nothing.</summary>
    Task<(int Created, int Updated)> ImportAssetsAsync(IReadOnlyList<ValidAsset> assets, Actor actor, CancellationToken cancellationToken);

    /// <summary>Stores an assessment request and queues its job of <paramref name="jobKind"/> in one transaction.</summary>
    Task<Assessment> CreateAssessmentAsync(string request, string jobKind, Actor actor, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="CreateAssessmentAsync(string, string, Actor, CancellationToken)"/>, but a request with an
    /// <paramref name="idempotencyKey"/> already used in the tenant returns that earlier assessment and queues nothing.
    /// </summary>
    Task<Assessment> CreateAssessmentAsync(string request, string jobKind, string idempotencyKey, Actor actor, CancellationToken cancellationToken);

    /// <summary>An assessment by id, or null.</summary>
    Task<Assessment?> GetAssessmentAsync(string id, CancellationToken cancellationToken);

    /// <summary>Most recent assessments first.</summary>
    Task<IReadOnlyList<Assessment>> ListAssessmentsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Moves an assessment to running, completed or failed; completion and failure are audited.</summary>
    Task<Assessment> SetAssessmentStateAsync(string id, AssessmentState state, string? result, string? error, CancellationToken cancellationToken);

    /// <summary>Writes (replaces) the snapshot of a day in one transaction.</summary>
    Task WriteSnapshotAsync(RiskSnapshot snapshot, Actor actor, CancellationToken cancellationToken);

    /// <summary>The snapshot of a day, or null.</summary>
    Task<RiskSnapshot?> GetSnapshotAsync(DateOnly day, CancellationToken cancellationToken);

    /// <summary>One entity's score per day in [from, to], oldest first.</summary>
    Task<IReadOnlyList<RiskTrendPoint>> TrendAsync(string entityKind, string entityId, DateOnly from, DateOnly to, CancellationToken cancellationToken);
}
