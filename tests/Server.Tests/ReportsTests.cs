using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Core.Tenancy;
using McpSecurity.Reporting.Scheduling;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Reporting;
using McpSecurity.Server.SupplyChain;
using McpSecurity.Server.Tests.Support;
using McpSecurity.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace McpSecurity.Server.Tests;

public sealed class ReportsTests : IAsyncLifetime
{
    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _platform = await PlatformFixture.StartAsync();
        var summary = await _platform.Services.GetRequiredService<AdvisoryDatabase>().ImportAsync(TestData.Path("vuln", "osv", "go"), null, Ct);
        Assert.Empty(summary.Errors);
    }

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private static async Task<string> GenerateAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/v1/reports", body, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await JobPolling.FinishedAsync(client, (await response.Content.ReadFromJsonAsync<JobDto>(Ct))!.Id);
        Assert.True(job.State == "succeeded", job.Error);
        Assert.Equal(100, job.Progress);
        return JsonDocument.Parse(job.Result!).RootElement.GetProperty("report").GetString()!;
    }

    [Fact]
    public async Task VulnerabilityReport_GeneratedAsJob_StoredAndDownloaded_InEveryFormat()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var sbom = Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();
        var upload = await client.PostAsync("/api/v1/projects/bridge/sboms?version=1.6.3", new ByteArrayContent(await File.ReadAllBytesAsync(sbom, Ct)), Ct);
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, (await upload.Content.ReadFromJsonAsync<SbomUploadDto>(Ct))!.Job.Id)).State);
        var findings = (await client.GetFromJsonAsync<FindingPageDto>("/api/v1/findings?project=bridge&limit=1000", Ct))!.Findings;
        Assert.NotEmpty(findings);

        var pdfId = await GenerateAsync(client, new { kind = "vulnerability", format = "pdf", project = "bridge" });
        var pdf = await client.GetAsync($"/api/v1/reports/{pdfId}/content", Ct);
        Assert.Equal("application/pdf", pdf.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", pdf.Content.Headers.ContentDisposition!.DispositionType);
        Assert.StartsWith("%PDF-", Encoding.ASCII.GetString(await pdf.Content.ReadAsByteArrayAsync(Ct), 0, 5), StringComparison.Ordinal);

        var csvId = await GenerateAsync(client, new { kind = "vulnerability", format = "csv", project = "bridge" });
        var csv = await client.GetStringAsync($"/api/v1/reports/{csvId}/content", Ct);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Severity,Score,Vulnerability,Component", lines[0], StringComparison.Ordinal);
        // One row per finding; explanations may hold line breaks only inside quotes, which this data has none of.
        Assert.Equal(findings.Count, lines.Length - 1);
        Assert.All(findings, f => Assert.Contains(f.VulnerabilityId, csv, StringComparison.Ordinal));

        var htmlId = await GenerateAsync(client, new { kind = "vulnerability", format = "html", project = "bridge" });
        var html = await client.GetStringAsync($"/api/v1/reports/{htmlId}/content", Ct);
        Assert.Contains("<svg", html, StringComparison.Ordinal);

        var listed = (await client.GetFromJsonAsync<List<ReportDto>>("/api/v1/reports", Ct))!;
        Assert.Equal([htmlId, csvId, pdfId], listed.Select(r => r.Id));
        Assert.All(listed, r => Assert.True(r.ExpiresAt > r.CreatedAt.AddDays(29)));

        // Another tenant cannot see or fetch them.
        var (_, otherKey) = await _platform.CreateTenantAsync();
        using var other = _platform.Client(otherKey);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/v1/reports/{pdfId}/content", Ct)).StatusCode);
        Assert.Empty((await other.GetFromJsonAsync<List<ReportDto>>("/api/v1/reports", Ct))!);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/reports/{csvId}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/reports/{csvId}", Ct)).StatusCode);
    }

    [Fact]
    public async Task ComplianceReport_NewTenant_PeriodWithoutData_SaysSo()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);

        var id = await GenerateAsync(client, new { kind = "compliance", framework = "soc2", format = "json" });

        var meta = (await client.GetFromJsonAsync<ReportDto>($"/api/v1/reports/{id}", Ct))!;
        Assert.True(meta.Empty);
        var json = await client.GetStringAsync($"/api/v1/reports/{id}/content", Ct);
        Assert.Contains("No vulnerability, alert or playbook data for this period", json, StringComparison.Ordinal);
        Assert.Contains("The audit hash chain verifies", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"kind":"vulnerability","format":"pdf"}""", "project")]
    [InlineData("""{"kind":"compliance","framework":"hipaa"}""", "framework")]
    [InlineData("""{"kind":"nonsense"}""", "kind")]
    [InlineData("""{"kind":"executive","format":"docx"}""", "format")]
    [InlineData("""{"kind":"executive","format":"pdf","template":"<p>{{ report.title }}</p>"}""", "template")]
    [InlineData("""{"kind":"executive","from":"2026-02-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}""", "from")]
    public async Task Generate_BadRequest_NamesTheField(string body, string field)
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);

        var response = await client.PostAsync("/api/v1/reports", new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("61 * * * *", "Invalid cron expression '61 * * * *'")]
    [InlineData("every monday", "has 2 fields")]
    [InlineData("0 6 * * MON-FOO", "Invalid cron expression")]
    public async Task Schedule_InvalidCron_RejectedWithTheReason(string cron, string reason)
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);

        var response = await client.PostAsJsonAsync("/api/v1/reports/schedules", new { name = "bad", cron, kind = "executive" }, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schedule_TimeZoneHonoured_FiresOnceAsAJob_AndStoresTheReport()
    {
        var (tenant, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        var created = await client.PostAsJsonAsync("/api/v1/reports/schedules",
            new { name = "Daily exec", cron = "0 6 * * *", timeZone = "Europe/Berlin", kind = "executive", format = "html", periodDays = 7, retentionDays = 10 }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var schedule = (await created.Content.ReadFromJsonAsync<ReportScheduleDto>(Ct))!;
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var local = TimeZoneInfo.ConvertTime(schedule.NextRunAt!.Value, berlin);
        Assert.Equal((6, 0), (local.Hour, local.Minute));
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsJsonAsync("/api/v1/reports/schedules", new { name = "daily EXEC", cron = "0 7 * * *", kind = "executive" }, Ct)).StatusCode);

        // Make it due now, then run one scheduler tick as the background service would.
        var reports = _platform.Store.ForTenant(TenantScope.For(tenant.Id)).Reports;
        var stored = (await reports.GetScheduleAsync(schedule.Id, Ct))!;
        await reports.UpdateScheduleAsync(stored.Id, new(stored.Name, stored.Cron, stored.TimeZone, stored.Kind, stored.Format, stored.Parameters, stored.RetentionDays, true,
            DateTimeOffset.UtcNow.AddMinutes(-1)), Actor.System("test"), Ct);
        var scheduler = _platform.Services.GetServices<IHostedService>().OfType<ReportScheduler>().Single();
        await scheduler.TickAsync(Ct);
        await scheduler.TickAsync(Ct);

        var after = (await client.GetFromJsonAsync<ReportScheduleDto>($"/api/v1/reports/schedules/{schedule.Id}", Ct))!;
        Assert.NotNull(after.LastJobId);
        Assert.True(after.NextRunAt > DateTimeOffset.UtcNow);
        Assert.Equal("succeeded", (await JobPolling.FinishedAsync(client, after.LastJobId!)).State);
        var report = Assert.Single((await client.GetFromJsonAsync<List<ReportDto>>("/api/v1/reports", Ct))!);
        Assert.Equal(schedule.Id, report.ScheduleId);
        Assert.Equal("executive", report.Kind);
        Assert.Equal(7, (report.PeriodTo - report.PeriodFrom).TotalDays, 3);
        Assert.True(report.ExpiresAt < report.CreatedAt.AddDays(11));

        var put = await client.PutAsJsonAsync($"/api/v1/reports/schedules/{schedule.Id}", new { name = "Daily exec", cron = "30 7 * * 1-5", timeZone = "America/New_York", kind = "compliance", framework = "pci-dss", enabled = false }, Ct);
        var updated = (await put.Content.ReadFromJsonAsync<ReportScheduleDto>(Ct))!;
        Assert.False(updated.Enabled);
        Assert.Null(updated.NextRunAt);
        Assert.Equal("pci-dss", updated.Framework);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/reports/schedules/{schedule.Id}", Ct)).StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<List<ReportScheduleDto>>("/api/v1/reports/schedules", Ct))!);
    }

    [Fact]
    public void ScheduleRules_DaylightSavingChange_KeepsLocalTime()
    {
        // Berlin switches to summer time on 2026-03-29: 06:00 local is 05:00 UTC before and 04:00 UTC after.
        var before = ReportScheduleRules.Next("0 6 * * *", "Europe/Berlin", new DateTimeOffset(2026, 3, 27, 12, 0, 0, TimeSpan.Zero));
        var after = ReportScheduleRules.Next("0 6 * * *", "Europe/Berlin", new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero));

        Assert.Equal(new DateTimeOffset(2026, 3, 28, 5, 0, 0, TimeSpan.Zero), before);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 4, 0, 0, TimeSpan.Zero), after);
    }

    [Fact]
    public async Task Frameworks_ListMappingVersions()
    {
        using var client = _platform.Client(await _platform.CreateKeyAsync(_platform.OwnerKey, Role.Viewer));

        var frameworks = (await client.GetFromJsonAsync<List<FrameworkDto>>("/api/v1/reports/frameworks", Ct))!;

        Assert.Equal(["soc2", "iso27001", "nist-csf", "nist-800-53", "pci-dss"], frameworks.Select(f => f.Framework));
        Assert.All(frameworks, f => Assert.Equal("1.0.0", f.MappingVersion));
    }
}

