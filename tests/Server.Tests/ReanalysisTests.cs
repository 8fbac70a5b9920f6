using System.Net;
using System.Net.Http.Json;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Server.Apis;
using McpSecurity.Server.SupplyChain;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Server.Tests;

/// <summary>
/// When the advisories change, every project's latest SBOM is re-analysed and the diff is exposed per
/// project; run on both stores.
/// </summary>
public sealed class ReanalysisTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public Task AdvisoryImport_ReanalysesLatestSboms_Sqlite() => RunAsync(null);

    [Fact]
    public async Task AdvisoryImport_ReanalysesLatestSboms_Postgres()
    {
        var connection = await postgres.CreateDatabaseAsync();
        await RunAsync(await Storage.Postgres.PostgresStore.OpenAsync(connection, TimeProvider.System, Ct), connection);
    }

    private static async Task<JobDto> WaitAsync(HttpClient client, Func<JobDto, bool> which)
    {
        for (var i = 0; i < 1200; i++)
        {
            var jobs = (await client.GetFromJsonAsync<List<JobDto>>("/api/v1/jobs?limit=200", Ct))!;
            if (jobs.FirstOrDefault(which) is { State: "succeeded" or "failed" or "cancelled" } job)
            {
                return job;
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException("job did not finish");
    }

    private static async Task RunAsync(IStore? store, string? secondNodeConnection = null)
    {
        // On PostgreSQL a second node shares the store. It polls for jobs every 50 ms and the first node only
        // every minute, so the second node runs the jobs: its own index must not be stale when the first node
        // imports. It polls the store for advisory changes every two seconds, and must then find the
        // re-analysis already queued rather than queue another.
        await using var platform = await PlatformFixture.StartAsync(o => o.Jobs.PollMilliseconds = secondNodeConnection is null ? 50 : 60_000, store);
        await using var secondNode = secondNodeConnection is null ? null : await PlatformFixture.StartAsync(
            o => o.Feeds.PollSeconds = 2, await Storage.Postgres.PostgresStore.OpenAsync(secondNodeConnection, TimeProvider.System, Ct));
        var (_, key) = await platform.CreateTenantAsync();
        using var client = platform.Client(key);
        var sbom = Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();

        // Uploaded before any advisory is known: the first analysis finds nothing.
        var upload = await client.PostAsync("/api/v1/projects/bridge/sboms?version=1", new ByteArrayContent(await File.ReadAllBytesAsync(sbom, Ct)), Ct);
        var uploaded = (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!;
        Assert.Equal("succeeded", (await WaitAsync(client, j => j.Id == uploaded.Job.Id)).State);
        var before = (await client.GetFromJsonAsync<List<AnalysisRun>>("/api/v1/projects/bridge/analyses", Ct))!;
        Assert.Equal("upload", Assert.Single(before).Trigger);
        Assert.Empty(before[0].Added);

        // The advisories arrive: a re-analysis job is queued in the tenant and finds the vulnerable components.
        var summary = await platform.Services.GetRequiredService<AdvisoryDatabase>().ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct);
        Assert.Empty(summary.Errors);
        var job = await WaitAsync(client, j => j.Kind == SbomReanalyseJobHandler.JobKind);
        Assert.Equal("succeeded", job.State);
        Assert.Contains("\"projects\":1", job.Result, StringComparison.Ordinal);

        var runs = (await client.GetFromJsonAsync<List<AnalysisRun>>("/api/v1/projects/bridge/analyses", Ct))!;
        Assert.Equal(2, runs.Count);
        var run = runs[0];
        Assert.Equal("advisories", run.Trigger);
        Assert.Equal(uploaded.Sbom.Id, run.SbomId);
        Assert.NotEmpty(run.Added);
        Assert.Empty(run.Resolved);
        var findings = (await client.GetFromJsonAsync<FindingPageDto>("/api/v1/findings?project=bridge&limit=1000", Ct))!.Findings;
        Assert.Equal(run.Findings, findings.Count);
        Assert.All(run.Added, a => Assert.Contains(findings, f => f.VulnerabilityId == a.VulnerabilityId && f.ComponentRef == a.ComponentRef));
        Assert.Contains("findings.analyse", await client.GetStringAsync("/api/v1/audit?limit=1000", Ct), StringComparison.Ordinal);

        if (secondNode is not null)
        {
            // The second node sees the same import in the store, reloads, and finds the re-analysis already queued.
            var index = secondNode.Services.GetRequiredService<AdvisoryDatabase>();
            for (var i = 0; i < 600 && index.Index.AdvisoryCount == 0; i++)
            {
                await Task.Delay(50, Ct);
            }

            Assert.NotEqual(0, index.Index.AdvisoryCount);
            await Task.Delay(4_500, Ct);
            var jobs = (await client.GetFromJsonAsync<List<JobDto>>("/api/v1/jobs?limit=200", Ct))!;
            Assert.Single(jobs, j => j.Kind == SbomReanalyseJobHandler.JobKind);
        }

        // Another tenant sees neither the project nor its analyses.
        var (_, otherKey) = await platform.CreateTenantAsync();
        using var other = platform.Client(otherKey);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync("/api/v1/projects/bridge/analyses", Ct)).StatusCode);

        // Component search over REST: prefix words, paging, isolation, bad input.
        var page1 = (await client.GetFromJsonAsync<ComponentPageDto>("/api/v1/components?q=golang.org%2Fx&limit=2", Ct))!;
        Assert.Equal(2, page1.Components.Count);
        Assert.All(page1.Components, h => Assert.Contains("golang.org/x", h.Purl ?? h.Name, StringComparison.Ordinal));
        var page2 = (await client.GetFromJsonAsync<ComponentPageDto>($"/api/v1/components?q=golang.org%2Fx&limit=2&after={Uri.EscapeDataString(page1.Next!)}", Ct))!;
        Assert.NotEmpty(page2.Components);
        Assert.Empty(page1.Components.Select(h => h.Ref).Intersect(page2.Components.Select(h => h.Ref)));
        Assert.Empty((await other.GetFromJsonAsync<ComponentPageDto>("/api/v1/components?q=golang", Ct))!.Components);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/components?q=%2F%2F", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/components", Ct)).StatusCode);
    }
}
