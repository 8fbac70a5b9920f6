using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Detection;
using McpSecurity.Server.Hosting;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;

namespace McpSecurity.Server.Tests;

/// <summary>
/// Detection state that outlives a process or a rule edit: correlation windows checkpointed to the store and
/// resumed after a real restart (both stores), and rule directories reloaded while the server runs.
/// </summary>
public sealed class DetectionStateTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private const string BaseRuleId = "0c6f1d3e-5b7a-4c1e-9d2f-3a4b5c6d7e01";
    private const string CorrelationRuleId = "0c6f1d3e-5b7a-4c1e-9d2f-3a4b5c6d7e02";

    private const string SecretRead = $"""
        title: Agent reads a credentials file
        id: {BaseRuleId}
        name: agent_secret_read
        status: experimental
        author: Platform Tests
        level: low
        logsource:
            product: mcpagent
            category: tool_call
        detection:
            selection:
                tool: file.read
                path|endswith: '.aws/credentials'
            condition: selection
        """;

    private const string RepeatedSecretReads = $"""
        title: Agent reads credentials repeatedly
        id: {CorrelationRuleId}
        author: Platform Tests
        level: high
        tags:
            - attack.credential-access
            - attack.t1552.001
        correlation:
            type: event_count
            rules:
                - agent_secret_read
            group-by:
                - host.name
            timespan: 10m
            condition:
                gte: 5
        """;

    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string TempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string Read(string host, string path, DateTimeOffset at) => JsonSerializer.Serialize(new
    {
        logsource = new { product = "mcpagent", category = "tool_call" },
        @timestamp = at.ToString("O"),
        host = new { name = host },
        user = new { name = "eve" },
        tool = "file.read",
        path,
    });

    private static async Task PostAsync(HttpClient client, params string[] lines)
    {
        var response = await client.PostAsync("/api/v1/events", new StringContent(string.Join('\n', lines), Encoding.UTF8), Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var result = (await response.Content.ReadFromJsonAsync<IngestResultDto>(Ct))!;
        Assert.Equal(lines.Length, result.Accepted);
    }

    private static async Task<List<AlertDto>> AlertsAsync(HttpClient client, string ruleId) =>
        (await client.GetFromJsonAsync<AlertPageDto>("/api/v1/alerts?limit=500", Ct))!.Alerts.Where(a => a.RuleId == ruleId).ToList();

    private static async Task<List<AlertDto>> WaitAsync(HttpClient client, string ruleId, Func<List<AlertDto>, bool> done)
    {
        for (var i = 0; i < 600; i++)
        {
            var alerts = await AlertsAsync(client, ruleId);
            if (done(alerts))
            {
                return alerts;
            }

            await Task.Delay(50, Ct);
        }

        return await AlertsAsync(client, ruleId);
    }

    [Fact]
    public Task CorrelationWindow_SpanningARestart_Fires_Sqlite() => RestartAsync(null);

    [Fact]
    public async Task CorrelationWindow_SpanningARestart_Fires_Postgres()
    {
        var connection = await postgres.CreateDatabaseAsync();
        await RestartAsync(async () => await Storage.Postgres.PostgresStore.OpenAsync(connection, TimeProvider.System, Ct));
    }

    private static async Task RestartAsync(Func<Task<IStore>>? openStore)
    {
        var rules = TempDir("mcpsec-corr-rules-");
        await File.WriteAllTextAsync(Path.Combine(rules, "secret_read.yml"), SecretRead, Ct);
        await File.WriteAllTextAsync(Path.Combine(rules, "repeated_secret_reads.yml"), RepeatedSecretReads, Ct);
        var dataDir = TempDir("mcpsec-corr-data-");
        AttackLibrary.Import(dataDir, TestData.Path("attack", "enterprise-attack.json"));
        void Configure(PlatformOptions o)
        {
            o.Detection.RuleDirectories.Add(rules);
            o.Detection.CheckpointSeconds = 1;
        }

        string key;
        string tenantId;
        var first = await PlatformFixture.StartAsync(Configure, openStore is null ? null : await openStore(), dataDir);
        try
        {
            var (tenant, ownerKey) = await first.CreateTenantAsync();
            (key, tenantId) = (ownerKey, tenant.Id);
            using var client = first.Client(key);

            // Three of the five reads the correlation needs, and one on another host.
            await PostAsync(client,
                Read("ws-1", "/home/eve/.aws/credentials", T0),
                Read("ws-1", "/home/eve/.aws/credentials", T0.AddMinutes(1)),
                Read("ws-2", "/home/eve/.aws/credentials", T0.AddMinutes(1)),
                Read("ws-1", "/home/eve/.aws/credentials", T0.AddMinutes(2)));
            await WaitAsync(client, BaseRuleId, a => a.Sum(x => x.Count) >= 4);

            // The periodic checkpoint reaches the store while the server runs (not only on shutdown).
            byte[]? saved = null;
            for (var i = 0; i < 200 && saved is null; i++)
            {
                saved = await first.Store.ForTenant(TenantScope.For(tenantId)).Alerts.LoadCheckpointAsync(DetectionPipeline.CheckpointKey, Ct);
                if (saved is null)
                {
                    await Task.Delay(50, Ct);
                }
            }

            Assert.NotNull(saved);
            Assert.Empty(await AlertsAsync(client, CorrelationRuleId));
        }
        finally
        {
            await first.DisposeAsync();
        }

        // A new process on the same store: two more reads within the window complete the count for ws-1 only.
        var second = await PlatformFixture.StartAsync(Configure, openStore is null ? null : await openStore(), dataDir);
        try
        {
            using var client = second.Client(key);
            await PostAsync(client,
                Read("ws-1", "/home/eve/.aws/credentials", T0.AddMinutes(4)),
                Read("ws-2", "/home/eve/.aws/credentials", T0.AddMinutes(4)),
                Read("ws-1", "/home/eve/.aws/credentials", T0.AddMinutes(5)));
            var fired = await WaitAsync(client, CorrelationRuleId, a => a.Count > 0);
            var alert = Assert.Single(fired);
            Assert.Equal("ws-1", alert.Entities.Host);
            Assert.Equal("high", alert.Level);
            Assert.Contains(alert.Attack.Techniques, t => t.Id == "T1552.001");
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task RuleFileEdited_WhileServing_NewVersionMatches_BrokenEditKeepsPreviousAndIsReported()
    {
        var rules = TempDir("mcpsec-reload-rules-");
        var file = Path.Combine(rules, "secret_read.yml");
        await File.WriteAllTextAsync(file, SecretRead, Ct);
        await using var platform = await PlatformFixture.StartAsync(o => o.Detection.RuleDirectories.Add(rules));
        var (_, key) = await platform.CreateTenantAsync();
        using var client = platform.Client(key);
        var t = T0;
        string Next(string path)
        {
            t = t.AddHours(2);
            return Read("ws-" + Guid.NewGuid().ToString("N")[..6], path, t);
        }

        await PostAsync(client, Next("/home/eve/.aws/credentials"));
        Assert.Single(await WaitAsync(client, BaseRuleId, a => a.Count >= 1));
        var before = (await client.GetFromJsonAsync<RulePageDto>("/api/v1/rules", Ct))!;
        var generation = before.Reload!.Generation;

        // Edit: the rule now matches SSH keys instead of AWS credentials.
        await File.WriteAllTextAsync(file, SecretRead.Replace(".aws/credentials", ".ssh/id_ed25519", StringComparison.Ordinal), Ct);
        var reloaded = await WaitForReloadAsync(client, generation);
        Assert.Empty(reloaded.KeptPreviousVersion);
        await PostAsync(client, Next("/home/eve/.aws/credentials"), Next("/home/eve/.ssh/id_ed25519"));
        var afterEdit = await WaitAsync(client, BaseRuleId, a => a.Count >= 2);
        Assert.Equal(2, afterEdit.Count);

        // Broken edit: the YAML no longer parses as a rule. It is reported and the edited version keeps matching.
        await File.WriteAllTextAsync(file, SecretRead.Replace("condition: selection", "condition: selection and missing_selection", StringComparison.Ordinal), Ct);
        var broken = await WaitForReloadAsync(client, reloaded.Generation);
        var kept = Assert.Single(broken.KeptPreviousVersion);
        Assert.Equal("secret_read.yml", kept.File);
        Assert.Contains(kept.Problems, p => p.Contains("missing_selection", StringComparison.Ordinal));
        Assert.DoesNotContain(kept.Problems, p => p.Contains(rules, StringComparison.Ordinal));
        Assert.Equal(1, broken.Rules);
        await PostAsync(client, Next("/home/eve/.ssh/id_ed25519"));
        Assert.Equal(3, (await WaitAsync(client, BaseRuleId, a => a.Count >= 3)).Count);

        // A new rule file appears: it runs without a restart.
        await File.WriteAllTextAsync(Path.Combine(rules, "other.yml"), SecretRead.Replace(BaseRuleId, "0c6f1d3e-5b7a-4c1e-9d2f-3a4b5c6d7e03", StringComparison.Ordinal)
            .Replace("name: agent_secret_read", "name: agent_kube_read", StringComparison.Ordinal).Replace(".ssh/id_ed25519", ".kube/config", StringComparison.Ordinal)
            .Replace(".aws/credentials", ".kube/config", StringComparison.Ordinal), Ct);
        var added = await WaitForReloadAsync(client, broken.Generation);
        Assert.Equal(2, added.Rules);
        await PostAsync(client, Next("/home/eve/.kube/config"));
        Assert.Single(await WaitAsync(client, "0c6f1d3e-5b7a-4c1e-9d2f-3a4b5c6d7e03", a => a.Count >= 1));
    }

    private static async Task<RuleReloadDto> WaitForReloadAsync(HttpClient client, int after)
    {
        for (var i = 0; i < 400; i++)
        {
            var page = (await client.GetFromJsonAsync<RulePageDto>("/api/v1/rules", Ct))!;
            if (page.Reload is { } r && r.Generation > after)
            {
                return r;
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException($"the rule directory was not reloaded after generation {after}");
    }
}
