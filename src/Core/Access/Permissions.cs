namespace McpSecurity.Core.Access;

/// <summary>
/// Permissions checked by every endpoint, and the matrix that grants them to roles.
/// docs/security.md is the written form of <see cref="Matrix"/>; a test keeps both in step.
/// </summary>
public static class Permissions
{
    /// <summary>Read the tenant (and, for operator owners, all tenants).</summary>
    public const string TenantsRead = "tenants:read";

    /// <summary>Create tenants (operator tenant owners only).</summary>
    public const string TenantsCreate = "tenants:create";

    /// <summary>List users.</summary>
    public const string UsersRead = "users:read";

    /// <summary>Create and disable users.</summary>
    public const string UsersWrite = "users:write";

    /// <summary>List API keys.</summary>
    public const string ApiKeysRead = "apikeys:read";

    /// <summary>Create and revoke API keys.</summary>
    public const string ApiKeysWrite = "apikeys:write";

    /// <summary>Read and verify the audit log.</summary>
    public const string AuditRead = "audit:read";

    /// <summary>Read jobs and their progress.</summary>
    public const string JobsRead = "jobs:read";

    /// <summary>Start and cancel jobs.</summary>
    public const string JobsWrite = "jobs:write";

    /// <summary>Read projects, SBOMs, components and findings.</summary>
    public const string FindingsRead = "findings:read";

    /// <summary>Triage findings (suppress, accept risk, mark false positive).</summary>
    public const string FindingsWrite = "findings:write";

    /// <summary>Upload SBOMs.</summary>
    public const string SbomsWrite = "sboms:write";

    /// <summary>Every permission, in documentation order.</summary>
    public static IReadOnlyList<string> All { get; } =
        [TenantsRead, TenantsCreate, UsersRead, UsersWrite, ApiKeysRead, ApiKeysWrite, AuditRead, JobsRead, JobsWrite, FindingsRead, FindingsWrite, SbomsWrite];

    /// <summary>The role → permissions matrix.</summary>
    public static IReadOnlyDictionary<Role, IReadOnlySet<string>> Matrix { get; } = new Dictionary<Role, IReadOnlySet<string>>
    {
        [Role.Viewer] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, FindingsRead },
        [Role.Auditor] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, AuditRead, UsersRead, ApiKeysRead, FindingsRead },
        [Role.Analyst] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, JobsWrite, FindingsRead, FindingsWrite, SbomsWrite },
        [Role.Responder] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, JobsWrite, FindingsRead },
        [Role.Admin] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, JobsWrite, AuditRead, UsersRead, UsersWrite, ApiKeysRead, ApiKeysWrite, FindingsRead, FindingsWrite, SbomsWrite },
        [Role.Owner] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, TenantsCreate, JobsRead, JobsWrite, AuditRead, UsersRead, UsersWrite, ApiKeysRead, ApiKeysWrite, FindingsRead, FindingsWrite, SbomsWrite },
    };

    /// <summary>True when the role holds the permission.</summary>
    public static bool Grants(Role role, string permission) => Matrix[role].Contains(permission);
}
