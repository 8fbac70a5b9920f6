namespace McpSecurity.Core.Access;

/// <summary>Who did something: a user, an API key, or the platform itself.</summary>
/// <param name="Kind">"user", "apikey" or "system".</param>
/// <param name="Id">Identifier of the user or key; the component name for system actors.</param>
/// <param name="Name">Display name.</param>
public sealed record Actor(string Kind, string Id, string Name)
{
    /// <summary>An actor for work the platform does on its own (jobs, start-up, CLI on the host).</summary>
    public static Actor System(string component) => new("system", component, component);

    /// <inheritdoc />
    public override string ToString() => $"{Kind}:{Name}";
}

/// <summary>A local user of a tenant.</summary>
public sealed record User(
    string Id,
    string TenantId,
    string Name,
    string? Email,
    Role Role,
    bool Disabled,
    DateTimeOffset CreatedAt);

/// <summary>Stored metadata of an API key; the secret itself is never stored, only its SHA-256.</summary>
public sealed record ApiKey(
    string Id,
    string TenantId,
    string Name,
    string Prefix,
    Role Role,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt)
{
    /// <summary>True when the key may be used at the given time.</summary>
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}
