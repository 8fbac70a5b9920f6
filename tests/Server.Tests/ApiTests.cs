using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using McpSecurity.Core.Access;
using McpSecurity.Server.Apis;
using McpSecurity.Server.Tests.Support;

namespace McpSecurity.Server.Tests;

public sealed class ApiTests : IAsyncLifetime
{
    private PlatformFixture _platform = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _platform = await PlatformFixture.StartAsync(o => o.Limits.MaxRequestBodyBytes = 64 * 1024);

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
    }

    [Fact]
    public async Task OwnerKey_ListsTenants()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var tenants = await client.GetFromJsonAsync<List<TenantDto>>("/api/v1/tenants", Ct);
        Assert.Contains(tenants!, t => t.IsOperator && t.Name == "default");
    }

    [Fact]
    public async Task MalformedJson_400WithJsonPath()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var response = await client.PostAsync("/api/v1/users", new StringContent("""{"name": "x", "role": ["admin"}""", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Contains("$.role", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongJsonType_400NamesTheField()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var response = await client.PostAsync("/api/v1/apikeys", new StringContent("""{"name": "k", "expiresAt": 12}""", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("$.expiresAt", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingField_400NamesTheField()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var response = await client.PostAsJsonAsync("/api/v1/users", new { role = "viewer", password = "a-long-enough-password" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal("name", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task OversizedBody_413()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var big = "{\"name\":\"" + new string('a', 200 * 1024) + "\"}";
        var response = await client.PostAsync("/api/v1/tenants", new StringContent(big, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("limit", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherTenantsIds_404AndNoData()
    {
        var (_, keyA) = await _platform.CreateTenantAsync();
        var (_, keyB) = await _platform.CreateTenantAsync();
        using var a = _platform.Client(keyA);
        using var b = _platform.Client(keyB);
        var user = await (await a.PostAsJsonAsync("/api/v1/users", new { name = "alice", role = "viewer", password = "correct horse battery" }, Ct)).Content.ReadFromJsonAsync<UserDto>(Ct);
        var job = await (await a.PostAsJsonAsync("/api/v1/jobs", new { kind = "system.sleep", payload = new { seconds = 0 } }, Ct)).Content.ReadFromJsonAsync<JobDto>(Ct);
        var keys = await a.GetFromJsonAsync<List<ApiKeyDto>>("/api/v1/apikeys", Ct);

        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/api/v1/users/{user!.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync($"/api/v1/users/{user.Id}/disable", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/api/v1/jobs/{job!.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.DeleteAsync($"/api/v1/apikeys/{keys![0].Id}", Ct)).StatusCode);
        var bUsers = await b.GetFromJsonAsync<List<UserDto>>("/api/v1/users", Ct);
        Assert.DoesNotContain(bUsers!, u => u.Id == user.Id);
        var bTenants = await b.GetFromJsonAsync<List<TenantDto>>("/api/v1/tenants", Ct);
        Assert.Single(bTenants!);

        // Tenant a's key still works: b's attempt did not revoke it.
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/api/v1/apikeys", Ct)).StatusCode);
    }

    [Fact]
    public async Task UnknownExpiredAndRevokedKeys_401()
    {
        using (var unknown = _platform.Client("mcpsec_" + new string('A', 43)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await unknown.GetAsync("/api/v1/tenants", Ct)).StatusCode);
        }

        using (var notAKey = _platform.Client("some-jwt-or-garbage"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await notAKey.GetAsync("/api/v1/tenants", Ct)).StatusCode);
        }

        var expiring = await _platform.CreateKeyAsync(_platform.OwnerKey, Role.Viewer, DateTimeOffset.UtcNow.AddSeconds(1));
        using (var c = _platform.Client(expiring))
        {
            Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/v1/tenants", Ct)).StatusCode);
            await Task.Delay(1500, Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/v1/tenants", Ct)).StatusCode);
        }

        using var owner = _platform.Client(_platform.OwnerKey);
        var created = await (await owner.PostAsJsonAsync("/api/v1/apikeys", new { name = "to-revoke", role = "viewer" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyDto>(Ct);
        using (var c = _platform.Client(created!.Secret))
        {
            Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/v1/tenants", Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await owner.DeleteAsync($"/api/v1/apikeys/{created.Key.Id}", Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/v1/tenants", Ct)).StatusCode);
        }
    }

    [Fact]
    public async Task MissingPermission_403AndEscalationRefused()
    {
        var viewer = await _platform.CreateKeyAsync(_platform.OwnerKey, Role.Viewer);
        using (var v = _platform.Client(viewer))
        {
            var response = await v.PostAsJsonAsync("/api/v1/apikeys", new { name = "x", role = "viewer" }, Ct);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("docs/security.md", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var admin = await _platform.CreateKeyAsync(_platform.OwnerKey, Role.Admin);
        using var a = _platform.Client(admin);
        var escalate = await a.PostAsJsonAsync("/api/v1/apikeys", new { name = "root", role = "owner" }, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, escalate.StatusCode);
        Assert.Contains("owner", (await ProblemAsync(escalate)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A non-operator tenant's owner cannot create tenants.
        var (_, tenantOwner) = await _platform.CreateTenantAsync();
        using var t = _platform.Client(tenantOwner);
        Assert.Equal(HttpStatusCode.Forbidden, (await t.PostAsJsonAsync("/api/v1/tenants", new { name = "sneaky" }, Ct)).StatusCode);
    }

    [Fact]
    public async Task DuplicateNames_409()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var name = "dup-" + Guid.NewGuid().ToString("N")[..6];
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/tenants", new { name }, Ct)).StatusCode);
        var again = await client.PostAsJsonAsync("/api/v1/tenants", new { name = name.ToUpperInvariant() }, Ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains(name.ToUpperInvariant(), (await ProblemAsync(again)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/users", new { name = "sam", role = "viewer", password = "correct horse battery" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsJsonAsync("/api/v1/users", new { name = "SAM", role = "viewer", password = "correct horse battery" }, Ct)).StatusCode);
    }

    [Fact]
    public async Task ApiKeySecret_ShownOnceAndNeverListed()
    {
        using var client = _platform.Client(_platform.OwnerKey);
        var created = await (await client.PostAsJsonAsync("/api/v1/apikeys", new { name = "once", role = "analyst" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyDto>(Ct);
        Assert.StartsWith("mcpsec_", created!.Secret, StringComparison.Ordinal);
        var list = await client.GetStringAsync("/api/v1/apikeys", Ct);
        Assert.DoesNotContain(created.Secret, list, StringComparison.Ordinal);
        Assert.Contains(created.Key.Prefix, list, StringComparison.Ordinal);
        var audit = await client.GetStringAsync("/api/v1/audit?limit=1000", Ct);
        Assert.DoesNotContain(created.Secret, audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditLog_RecordsChangesAndVerifies()
    {
        var (_, key) = await _platform.CreateTenantAsync();
        using var client = _platform.Client(key);
        await client.PostAsJsonAsync("/api/v1/users", new { name = "dana", role = "analyst", password = "correct horse battery" }, Ct);
        var page = await client.GetFromJsonAsync<AuditPageDto>("/api/v1/audit", Ct);
        Assert.Contains(page!.Entries, e => e.Action == "user.create" && e.Actor.StartsWith("apikey:", StringComparison.Ordinal));
        Assert.Contains(page.Entries, e => e.Action == "tenant.create");
        var verify = await client.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify", Ct);
        Assert.True(verify.GetProperty("valid").GetBoolean());

        var user = page.Entries.First(e => e.Action == "user.create").Target;
        var history = await client.GetFromJsonAsync<AuditPageDto>("/api/v1/audit?target=" + Uri.EscapeDataString(user), Ct);
        Assert.Equal(user, Assert.Single(history!.Entries).Target);
        var bad = await client.GetAsync("/api/v1/audit?target=%01x", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("target", (await ProblemAsync(bad)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task HealthMetricsOpenApiAndSecurityHeaders()
    {
        using var client = _platform.Client();
        var live = await client.GetAsync("/health/live", Ct);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("nosniff", live.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", live.Headers.GetValues("X-Frame-Options").Single());
        Assert.False(string.IsNullOrEmpty(live.Headers.GetValues("X-Request-Id").Single()));
        Assert.Contains("sqlite", await client.GetStringAsync("/health/ready", Ct), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Add("X-Request-Id", "trace-me-123");
        Assert.Equal("trace-me-123", (await client.SendAsync(request, Ct)).Headers.GetValues("X-Request-Id").Single());

        using var owner = _platform.Client(_platform.OwnerKey);
        await owner.GetAsync("/api/v1/tenants", Ct);
        var metrics = await client.GetStringAsync("/metrics", Ct);
        Assert.Contains("http_server_request_duration_seconds", metrics, StringComparison.Ordinal);

        var openapi = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Ct)).RootElement;
        var paths = openapi.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/tenants", out _));
        Assert.True(paths.TryGetProperty("/api/v1/jobs/{id}", out _));
    }

    [Fact]
    public async Task LocalUser_SignsInWithCookie_DisabledUserLosesSession()
    {
        var (tenant, key) = await _platform.CreateTenantAsync();
        using var admin = _platform.Client(key);
        var user = await (await admin.PostAsJsonAsync("/api/v1/users", new { name = "erin", role = "auditor", password = "correct horse battery" }, Ct)).Content.ReadFromJsonAsync<UserDto>(Ct);

        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies };
        using var browser = new HttpClient(handler) { BaseAddress = _platform.BaseAddress };
        var bad = await browser.PostAsJsonAsync("/api/v1/auth/login", new { tenant = tenant.Name, username = "erin", password = "wrong password!!" }, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        var ok = await browser.PostAsJsonAsync("/api/v1/auth/login", new { tenant = tenant.Name, username = "ERIN", password = "correct horse battery" }, Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var me = await browser.GetFromJsonAsync<CallerDto>("/api/v1/auth/me", Ct);
        Assert.Equal("auditor", me!.Role);
        Assert.Contains("audit:read", me.Permissions);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/v1/audit/verify", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.PostAsJsonAsync("/api/v1/users", new { name = "x" }, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{user!.Id}/disable", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/v1/auth/me", Ct)).StatusCode);
    }

    [Fact]
    public async Task RateLimit_PerKey_429WithRetryAfter()
    {
        await using var limited = await PlatformFixture.StartAsync(o => o.Limits.RequestsPerMinute = 5);
        using var client = limited.Client(limited.OwnerKey);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            statuses.Add((await client.GetAsync("/api/v1/tenants", Ct)).StatusCode);
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        var rejected = await client.GetAsync("/api/v1/tenants", Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.True(rejected.Headers.Contains("Retry-After"));

        // Another key has its own budget.
        var other = await limited.IssueKeyInStoreAsync((await limited.Store.ListAllTenantsAsync(Ct)).Single(t => t.IsOperator).Id, Role.Viewer);
        using var second = limited.Client(other);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/api/v1/tenants", Ct)).StatusCode);
    }
}
