using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Tests.Support;

namespace McpSecurity.Server.Tests;

public sealed class JobsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<JobDto> WaitAsync(HttpClient client, string id, Func<JobDto, bool> until, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var job = (await client.GetFromJsonAsync<JobDto>($"/api/v1/jobs/{id}", Ct))!;
            if (until(job) || DateTime.UtcNow > deadline)
            {
                return job;
            }

            await Task.Delay(50, Ct);
        }
    }

    [Fact]
    public async Task AuditVerifyJob_RunsToSuccessWithResult()
    {
        await using var platform = await PlatformFixture.StartAsync();
        using var client = platform.Client(platform.OwnerKey);
        var response = await client.PostAsJsonAsync("/api/v1/jobs", new { kind = "audit.verify" }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = (await response.Content.ReadFromJsonAsync<JobDto>(Ct))!;
        Assert.Equal("queued", job.State);
        var done = await WaitAsync(client, job.Id, j => j.State is "succeeded" or "failed");
        Assert.Equal("succeeded", done.State);
        Assert.Equal(100, done.Progress);
        Assert.True(JsonDocument.Parse(done.Result!).RootElement.GetProperty("valid").GetBoolean());
    }

    [Fact]
    public async Task UnknownKind_400ListsKinds()
    {
        await using var platform = await PlatformFixture.StartAsync();
        using var client = platform.Client(platform.OwnerKey);
        var response = await client.PostAsJsonAsync("/api/v1/jobs", new { kind = "rm -rf" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("audit.verify", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunningJob_CancelledOnRequest()
    {
        await using var platform = await PlatformFixture.StartAsync();
        using var client = platform.Client(platform.OwnerKey);
        var job = (await (await client.PostAsJsonAsync("/api/v1/jobs", new { kind = "system.sleep", payload = new { seconds = 30 } }, Ct)).Content.ReadFromJsonAsync<JobDto>(Ct))!;
        await WaitAsync(client, job.Id, j => j.State == "running" && j.Progress > 0);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null, Ct)).StatusCode);
        var done = await WaitAsync(client, job.Id, j => j.State != "running");
        Assert.Equal("cancelled", done.State);
    }

    [Fact]
    public async Task RunningJob_ResumesAfterRestart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-restart-" + Guid.NewGuid().ToString("N")[..10]);
        string jobId;
        string key;
        await using (var first = await PlatformFixture.StartAsync(o => o.Jobs.LeaseSeconds = 2, dataDir: dataDir))
        {
            key = first.OwnerKey;
            using var client = first.Client(key);
            jobId = (await (await client.PostAsJsonAsync("/api/v1/jobs", new { kind = "system.sleep", payload = new { seconds = 3 } }, Ct)).Content.ReadFromJsonAsync<JobDto>(Ct))!.Id;
            var running = await WaitAsync(client, jobId, j => j.State == "running");
            Assert.Equal("running", running.State);
            // Stopping the host mid-run leaves the job claimed, as a crash would.
        }

        await using var second = await PlatformFixture.StartAsync(o => o.Jobs.LeaseSeconds = 2, dataDir: dataDir);
        using var again = second.Client(key);
        var done = await WaitAsync(again, jobId, j => j.State is "succeeded" or "failed", seconds: 60);
        Assert.Equal("succeeded", done.State);
        Assert.True(done.Attempts >= 2, $"expected a second attempt, got {done.Attempts}");
    }
}
