using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using McpSecurity.Core.Access;
using McpSecurity.Server.Access;
using McpSecurity.Server.Tests.Support;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;

namespace McpSecurity.Server.Tests;

/// <summary>
/// Walks every registered endpoint with every role and checks the permission matrix. An endpoint
/// added without a permission (or an explicit anonymous/any-caller marker) fails this test.
/// </summary>
public sealed class RoleMatrixTests : IAsyncLifetime
{
    private PlatformFixture _platform = null!;

    public async ValueTask InitializeAsync() => _platform = await PlatformFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _platform.DisposeAsync();

    private List<(RouteEndpoint Endpoint, string Method)> Endpoints()
    {
        var list = new List<(RouteEndpoint, string)>();
        foreach (var source in _platform.EndpointSources)
        {
            foreach (var e in source.Endpoints)
            {
                if (e is RouteEndpoint re)
                {
                    foreach (var m in re.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                    {
                        list.Add((re, m));
                    }
                }
            }
        }

        return list;
    }

    private static string Url(RouteEndpoint e)
    {
        var sb = new StringBuilder();
        foreach (var segment in e.RoutePattern.PathSegments)
        {
            sb.Append('/');
            foreach (var part in segment.Parts)
            {
                sb.Append(part switch
                {
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart l => l.Content,
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart p => p.Name == "documentName" ? "v1" : "does-not-exist",
                    _ => "x",
                });
            }
        }

        return sb.Length == 0 ? "/" : sb.ToString();
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string url)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    [Fact]
    public void EveryEndpoint_DeclaresItsAccessRule()
    {
        var endpoints = Endpoints();
        Assert.NotEmpty(endpoints);
        var undeclared = new List<string>();
        foreach (var (e, m) in endpoints)
        {
            var declared = e.Metadata.GetMetadata<RequiresPermission>() is not null
                || e.Metadata.GetMetadata<RequiresAuthenticatedCaller>() is not null
                || e.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            if (!declared)
            {
                undeclared.Add($"{m} {e.RoutePattern.RawText}");
            }
        }

        Assert.True(undeclared.Count == 0, "Endpoints without a permission: " + string.Join(", ", undeclared));
    }

    [Fact]
    public async Task EveryEndpoint_TimesEveryRole_MatchesThePermissionMatrix()
    {
        var keys = new Dictionary<Role, string>();
        foreach (var role in Roles.All)
        {
            keys[role] = role == Role.Owner ? _platform.OwnerKey : await _platform.CreateKeyAsync(_platform.OwnerKey, role);
        }

        var failures = new List<string>();
        var checkedCount = 0;
        foreach (var (e, method) in Endpoints())
        {
            var permission = e.Metadata.GetMetadata<RequiresPermission>()?.Permission;
            var anyCaller = e.Metadata.GetMetadata<RequiresAuthenticatedCaller>() is not null;
            if (permission is null && !anyCaller)
            {
                continue;
            }

            var url = Url(e);
            using (var anonymous = _platform.Client())
            {
                var status = (await SendAsync(anonymous, method, url)).StatusCode;
                if (status != HttpStatusCode.Unauthorized)
                {
                    failures.Add($"{method} {url} without credentials: expected 401, got {(int)status}");
                }
            }

            foreach (var role in Roles.All)
            {
                // Logging out would end nothing for a key, but keep the owner key usable for later rows.
                using var client = _platform.Client(keys[role]);
                var status = (await SendAsync(client, method, url)).StatusCode;
                var allowed = anyCaller || Permissions.Grants(role, permission!);
                var ok = allowed ? status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) : status == HttpStatusCode.Forbidden;
                checkedCount++;
                if (!ok)
                {
                    failures.Add($"{method} {url} as {role.Name()} ({permission ?? "any caller"}): expected {(allowed ? "allowed" : "403")}, got {(int)status}");
                }
            }
        }

        Assert.True(checkedCount > 50, $"only {checkedCount} endpoint x role checks ran");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void DocumentedMatrix_MatchesTheCode()
    {
        var doc = File.ReadAllLines(Path.Combine(RepoRoot(), "docs", "security.md"));
        var header = Array.FindIndex(doc, l => l.StartsWith("| permission", StringComparison.Ordinal));
        Assert.True(header >= 0, "docs/security.md has no permission table");
        var columns = doc[header].Split('|', StringSplitOptions.TrimEntries)[2..^1];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = header + 2; i < doc.Length && doc[i].StartsWith('|'); i++)
        {
            var cells = doc[i].Split('|', StringSplitOptions.TrimEntries)[1..^1];
            var permission = cells[0].Trim('`');
            seen.Add(permission);
            for (var c = 0; c < columns.Length; c++)
            {
                var role = Roles.Parse(columns[c]);
                Assert.True(Permissions.Grants(role, permission) == (cells[c + 1] == "yes"), $"docs/security.md disagrees with the code on {permission} for {role.Name()}");
            }
        }

        Assert.Equal(Permissions.All.ToHashSet(StringComparer.Ordinal), seen);
    }

    private static string RepoRoot([CallerFilePath] string path = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
}
