using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Response;
using McpSecurity.Response.Engine;
using McpSecurity.Response.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace McpSecurity.Response.Tests.Library;

/// <summary>The playbooks of playbooks/, triggered the way the platform triggers them (bus messages), against local services.</summary>
public sealed class ReadyPlaybookTests
{
    private static string Playbook(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "playbooks", file));

    private static async Task<(TriggerDispatcher Triggers, Harness H)> SetUpAsync(string file)
    {
        var h = await Harness.StartAsync();
        var def = h.Load(Playbook(file));
        await h.Tenant.Response.SavePlaybookAsync(def.Name, def.Source, true, Harness.Tester, Harness.Ct);
        return (new TriggerDispatcher(h.Store, h.Engine, TimeProvider.System, NullLogger<TriggerDispatcher>.Instance), h);
    }

    private static BusMessage Message(Harness h, string topic, string json) =>
        new("msg-" + Guid.NewGuid().ToString("N"), topic, h.Scope.TenantId, Encoding.UTF8.GetBytes(json), DateTimeOffset.UtcNow);

    [Fact]
    public async Task KevOnCriticalAsset_JiraTicketThenSlack_RedeliveryStartsNoSecondRun()
    {
        var (triggers, h) = await SetUpAsync("kev-critical-asset.yml");
        await using var _ = h;
        await using var jira = await LocalListener.StartAsync(r => Task.FromResult(r.Method == "GET"
            ? new Reply(200, """{"issues":[]}""")
            : new Reply(201, """{"id":"10100","key":"SEC-101","self":"x"}""")));
        await using var slack = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(200, "ok", "text/plain")));
        await h.SecretAsync("jira_url", jira.BaseAddress.ToString());
        await h.SecretAsync("jira_user", "bot@example.org");
        await h.SecretAsync("jira_token", "jira-api-token-123");
        await h.SecretAsync("slack_webhook_url", slack.Url("services/T1/B1/abc").ToString());

        var finding = """
            {"id":"fnd_1","vulnerability":"CVE-2024-3400","severity":"CRITICAL","kev":true,"epss":0.96,"package":"pkg:generic/pan-os","version":"10.2.9",
             "fixed_versions":["10.2.9-h1"],"project":"edge","state":"open","asset":{"name":"fw-edge-01","criticality":"Critical"}}
            """;
        var message = Message(h, ResponseTopics.Findings, finding);
        var started = await triggers.OnMessageAsync(message, Harness.Ct);
        var run = await h.Engine.WaitAsync(h.Scope, Assert.Single(started).Id, true, Harness.Ct);
        Assert.Equal(RunState.Succeeded, run.State);
        Assert.Equal("""{"ticket":"SEC-101"}""", run.Outputs);

        var create = jira.Requests.Single(r => r.Method == "POST");
        Assert.Equal("/rest/api/3/issue", create.Path);
        var fields = JsonNode.Parse(create.Body)!["fields"]!;
        Assert.Equal("[KEV] CVE-2024-3400 in pkg:generic/pan-os on fw-edge-01", fields["summary"]!.GetValue<string>());
        Assert.Equal("Highest", fields["priority"]!["name"]!.GetValue<string>());
        Assert.Contains("10.2.9-h1", fields["description"]!.ToJsonString(), StringComparison.Ordinal);
        var post = Assert.Single(slack.Requests);
        Assert.Contains("SEC-101", JsonNode.Parse(post.Body)!["text"]!.GetValue<string>(), StringComparison.Ordinal);

        // The bus delivers at least once: the same message again starts nothing new.
        var again = await triggers.OnMessageAsync(message, Harness.Ct);
        Assert.Equal(run.Id, Assert.Single(again).Id);
        Assert.Single(jira.Requests, r => r.Method == "POST");

        // Secrets never reach the history.
        foreach (var s in await h.Tenant.Response.ListStepsAsync(run.Id, Harness.Ct))
        {
            Assert.DoesNotContain("jira-api-token-123", s.Input ?? "", StringComparison.Ordinal);
        }

        // A finding on a non-critical asset does not match.
        Assert.Empty(await triggers.OnMessageAsync(Message(h, ResponseTopics.Findings, finding.Replace("Critical", "low", StringComparison.Ordinal)), Harness.Ct));
    }

    [Fact]
    public async Task BruteForce_PagesThenWaitsForApproval_BlocksOnlyWhenApproved()
    {
        var (triggers, h) = await SetUpAsync("brute-force-block.yml");
        await using var _ = h;
        await using var pd = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(202, """{"status":"success","message":"Event processed","dedup_key":"x"}""")));
        await using var firewall = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(200, """{"blocked":true}""")));
        await h.SecretAsync("pagerduty_url", pd.Url("v2/enqueue").ToString());
        await h.SecretAsync("pagerduty_routing_key", "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12");
        await h.SecretAsync("block_ip_url", firewall.Url("api/block").ToString());
        await h.SecretAsync("block_ip_signing_key", "fw-hmac-key-0001");

        static string Alert(string ip) => """
            {"id":"alr_IP","rule":"Brute force followed by success","type":"correlation","severity":"high","tags":["attack.credential_access","attack.t1110"],
             "count":57,"entities":{"source_ip":"IP","user":"alice","host":"vpn-01"}}
            """.Replace("IP", ip, StringComparison.Ordinal);

        // Approved path.
        var run = Assert.Single(await triggers.OnMessageAsync(Message(h, ResponseTopics.Alerts, Alert("203.0.113.7")), Harness.Ct));
        run = await h.Engine.WaitAsync(h.Scope, run.Id, false, Harness.Ct);
        Assert.Equal(RunState.Waiting, run.State);
        var page = JsonNode.Parse(Assert.Single(pd.Requests).Body)!;
        Assert.Equal("trigger", page["event_action"]!.GetValue<string>());
        Assert.Equal("brute-force-203.0.113.7", page["dedup_key"]!.GetValue<string>());
        Assert.Empty(firewall.Requests);
        var approval = Assert.Single(await h.Tenant.Response.ListApprovalsAsync(ApprovalState.Pending, 10, Harness.Ct));
        Assert.Equal(["role:responder", "role:admin"], approval.Approvers);
        Assert.Contains("Block 203.0.113.7", approval.Message, StringComparison.Ordinal);
        await h.Tenant.Response.DecideApprovalAsync(approval.Id, true, "confirmed with alice", Harness.Tester, Harness.Ct);
        h.Engine.Wake(h.Scope, run.Id);
        run = await h.Engine.WaitAsync(h.Scope, run.Id, true, Harness.Ct);
        Assert.Equal(RunState.Succeeded, run.State);
        var block = Assert.Single(firewall.Requests);
        Assert.Equal("/api/block", block.Path);
        Assert.Equal("""{"ip":"203.0.113.7","duration":"24h","reason":"brute force, alert alr_203.0.113.7","approved_by":"apikey:tester"}""", block.Body);
        var ts = block.Header("x-mcpsec-timestamp");
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("fw-hmac-key-0001"), Encoding.UTF8.GetBytes(ts + "." + block.Body))),
            block.Header("x-mcpsec-signature"));
        Assert.Equal("resolve", JsonNode.Parse(pd.Requests.Last().Body)!["event_action"]!.GetValue<string>());

        // Rejected path: no block.
        var second = Assert.Single(await triggers.OnMessageAsync(Message(h, ResponseTopics.Alerts, Alert("198.51.100.23")), Harness.Ct));
        second = await h.Engine.WaitAsync(h.Scope, second.Id, false, Harness.Ct);
        var pending = Assert.Single(await h.Tenant.Response.ListApprovalsAsync(ApprovalState.Pending, 10, Harness.Ct));
        await h.Tenant.Response.DecideApprovalAsync(pending.Id, false, "shared NAT address", Harness.Tester, Harness.Ct);
        h.Engine.Wake(h.Scope, second.Id);
        second = await h.Engine.WaitAsync(h.Scope, second.Id, true, Harness.Ct);
        Assert.Equal(RunState.Succeeded, second.State);
        Assert.Single(firewall.Requests);
        var steps = await h.StepsAsync(second.Id);
        Assert.Contains("shared NAT address", steps["declined"].Output, StringComparison.Ordinal);
        Assert.False(steps.ContainsKey("block"));
    }

    [Fact]
    public async Task SbomWithCriticalFindings_EmailWithFindingsAttached_OverRealSmtp()
    {
        var (triggers, h) = await SetUpAsync("sbom-critical-email.yml");
        await using var _ = h;
        await using var smtp = await SmtpServer.StartAsync();
        await h.SecretAsync("smtp_host", "127.0.0.1");
        await h.SecretAsync("smtp_port", smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var summary = """
            {"kind":"sbom_version","project":"shop","version":"2.4.0","uploaded_at":"2026-11-25T21:00:00Z","owners":["dev-lead@example.org","sec@example.org"],
             "counts":{"critical":1,"high":1},
             "findings":[{"vulnerability":"CVE-2021-44228","severity":"CRITICAL","package":"pkg:maven/org.apache.logging.log4j/log4j-core","version":"2.14.1","fixed_versions":["2.15.0"]},
                         {"vulnerability":"CVE-2022-22965","severity":"HIGH","package":"pkg:maven/org.springframework/spring-beans","version":"5.3.17","fixed_versions":["5.3.18"]}]}
            """;
        var run = Assert.Single(await triggers.OnMessageAsync(Message(h, ResponseTopics.Findings, summary), Harness.Ct));
        run = await h.Engine.WaitAsync(h.Scope, run.Id, true, Harness.Ct);
        Assert.True(run.State == RunState.Succeeded, run.Error);

        var file = Assert.Single(smtp.Messages());
        var message = await MimeMessage.LoadAsync(file, Harness.Ct);
        Assert.Equal("[mcpsec] 1 critical finding(s) in shop 2.4.0", message.Subject);
        Assert.Equal(["dev-lead@example.org", "sec@example.org"], message.To.Mailboxes.Select(m => m.Address));
        Assert.Contains("CVE-2021-44228 in pkg:maven/org.apache.logging.log4j/log4j-core 2.14.1 (fixed in 2.15.0)", message.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("CVE-2022-22965 in", message.TextBody, StringComparison.Ordinal);
        var attachments = message.Attachments.OfType<MimePart>().ToDictionary(a => a.FileName ?? "");
        Assert.Equal(["findings-shop-2.4.0.csv", "findings-shop-2.4.0.json"], attachments.Keys.Order(StringComparer.Ordinal));
        using var json = new MemoryStream();
        await attachments["findings-shop-2.4.0.json"].Content!.DecodeToAsync(json, Harness.Ct);
        var findings = JsonNode.Parse(json.ToArray())!.AsArray();
        Assert.Equal(2, findings.Count);
        Assert.Equal("CVE-2021-44228", findings[0]!["vulnerability"]!.GetValue<string>());
        using var csv = new MemoryStream();
        await attachments["findings-shop-2.4.0.csv"].Content!.DecodeToAsync(csv, Harness.Ct);
        Assert.StartsWith("vulnerability,severity,package,version,fixed_versions\nCVE-2021-44228,CRITICAL,", Encoding.UTF8.GetString(csv.ToArray()), StringComparison.Ordinal);
        Assert.Contains("@mcpsec", message.MessageId, StringComparison.Ordinal);
    }
}
