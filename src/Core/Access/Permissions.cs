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

    /// <summary>Send security events for detection.</summary>
    public const string EventsWrite = "events:write";

    /// <summary>Read alerts and incidents.</summary>
    public const string AlertsRead = "alerts:read";

    /// <summary>Acknowledge, assign and close alerts and incidents.</summary>
    public const string AlertsWrite = "alerts:write";

    /// <summary>Read detection rules and their state.</summary>
    public const string RulesRead = "rules:read";

    /// <summary>Upload, enable and disable detection rules.</summary>
    public const string RulesWrite = "rules:write";

    /// <summary>Read risk scores, assessments, assets and trends.</summary>
    public const string RiskRead = "risk:read";

    /// <summary>Manage assets and request assessments.</summary>
    public const string RiskWrite = "risk:write";

    /// <summary>Read playbooks, runs and approvals.</summary>
    public const string PlaybooksRead = "playbooks:read";

    /// <summary>Create, change, run, retry and cancel playbooks and runs.</summary>
    public const string PlaybooksWrite = "playbooks:write";

    /// <summary>Approve or reject pending approval steps.</summary>
    public const string ApprovalsDecide = "approvals:decide";

    /// <summary>Read and download reports.</summary>
    public const string ReportsRead = "reports:read";

    /// <summary>Generate reports and manage report schedules.</summary>
    public const string ReportsWrite = "reports:write";

    /// <summary>Every permission, in documentation order.</summary>
    public static IReadOnlyList<string> All { get; } =
        [TenantsRead, TenantsCreate, UsersRead, UsersWrite, ApiKeysRead, ApiKeysWrite, AuditRead, JobsRead, JobsWrite, FindingsRead, FindingsWrite, SbomsWrite,
         EventsWrite, AlertsRead, AlertsWrite, RulesRead, RulesWrite, RiskRead, RiskWrite,
         PlaybooksRead, PlaybooksWrite, ApprovalsDecide, ReportsRead, ReportsWrite];

    /// <summary>The role → permissions matrix.</summary>
    public static IReadOnlyDictionary<Role, IReadOnlySet<string>> Matrix { get; } = new Dictionary<Role, IReadOnlySet<string>>
    {
        [Role.Viewer] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, FindingsRead, AlertsRead, RulesRead, RiskRead, PlaybooksRead, ReportsRead },
        [Role.Auditor] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, AuditRead, UsersRead, ApiKeysRead, FindingsRead, AlertsRead, RulesRead, RiskRead, PlaybooksRead, ReportsRead, ReportsWrite },
        [Role.Analyst] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, JobsWrite, FindingsRead, FindingsWrite, SbomsWrite, EventsWrite, AlertsRead, AlertsWrite, RulesRead, RulesWrite, RiskRead, RiskWrite, PlaybooksRead, ReportsRead, ReportsWrite },
        [Role.Responder] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, JobsWrite, FindingsRead, EventsWrite, AlertsRead, AlertsWrite, RulesRead, RiskRead, PlaybooksRead, PlaybooksWrite, ApprovalsDecide, ReportsRead },
        [Role.Admin] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, JobsRead, JobsWrite, AuditRead, UsersRead, UsersWrite, ApiKeysRead, ApiKeysWrite, FindingsRead, FindingsWrite, SbomsWrite, EventsWrite, AlertsRead, AlertsWrite, RulesRead, RulesWrite, RiskRead, RiskWrite, PlaybooksRead, PlaybooksWrite, ApprovalsDecide, ReportsRead, ReportsWrite },
        [Role.Owner] = new HashSet<string>(StringComparer.Ordinal) { TenantsRead, TenantsCreate, JobsRead, JobsWrite, AuditRead, UsersRead, UsersWrite, ApiKeysRead, ApiKeysWrite, FindingsRead, FindingsWrite, SbomsWrite, EventsWrite, AlertsRead, AlertsWrite, RulesRead, RulesWrite, RiskRead, RiskWrite, PlaybooksRead, PlaybooksWrite, ApprovalsDecide, ReportsRead, ReportsWrite },
    };

    /// <summary>True when the role holds the permission.</summary>
    public static bool Grants(Role role, string permission) => Matrix[role].Contains(permission);
}
