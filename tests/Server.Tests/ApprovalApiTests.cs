using System.Net;
using System.Net.Http.Json;
using System.Text;
using McpSecurity.Core.Access;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Tests.Support;

namespace McpSecurity.Server.Tests;

/// <summary>Approvals over REST: who may decide, tenant isolation, approve and reject resuming the run, audit entries.</summary>
public sealed class ApprovalApiTests : IAsyncLifetime
{
    private const string Playbook = """
        name: gated-block
        steps:
          - id: approve
            approval:
              approvers: ["role:responder"]
              timeout: 30m
              on_timeout: reject
              message: "Block {{ inputs.ip }}?"
          - id: decide
            if: "steps.approve.output.approved == true"
            then:
              - id: block
                action: log
                with: { message: "blocked {{ inputs.ip }}" }
            else:
              - id: skip
                action: log
                with: { message: "not blocked" }
        inputs:
          ip: { type: string, required: true }
        """;

    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _platform = await PlatformFixture.StartAsync(o => o.Limits.RequestsPerMinute = 100_000);

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private static async Task<ApprovalDto> PendingAsync(HttpClient client, string runId)
    {
        for (var i = 0; i < 1200; i++)
        {
            var list = (await client.GetFromJsonAsync<List<ApprovalDto>>("/api/v1/approvals?state=pending", Ct))!;
            if (list.Find(a => a.RunId == runId) is { } found)
            {
                return found;
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException("no pending approval for run " + runId);
    }

    private static async Task<RunDetailDto> FinishedAsync(HttpClient client, string runId)
    {
        for (var i = 0; i < 1200; i++)
        {
            var run = (await client.GetFromJsonAsync<RunDetailDto>($"/api/v1/playbook-runs/{runId}", Ct))!;
            if (run.Run.State is "succeeded" or "failed" or "cancelled")
            {
                return run;
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException("run did not finish: " + runId);
    }

    private static async Task<string> StartAsync(HttpClient client, string ip)
    {
        var response = await client.PostAsJsonAsync("/api/v1/playbooks/gated-block/runs", new { input = new { ip } }, Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<RunDto>(Ct))!.Id;
    }

    [Fact]
    public async Task ApproveAndReject_OnlyPermittedRolesOfTheTenant_ResumeTheRun_AndAreAudited()
    {
        var (_, owner) = await _platform.CreateTenantAsync();
        using var ownerClient = _platform.Client(owner);
        var put = await ownerClient.PutAsync("/api/v1/playbooks/gated-block", new StringContent(Playbook, Encoding.UTF8, "application/yaml"), Ct);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));
        using var responder = _platform.Client(await _platform.CreateKeyAsync(owner, Role.Responder));
        using var admin = _platform.Client(await _platform.CreateKeyAsync(owner, Role.Admin));
        using var analyst = _platform.Client(await _platform.CreateKeyAsync(owner, Role.Analyst));
        using var viewer = _platform.Client(await _platform.CreateKeyAsync(owner, Role.Viewer));
        var (_, otherOwner) = await _platform.CreateTenantAsync();
        using var otherResponder = _platform.Client(await _platform.CreateKeyAsync(otherOwner, Role.Responder));

        var first = await StartAsync(responder, "203.0.113.7");
        var approval = await PendingAsync(viewer, first);
        Assert.Equal(("approve", "Block 203.0.113.7?", "reject"), (approval.StepKey, approval.Message, approval.OnTimeout));
        Assert.Equal(["role:responder"], approval.Approvers);

        // Roles without approvals:decide are refused by the permission; an admin has it but is not a named approver.
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/v1/approvals/{approval.Id}/approve", new { comment = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await analyst.PostAsJsonAsync($"/api/v1/approvals/{approval.Id}/approve", new { comment = "x" }, Ct)).StatusCode);
        var byAdmin = await admin.PostAsJsonAsync($"/api/v1/approvals/{approval.Id}/approve", new { comment = "x" }, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, byAdmin.StatusCode);
        Assert.Contains("role:responder", await byAdmin.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        // Another tenant does not see it at all.
        Assert.Equal(HttpStatusCode.NotFound, (await otherResponder.PostAsJsonAsync($"/api/v1/approvals/{approval.Id}/approve", new { comment = "x" }, Ct)).StatusCode);
        Assert.Empty((await otherResponder.GetFromJsonAsync<List<ApprovalDto>>("/api/v1/approvals", Ct))!);
        Assert.Equal("pending", (await PendingAsync(viewer, first)).State);

        // The responder approves: the run resumes and takes the approved branch; a second decision conflicts.
        var approved = await responder.PostAsJsonAsync($"/api/v1/approvals/{approval.Id}/approve", new { comment = "confirmed scanner" }, Ct);
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        var decided = (await approved.Content.ReadFromJsonAsync<ApprovalDto>(Ct))!;
        Assert.Equal(("approved", "confirmed scanner"), (decided.State, decided.Comment));
        Assert.Equal(HttpStatusCode.Conflict, (await responder.PostAsJsonAsync($"/api/v1/approvals/{approval.Id}/reject", new { comment = "late" }, Ct)).StatusCode);
        var run = await FinishedAsync(responder, first);
        Assert.Equal("succeeded", run.Run.State);
        Assert.Contains(run.Steps, s => s.Key.EndsWith("block", StringComparison.Ordinal) && s.State == "succeeded");
        Assert.DoesNotContain(run.Steps, s => s.Key.EndsWith("skip", StringComparison.Ordinal));

        // A rejection resumes the run on the other branch.
        var second = await StartAsync(responder, "198.51.100.9");
        var gate = await PendingAsync(responder, second);
        Assert.Equal(HttpStatusCode.OK, (await responder.PostAsJsonAsync($"/api/v1/approvals/{gate.Id}/reject", new { comment = "shared NAT" }, Ct)).StatusCode);
        run = await FinishedAsync(responder, second);
        Assert.Equal("succeeded", run.Run.State);
        Assert.Contains(run.Steps, s => s.Key.EndsWith("skip", StringComparison.Ordinal) && s.State == "succeeded");
        Assert.DoesNotContain(run.Steps, s => s.Key.EndsWith("block", StringComparison.Ordinal));

        // Every request and decision is in the tenant's audit log, with who decided and the comment.
        var audit = await ownerClient.GetStringAsync("/api/v1/audit?limit=1000", Ct);
        Assert.Contains("approval.request", audit, StringComparison.Ordinal);
        Assert.Contains("approval.approve", audit, StringComparison.Ordinal);
        Assert.Contains("confirmed scanner", audit, StringComparison.Ordinal);
        Assert.Contains("approval.reject", audit, StringComparison.Ordinal);
        Assert.Contains("shared NAT", audit, StringComparison.Ordinal);
    }
}
