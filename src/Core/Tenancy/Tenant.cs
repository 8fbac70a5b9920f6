namespace McpSecurity.Core.Tenancy;

/// <summary>A tenant: an isolated organisation whose data no other tenant can see.</summary>
/// <param name="Id">Stable identifier.</param>
/// <param name="Name">Unique, human-readable name (case-insensitive).</param>
/// <param name="IsOperator">True for the platform operator's tenant, whose owners administer all tenants.</param>
/// <param name="CreatedAt">Creation time.</param>
public sealed record Tenant(string Id, string Name, bool IsOperator, DateTimeOffset CreatedAt);
