using System.Globalization;
using System.Text;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Detection;
using McpSecurity.Detection.Runner;
using McpSecurity.Detection.Sigma;
using McpSecurity.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Detection;

/// <summary>
/// The detection part of <c>serve --demo</c>: four demo Sigma rules uploaded to the demo tenant (two for
/// Windows process creation, two for MCP agent tool calls), a seven-technique excerpt of ATT&amp;CK installed
/// when no catalogue is (a real <c>mcpsec attack import</c> replaces it), and six demo events (Sysmon
/// evtx-JSON and agent NDJSON, four of them malicious) run through the detection pipeline, so the demo tenant
/// shows alerts with ATT&amp;CK technique names and an incident right away. Loading it twice is a no-op.
/// </summary>
public static class DemoDetection
{
    private const string EventsResource = "demo-events.ndjson";

    private static readonly string[] RuleResources =
    [
        "demo-rule-encoded-powershell.yml", "demo-rule-comsvcs-minidump.yml", "demo-rule-agent-pipe-to-shell.yml", "demo-rule-agent-cloud-credentials.yml",
    ];

    /// <summary>Loads the demo rules and events into the demo tenant (which <see cref="DemoData"/> creates); returns lines to show the user.</summary>
    public static async Task<IReadOnlyList<string>> LoadAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var store = services.GetRequiredService<IStore>();
        var pipeline = services.GetRequiredService<DetectionPipeline>();
        var options = services.GetRequiredService<PlatformOptions>();
        if (await store.FindTenantByNameAsync(DemoData.TenantName, cancellationToken).ConfigureAwait(false) is not { } tenant)
        {
            return [];
        }

        var scope = TenantScope.For(tenant.Id);
        var alerts = store.ForTenant(scope).Alerts;
        var rules = new List<(SigmaRule Rule, string Yaml)>();
        foreach (var name in RuleResources)
        {
            var yaml = System.Text.Encoding.UTF8.GetString(Resource(name));
            var engine = new SigmaEngineBuilder().AddRuleYaml(yaml, name).Build();
            if (engine.Rejections.Count > 0 || engine.Rules.Count != 1)
            {
                throw new InvalidOperationException($"Demo rule '{name}' does not load: {(engine.Rejections.Count > 0 ? engine.Rejections[0].ToString() : "not exactly one rule")}");
            }

            rules.Add((engine.Rules[0], yaml));
        }

        foreach (var existing in await alerts.ListRulesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(existing.RuleId, rules[0].Rule.Id, StringComparison.Ordinal))
            {
                return ["Demo detection rules and events already loaded."];
            }
        }

        var lines = new List<string>();
        var catalogue = AttackLibrary.FilePath(options.DataDir);
        if (!File.Exists(catalogue))
        {
            var temp = Path.Combine(options.DataDir, "demo-attack.json.tmp");
            await File.WriteAllBytesAsync(temp, Resource("demo-attack.json"), cancellationToken).ConfigureAwait(false);
            try
            {
                var summary = AttackLibrary.Import(options.DataDir, temp);
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"Demo ATT&CK excerpt installed ({summary.Techniques} techniques); 'mcpsec attack import enterprise-attack.json' installs the full catalogue"));
            }
            finally
            {
                File.Delete(temp);
            }
        }

        var actor = Actor.System("demo");
        foreach (var (rule, yaml) in rules)
        {
            await alerts.SaveUploadedRuleAsync(rule.Id, rule.Title, yaml, actor, cancellationToken).ConfigureAwait(false);
        }

        pipeline.Invalidate(tenant.Id);
        var events = EventStreamReader.Split(Recent(Resource(EventsResource), services.GetService<TimeProvider>() ?? TimeProvider.System));
        var result = await pipeline.ProcessAsync(scope, events, cancellationToken).ConfigureAwait(false);
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"Demo detection: {rules.Count} rules uploaded to tenant 'demo', {result.Events} demo events run, {result.AlertsCreated} alerts raised; see /api/v1/alerts and /api/v1/incidents"));
        return lines;
    }

    /// <summary>
    /// The demo events are written for <see cref="RecordedDay"/>; they are replayed as if recorded yesterday
    /// (UTC), so their alerts fall inside the dashboard's recent windows. Times within the day, and so every
    /// correlation window, are unchanged.
    /// </summary>
    private static byte[] Recent(byte[] ndjson, TimeProvider time)
    {
        var yesterday = time.GetUtcNow().UtcDateTime.Date.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ndjson).Replace(RecordedDay, yesterday, StringComparison.Ordinal));
    }

    /// <summary>The day the demo events carry in their time fields (<c>@timestamp</c>, <c>SystemTime</c>, <c>UtcTime</c>).</summary>
    private const string RecordedDay = "2026-03-02";

    private static byte[] Resource(string name)
    {
        using var stream = typeof(DemoDetection).Assembly.GetManifestResourceStream("demo-detection/" + name)
            ?? throw new InvalidOperationException($"Demo resource '{name}' is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
