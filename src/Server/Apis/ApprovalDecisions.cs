using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Storage;
using McpSecurity.Response.Engine;
using McpSecurity.Server.Access;

namespace McpSecurity.Server.Apis;

/// <summary>
/// Approving or rejecting a pending approval, shared by the REST API and the web UI (callers check
/// <c>approvals:decide</c> first): when the step names approvers, the caller's role (<c>role:analyst</c>) or
/// user name (<c>user:alice</c>) must be among them.
/// </summary>
public static class ApprovalDecisions
{
    /// <summary>Records the decision (audited), wakes the waiting run and returns the decided approval.</summary>
    public static async Task<ApprovalRecord> DecideAsync(ITenantStore tenant, PlaybookEngine engine, string id, bool approve, string? comment,
        Role callerRole, string? callerName, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(engine);
        var approval = await tenant.Response.GetApprovalAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Approval '{id}' was not found in this tenant.");
        if (approval.Approvers.Count > 0)
        {
            var role = "role:" + callerRole.Name();
            var user = "user:" + (callerName ?? string.Empty);
            var allowed = false;
            foreach (var a in approval.Approvers)
            {
                allowed |= string.Equals(a, role, StringComparison.Ordinal) || string.Equals(a, user, StringComparison.OrdinalIgnoreCase);
            }

            if (!allowed)
            {
                throw new ForbiddenException($"Only {string.Join(", ", approval.Approvers)} may decide approval '{id}'.");
            }
        }

        var decided = await tenant.Response.DecideApprovalAsync(id, approve, comment, actor, cancellationToken).ConfigureAwait(false);
        engine.Wake(tenant.Scope, decided.RunId);
        return decided;
    }
}