public sealed class ResponseReportFeedTests : IAsyncLifetime
{
    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _platform = await PlatformFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task ResponseReport_ReadsPlaybookRunsFromTheResponseStore()
    {
        var (tenant, key) = await _platform.CreateTenantAsync();
        var (run, _) = await _platform.Store.ForTenant(TenantScope.For(tenant.Id)).Response.CreateRunAsync(
            new Core.Response.NewRun(null, "isolate-host", 1, "name: isolate-host", "manual", null, "{}", "{}", true), Actor.System("test"), Ct);
        using var client = _platform.Client(key);

        var response = await client.PostAsJsonAsync("/api/v1/reports", new { kind = "response", format = "json" }, Ct);
        var job = (await response.Content.ReadFromJsonAsync<JobDto>(Ct))!;
        for (var i = 0; i < 1200 && job.State is not ("succeeded" or "failed"); i++)
        {
            await Task.Delay(50, Ct);
            job = (await client.GetFromJsonAsync<JobDto>($"/api/v1/jobs/{job.Id}", Ct))!;
        }

        Assert.True(job.State == "succeeded", job.Error);
        var id = JsonDocument.Parse(job.Result!).RootElement.GetProperty("report").GetString();
        var json = await client.GetStringAsync($"/api/v1/reports/{id}/content", Ct);
        Assert.Contains(run.Id, json, StringComparison.Ordinal);
        Assert.Contains("isolate-host", json, StringComparison.Ordinal);
        Assert.DoesNotContain("Playbook runs not available", json, StringComparison.Ordinal);
    }
}
