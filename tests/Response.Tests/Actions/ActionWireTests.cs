using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using McpSecurity.Core.Response;
using McpSecurity.Response.Tests.Support;

namespace McpSecurity.Response.Tests.Actions;

/// <summary>Each action against a real HTTP listener on 127.0.0.1, checking the request the real service expects.</summary>
public sealed class ActionWireTests
{
    private static JsonObject Json(string body) => JsonNode.Parse(body)!.AsObject();

    [Fact]
    public async Task Http_SignedWebhook_HmacOverTimestampAndBody_IdempotencyKeyStable()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync();
        await h.SecretAsync("hook_key", "s3cr3t-signing-key");
        var run = await h.RunAsync($$$"""
            name: hook
            steps:
              - id: call
                action: http.request
                with:
                  url: "{{{listener.Url("block?x=1")}}}"
                  method: PUT
                  signing_secret: "{{ secrets.hook_key }}"
                  headers: { X-Team: secops }
                  body: { ip: "{{ inputs.ip }}", hours: 24 }
            """, new JsonObject { ["ip"] = "203.0.113.7" });
        Assert.Equal(RunState.Succeeded, run.State);
        var r = Assert.Single(listener.Requests);
        Assert.Equal("PUT", r.Method);
        Assert.Equal("/block", r.Path);
        Assert.Equal("?x=1", r.Query);
        Assert.Equal("""{"ip":"203.0.113.7","hours":24}""", r.Body);
        Assert.StartsWith("application/json", r.Header("content-type"), StringComparison.Ordinal);
        Assert.Equal("secops", r.Header("x-team"));
        var ts = r.Header("x-mcpsec-timestamp");
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("s3cr3t-signing-key"), Encoding.UTF8.GetBytes(ts + "." + r.Body)));
        Assert.Equal(expected, r.Header("x-mcpsec-signature"));
        Assert.StartsWith("mcpsec-", r.Header("idempotency-key"), StringComparison.Ordinal);

        // The signing key is a secret: history shows it masked.
        var step = (await h.StepsAsync(run.Id))["call"];
        Assert.DoesNotContain("s3cr3t-signing-key", step.Input, StringComparison.Ordinal);
        Assert.Contains("***", step.Input, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slack_IncomingWebhook_And_ChatPostMessage()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(r => Task.FromResult(r.Path.EndsWith("chat.postMessage", StringComparison.Ordinal)
            ? new Reply(200, """{"ok":true,"channel":"C024BE91L","ts":"1700000000.000100"}""")
            : new Reply(200, "ok", "text/plain")));
        await h.SecretAsync("slack_bot", "xoxb-1234-abcd");
        var run = await h.RunAsync($$$"""
            name: slack
            steps:
              - id: hook
                action: slack.webhook
                with:
                  url: "{{{listener.Url("services/T000/B000/XXXX")}}}"
                  text: "alert {{ trigger.id }}"
                  blocks: [{ type: section, text: { type: mrkdwn, text: "*alert*" } }]
              - id: post
                action: slack.post_message
                with:
                  api_url: "{{{listener.Url("api/")}}}"
                  token: "{{ secrets.slack_bot }}"
                  channel: "#secops"
                  text: "thread for {{ trigger.id }}"
            outputs:
              ts: "{{ steps.post.output.ts }}"
            """, trigger: new JsonObject { ["id"] = "alr_1" });
        Assert.Equal(RunState.Succeeded, run.State);
        var requests = listener.Requests.ToArray();
        Assert.Equal("/services/T000/B000/XXXX", requests[0].Path);
        Assert.Equal("""{"text":"alert alr_1","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*alert*"}}]}""", requests[0].Body);
        Assert.Equal("/api/chat.postMessage", requests[1].Path);
        Assert.Equal("Bearer xoxb-1234-abcd", requests[1].Header("authorization"));
        Assert.Equal("application/json; charset=utf-8", requests[1].Header("content-type"));
        Assert.Equal("""{"channel":"#secops","text":"thread for alr_1"}""", requests[1].Body);
        Assert.Equal("""{"ts":"1700000000.000100"}""", run.Outputs);
    }

    [Fact]
    public async Task Slack_ChatPostMessageNotOk_StepFailsWithSlackError()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(200, """{"ok":false,"error":"channel_not_found"}""")));
        var run = await h.RunAsync($$$"""
            name: slack
            steps:
              - id: post
                action: slack.post_message
                with: { api_url: "{{{listener.Url("api/")}}}", token: t, channel: "#nope", text: hi }
                retry: { attempts: 3, backoff: 10ms }
            """);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Contains("channel_not_found", run.Error, StringComparison.Ordinal);
        Assert.Single(listener.Requests); // not a transient error: no retry
    }

    [Fact]
    public async Task Teams_AdaptiveCard()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(202, "1", "text/plain")));
        var run = await h.RunAsync($$$"""
            name: teams
            steps:
              - id: card
                action: teams.webhook
                with:
                  url: "{{{listener.Url("webhookb2/abc")}}}"
                  title: "Incident INC-7"
                  text: "Ransomware indicators on host-9"
                  facts: { Severity: critical, Host: host-9 }
            """);
        Assert.Equal(RunState.Succeeded, run.State);
        var body = Json(Assert.Single(listener.Requests).Body);
        Assert.Equal("message", body["type"]!.GetValue<string>());
        var attachment = body["attachments"]![0]!;
        Assert.Equal("application/vnd.microsoft.card.adaptive", attachment["contentType"]!.GetValue<string>());
        var card = attachment["content"]!;
        Assert.Equal("AdaptiveCard", card["type"]!.GetValue<string>());
        Assert.Equal("1.4", card["version"]!.GetValue<string>());
        Assert.Equal("Incident INC-7", card["body"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("""[{"title":"Severity","value":"critical"},{"title":"Host","value":"host-9"}]""", card["body"]![2]!["facts"]!.ToJsonString());
    }

    [Fact]
    public async Task PagerDuty_TriggerAcknowledgeResolve_WithDedupKey()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(r => Task.FromResult(new Reply(202,
            $$"""{"status":"success","message":"Event processed","dedup_key":"{{Json(r.Body)["dedup_key"]}}"}""")));
        var url = listener.Url("v2/enqueue");
        var run = await h.RunAsync($$$"""
            name: pd
            steps:
              - id: open
                action: pagerduty.event
                with: { api_url: "{{{url}}}", routing_key: R0UT1NGKEY000000000000000000000, event_action: trigger, dedup_key: "bf-{{ trigger.ip }}",
                        summary: "Brute force from {{ trigger.ip }}", source: vpn-01, severity: critical, component: auth, custom_details: { count: 42 } }
              - id: ack
                action: pagerduty.event
                with: { api_url: "{{{url}}}", routing_key: R0UT1NGKEY000000000000000000000, event_action: acknowledge, dedup_key: "{{ steps.open.output.dedup_key }}" }
              - id: done
                action: pagerduty.event
                with: { api_url: "{{{url}}}", routing_key: R0UT1NGKEY000000000000000000000, event_action: resolve, dedup_key: "bf-{{ trigger.ip }}" }
            """, trigger: new JsonObject { ["ip"] = "203.0.113.7" });
        Assert.Equal(RunState.Succeeded, run.State);
        var r = listener.Requests.ToArray();
        Assert.All(r, x => Assert.Equal("/v2/enqueue", x.Path));
        Assert.Equal("""{"routing_key":"R0UT1NGKEY000000000000000000000","event_action":"trigger","dedup_key":"bf-203.0.113.7","payload":{"summary":"Brute force from 203.0.113.7","source":"vpn-01","severity":"critical","component":"auth","custom_details":{"count":42}}}""", r[0].Body);
        Assert.Equal("""{"routing_key":"R0UT1NGKEY000000000000000000000","event_action":"acknowledge","dedup_key":"bf-203.0.113.7"}""", r[1].Body);
        Assert.Equal("""{"routing_key":"R0UT1NGKEY000000000000000000000","event_action":"resolve","dedup_key":"bf-203.0.113.7"}""", r[2].Body);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("3")]
    public async Task Jira_CreateThenTransition(string version)
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(r => Task.FromResult(r switch
        {
            { Method: "GET" } when r.Path.Contains("/search", StringComparison.Ordinal) => new Reply(200, """{"issues":[]}"""),
            { Method: "POST" } when r.Path.EndsWith("/issue", StringComparison.Ordinal) => new Reply(201, """{"id":"10042","key":"SEC-42","self":"x"}"""),
            { Method: "GET" } when r.Path.EndsWith("/transitions", StringComparison.Ordinal) => new Reply(200, """{"transitions":[{"id":"11","name":"To Do"},{"id":"31","name":"In Progress"}]}"""),
            { Method: "POST" } when r.Path.EndsWith("/transitions", StringComparison.Ordinal) => new Reply(204),
            _ => new Reply(404, """{"errorMessages":["no route"]}"""),
        }));
        await h.SecretAsync("jira_token", "ATATT3xFfGF0-token");
        var run = await h.RunAsync($$$"""
            name: jira
            steps:
              - id: create
                action: jira.create_issue
                with: { url: "{{{listener.BaseAddress}}}", user: bot@example.org, token: "{{ secrets.jira_token }}", api_version: "{{{version}}}",
                        project: SEC, issue_type: Bug, priority: High, summary: "KEV CVE-2024-3400", description: "Patch now", labels: [kev] }
              - id: move
                action: jira.transition_issue
                with: { url: "{{{listener.BaseAddress}}}", user: bot@example.org, token: "{{ secrets.jira_token }}", api_version: "{{{version}}}",
                        issue: "{{ steps.create.output.key }}", transition: "in progress" }
            """);
        Assert.Equal(RunState.Succeeded, run.State);
        var r = listener.Requests.ToArray();
        Assert.Equal(4, r.Length);
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("bot@example.org:ATATT3xFfGF0-token"));
        Assert.All(r, x => Assert.Equal(basic, x.Header("authorization")));
        Assert.Equal(version == "3" ? "/rest/api/3/search/jql" : "/rest/api/2/search", r[0].Path);
        Assert.Contains("labels", Uri.UnescapeDataString(r[0].Query), StringComparison.Ordinal);
        Assert.Equal($"/rest/api/{version}/issue", r[1].Path);
        var fields = Json(r[1].Body)["fields"]!;
        Assert.Equal("SEC", fields["project"]!["key"]!.GetValue<string>());
        Assert.Equal("Bug", fields["issuetype"]!["name"]!.GetValue<string>());
        Assert.Equal("High", fields["priority"]!["name"]!.GetValue<string>());
        Assert.Equal("KEV CVE-2024-3400", fields["summary"]!.GetValue<string>());
        Assert.StartsWith("mcpsec-", fields["labels"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("kev", fields["labels"]![1]!.GetValue<string>());
        if (version == "3")
        {
            Assert.Equal("""{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Patch now"}]}]}""", fields["description"]!.ToJsonString());
        }
        else
        {
            Assert.Equal("Patch now", fields["description"]!.GetValue<string>());
        }

        Assert.Equal($"/rest/api/{version}/issue/SEC-42/transitions", r[2].Path);
        Assert.Equal("POST", r[3].Method);
        Assert.Equal("""{"transition":{"id":"31"}}""", r[3].Body);
    }

    [Fact]
    public async Task Jira_IssueFromInterruptedAttemptFound_NotCreatedTwice()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(r => Task.FromResult(r.Path.Contains("/search", StringComparison.Ordinal)
            ? new Reply(200, """{"issues":[{"id":"10042","key":"SEC-42"}]}""")
            : new Reply(500, "must not be called")));
        var run = await h.RunAsync($$$"""
            name: jira
            steps:
              - id: create
                action: jira.create_issue
                with: { url: "{{{listener.BaseAddress}}}", token: pat, project: SEC, summary: s }
            outputs: { key: "{{ steps.create.output.key }}" }
            """);
        Assert.Equal(RunState.Succeeded, run.State);
        Assert.Equal("""{"key":"SEC-42"}""", run.Outputs);
        Assert.Equal("Bearer pat", Assert.Single(listener.Requests).Header("authorization"));
    }

    [Fact]
    public async Task ServiceNow_TableApiIncident_WithCorrelationId()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(r => Task.FromResult(r.Method == "GET"
            ? new Reply(200, """{"result":[]}""")
            : new Reply(201, """{"result":{"sys_id":"9d385017c611228701d22104cc95c371","number":"INC0010023"}}""")));
        await h.SecretAsync("snow_password", "Sn0w-Pa55");
        var run = await h.RunAsync($$$"""
            name: snow
            steps:
              - id: inc
                action: servicenow.create_incident
                with: { instance_url: "{{{listener.BaseAddress}}}", user: mcpsec.integration, password: "{{ secrets.snow_password }}",
                        short_description: "Brute force on vpn-01", description: "42 failed logins", urgency: "1", impact: "2", category: security }
            outputs: { number: "{{ steps.inc.output.number }}" }
            """);
        Assert.Equal(RunState.Succeeded, run.State);
        var r = listener.Requests.ToArray();
        Assert.Equal("/api/now/table/incident", r[0].Path);
        Assert.Contains("correlation_id%3Dmcpsec-", r[0].Query, StringComparison.Ordinal);
        Assert.Equal("POST", r[1].Method);
        Assert.Equal("/api/now/table/incident", r[1].Path);
        Assert.Equal("application/json", r[1].Header("accept"));
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("mcpsec.integration:Sn0w-Pa55")), r[1].Header("authorization"));
        var body = Json(r[1].Body);
        Assert.Equal("Brute force on vpn-01", body["short_description"]!.GetValue<string>());
        Assert.StartsWith("mcpsec-", body["correlation_id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("1", body["urgency"]!.GetValue<string>());
        Assert.Equal("""{"number":"INC0010023"}""", run.Outputs);
    }

    [Fact]
    public async Task FailingIntegration_RetriedByPolicy_StatusAndBodyExcerptRecorded_RunKept()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(503, """{"error":"upstream maintenance window until 02:00"}""")));
        var run = await h.RunAsync($$$"""
            name: flaky
            steps:
              - id: call
                action: http.request
                with: { url: "{{{listener.Url("hook")}}}", body: { a: 1 } }
                retry: { attempts: 3, backoff: 10ms, max_backoff: 20ms }
            """);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal(3, listener.Requests.Count);
        // The same idempotency key on every attempt.
        Assert.Single(listener.Requests.Select(r => r.Header("idempotency-key")).Distinct());
        var step = (await h.StepsAsync(run.Id))["call"];
        Assert.Equal(StepState.Failed, step.State);
        Assert.Equal(3, step.Attempts);
        Assert.Contains("remote status 503", step.Error, StringComparison.Ordinal);
        Assert.Contains("upstream maintenance window", step.Error, StringComparison.Ordinal);
        Assert.Equal(3, JsonNode.Parse(step.Log!)!.AsArray().Count);
        Assert.Contains("remote status 503", run.Error, StringComparison.Ordinal);

        // The run is kept and can be retried once the service is back.
        listener.Handler = _ => Task.FromResult(new Reply(200, "{}"));
        await h.Engine.RetryAsync(h.Scope, run.Id, Harness.Tester, Harness.Ct);
        var again = await h.Engine.WaitAsync(h.Scope, run.Id, true, Harness.Ct);
        Assert.Equal(RunState.Succeeded, again.State);
        Assert.Equal(4, listener.Requests.Count);
    }

    [Fact]
    public async Task ClientError_NotRetried()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(400, """{"message":"field 'ip' is invalid"}""")));
        var run = await h.RunAsync($$$"""
            name: bad
            steps:
              - id: call
                action: http.request
                with: { url: "{{{listener.Url("hook")}}}" }
                retry: { attempts: 5, backoff: 10ms }
            """);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Single(listener.Requests);
        Assert.Contains("remote status 400: {\"message\":\"field 'ip' is invalid\"}", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedirectToDeniedAddress_Refused()
    {
        await using var h = await Harness.StartAsync();
        await using var listener = await LocalListener.StartAsync(_ => Task.FromResult(new Reply(302, "", Location: "http://169.254.169.254/latest/meta-data/iam/security-credentials/")));
        var run = await h.RunAsync($$$"""
            name: redirect
            steps:
              - id: call
                action: http.request
                with: { url: "{{{listener.Url("go")}}}", method: GET }
                retry: { attempts: 3, backoff: 10ms }
            """);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Single(listener.Requests); // refused, not retried
        Assert.Contains("169.254.169.254", run.Error, StringComparison.Ordinal);
        Assert.Contains("refused", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoopbackNotAllowed_Refused()
    {
        await using var h = await Harness.StartAsync();
        // 127.0.0.2 is loopback but outside the allowed 127.0.0.1/32.
        var run = await h.RunAsync("""
            name: ssrf
            steps:
              - id: call
                action: http.request
                with: { url: "http://127.0.0.2:9/x" }
            """);
        Assert.Equal(RunState.Failed, run.State);
        Assert.Contains("refused", run.Error, StringComparison.Ordinal);
    }
}
