namespace McpSecurity.Core.Access;

/// <summary>The roles a user or API key can hold inside a tenant.</summary>
public enum Role
{
    /// <summary>Read-only access to dashboards and data.</summary>
    Viewer = 0,

    /// <summary>Read access to everything plus the audit log, no changes.</summary>
    Auditor = 1,

    /// <summary>Triage and analysis: findings, alerts, rules.</summary>
    Analyst = 2,

    /// <summary>Runs playbooks and approves response actions.</summary>
    Responder = 3,

    /// <summary>Manages users, keys and configuration of the tenant.</summary>
    Admin = 4,

    /// <summary>Full control of the tenant.</summary>
    Owner = 5,
}

/// <summary>Parsing and formatting of <see cref="Role"/> as lower-case names.</summary>
public static class Roles
{
    /// <summary>Every role, lowest first.</summary>
    public static IReadOnlyList<Role> All { get; } = [Role.Viewer, Role.Auditor, Role.Analyst, Role.Responder, Role.Admin, Role.Owner];

    /// <summary>Lower-case name of a role.</summary>
    public static string Name(this Role role) => role switch
    {
        Role.Viewer => "viewer",
        Role.Auditor => "auditor",
        Role.Analyst => "analyst",
        Role.Responder => "responder",
        Role.Admin => "admin",
        Role.Owner => "owner",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    /// <summary>Parses a role name (case-insensitive) or throws a <see cref="ValidationException"/>.</summary>
    public static Role Parse(string? value, string field = "role")
    {
        foreach (var role in All)
        {
            if (string.Equals(role.Name(), value, StringComparison.OrdinalIgnoreCase))
            {
                return role;
            }
        }

        throw new ValidationException(field, $"Unknown role '{value}'. Valid roles: viewer, auditor, analyst, responder, admin, owner.");
    }
}
