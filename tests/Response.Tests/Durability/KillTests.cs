using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using McpSecurity.Response.Tests.Support;

namespace McpSecurity.Response.Tests.Durability;

/// <summary>
/// Kills a real <c>mcpsec serve</c> process with SIGKILL in the middle of a run, restarts it on the same data
/// directory and checks that every run finishes and no completed action is performed again.
/// </summary>
public sealed class KillTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task KilledServer_ResumesEveryRun_CompletedActionsNotRepeated()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-kill-" + Guid.NewGuid().ToString("N")[..10]);
        var init = await RunCliAsync(["init", "--data-dir", dataDir]);
        var key = init.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[^1];

        Process? server = null;
        var seen = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var answered = new ConcurrentBag<string>();
        string? killedKey = null;
        var total = 0;
        const int KillAt = 13;
        await using var listener = await LocalListener.StartAsync(async r =>
        {
            var k = r.Header("idempotency-key");
            seen.AddOrUpdate(k, 1, (_, n) => n + 1);
            if (Interlocked.Increment(ref total) == KillAt)
            {
                // kill -9 while this request is in flight: the action's result is never recorded.
                killedKey = k;
                server!.Kill(entireProcessTree: true);
                await server.WaitForExitAsync(Ct);
                return new Reply(503, "{}");
            }

            answered.Add(k);
            return new Reply(200, """{"ok":true}""");
        });

        var port = FreePort();
        server = StartServer(dataDir, port);
        using var http = Client(port, key);
        await WaitReadyAsync(http);

        var steps = new StringBuilder();
        for (var i = 1; i <= 5; i++)
        {
            steps.Append($"""
                  - id: s{i}
                    action: http.request
                    with: {"{"} url: "{listener.Url($"step/{i}")}", body: {"{"} run: "{"{{"} run.id {"}}"}", step: {i} {"}"} {"}"}
                    retry: {"{"} attempts: 3, backoff: 100ms {"}"}

                """);
        }

        // One run at a time: when the killed request arrives, every earlier step's result is committed.
        await PutPlaybookAsync(http, "durable", 1, steps.ToString());

        var runIds = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var start = await http.PostAsJsonAsync("api/v1/playbooks/durable/runs", new { input = new { } }, Ct);
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            runIds.Add(JsonNode.Parse(await start.Content.ReadAsStringAsync(Ct))!["id"]!.GetValue<string>());
        }

        await server.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.NotNull(killedKey);

        // Same data directory, new process.
        server = StartServer(dataDir, port);
        try
        {
            await AssertAllSucceededAsync(http, "durable", 6);

            // Every action reached the service; each answered one exactly once; the one in flight at the kill was
            // sent again with the same idempotency key, so a service deduplicating by key applies it once.
            Assert.Equal(30, seen.Count);
            foreach (var k in answered)
            {
                if (k != killedKey)
                {
                    Assert.Equal(1, seen[k]);
                }
            }

            Assert.Equal(2, seen[killedKey!]);
            Assert.Equal(31, total);

            // Every other step shows one attempt. The interrupted one shows two when its "running" record was committed
            // before the kill, one when it was not (that record is not waited for before the action is dispatched).
            var attempts = new List<int>();
            foreach (var id in runIds)
            {
                var detail = JsonNode.Parse(await http.GetStringAsync($"api/v1/playbook-runs/{id}", Ct))!;
                foreach (var s in detail["steps"]!.AsArray())
                {
                    Assert.Equal("succeeded", s!["state"]!.GetValue<string>());
                    attempts.Add(s["attempts"]!.GetValue<int>());
                }
            }

            Assert.Equal(30, attempts.Count);
            Assert.True(attempts.Count(a => a == 1) >= 29);
            Assert.True(attempts.TrueForAll(a => a is 1 or 2));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync(Ct);
        }
    }

    [Fact]
    public async Task KilledServer_WithRunsInParallel_NoActionWithACommittedCompletionIsSentAgain()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-kill-" + Guid.NewGuid().ToString("N")[..10]);
        var init = await RunCliAsync(["init", "--data-dir", dataDir]);
        var key = init.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[^1];

        Process? server = null;
        var seen = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var total = 0;
        const int KillAt = 23;
        // Actions are held until every run has been started, so the kill cannot cut off a start request.
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = await LocalListener.StartAsync(async r =>
        {
            await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            seen.AddOrUpdate(r.Header("idempotency-key"), 1, (_, n) => n + 1);
            if (Interlocked.Increment(ref total) == KillAt)
            {
                // kill -9 with several runs mid-flight: some completions committed, some not, some "running" records not.
                server!.Kill(entireProcessTree: true);
                await server.WaitForExitAsync(Ct);
                return new Reply(503, "{}");
            }

            return new Reply(200, """{"ok":true}""");
        });

        var port = FreePort();
        server = StartServer(dataDir, port);
        using var http = Client(port, key);
        await WaitReadyAsync(http);

        var steps = new StringBuilder();
        for (var i = 1; i <= 5; i++)
        {
            steps.Append($"  - id: s{i}\n    action: http.request\n    with: {{ url: \"{listener.Url($"step/{i}")}\" }}\n");
        }

        await PutPlaybookAsync(http, "parallel", 4, steps.ToString());

        for (var i = 0; i < 8; i++)
        {
            using var start = await http.PostAsJsonAsync("api/v1/playbooks/parallel/runs", new { input = new { } }, Ct);
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        }

        allStarted.SetResult();
        await server.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);

        // What the dead process had committed: the idempotency keys of every step recorded as succeeded.
        var committed = new List<string>();
        await using (var store = await Storage.Sqlite.SqliteStore.OpenAsync(Path.Combine(dataDir, "mcpsec.db"), TimeProvider.System, Ct))
        {
            foreach (var tenant in await store.ListAllTenantsAsync(Ct))
            {
                var ts = store.ForTenant(Core.Tenancy.TenantScope.For(tenant.Id)).Response;
                foreach (var run in await ts.ListRunsAsync(new Core.Response.RunQuery("parallel"), Ct))
                {
                    foreach (var s in await ts.ListStepsAsync(run.Id, Ct))
                    {
                        if (s.State == Core.Response.StepState.Succeeded)
                        {
                            committed.Add(McpSecurity.Response.Engine.RunExecutor.IdempotencyKeyFor(tenant.Id, run.Id, s.Key));
                        }
                    }
                }
            }
        }

        Assert.NotEmpty(committed);
        Assert.True(committed.Count < 40);

        server = StartServer(dataDir, port);
        try
        {
            await AssertAllSucceededAsync(http, "parallel", 8);
            // Every action reached the service; one whose completion was committed was sent exactly once; one without
            // a committed completion at most twice, both times with the same key (at-least-once, deduplicated by key).
            Assert.Equal(40, seen.Count);
            Assert.All(committed, k => Assert.Equal(1, seen[k]));
            Assert.All(seen.Values, n => Assert.InRange(n, 1, 2));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync(Ct);
        }
    }

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "mcpsec.dll");

    private static HttpClient Client(int port, string key)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static Process StartServer(string dataDir, int port)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[CliDll, "serve", "--data-dir", dataDir, "--urls", $"http://127.0.0.1:{port}"])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["MCPSEC__Outbound__AllowedNetworks__0"] = "127.0.0.1/32";
        psi.Environment["MCPSEC__Response__LeaseSeconds"] = "2";
        psi.Environment["MCPSEC__Response__PollMilliseconds"] = "200";
        var p = Process.Start(psi)!;
        // Drain output so the child never blocks on a full pipe.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task<string> RunCliAsync(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync(Ct);
        await p.WaitForExitAsync(Ct);
        Assert.Equal(0, p.ExitCode);
        return output;
    }

    /// <summary>Stores a playbook of the given steps (YAML list items) over the API.</summary>
    private static async Task PutPlaybookAsync(HttpClient http, string name, int concurrency, string steps)
    {
        var yaml = $"name: {name}\nconcurrency: {concurrency}\nsteps:\n" + steps;
        using var put = await http.PutAsync($"api/v1/playbooks/{name}", new StringContent(yaml, Encoding.UTF8, "application/yaml"), Ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    /// <summary>Waits for the restarted server, then for every run of the playbook to finish; all must have succeeded.</summary>
    private static async Task AssertAllSucceededAsync(HttpClient http, string playbook, int expected)
    {
        await WaitReadyAsync(http);
        var runs = await FinishedRunsAsync(http, playbook);
        Assert.Equal(expected, runs.Count);
        Assert.All(runs, r => Assert.Equal("succeeded", r!["state"]!.GetValue<string>()));
    }

    /// <summary>The playbook's runs once all of them have finished (or after 90 seconds, as they are then).</summary>
    private static async Task<JsonArray> FinishedRunsAsync(HttpClient http, string playbook)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var runs = JsonNode.Parse(await http.GetStringAsync($"api/v1/playbook-runs?playbook={playbook}", Ct))!.AsArray();
            if (runs.All(r => r!["state"]!.GetValue<string>() is "succeeded" or "failed") || DateTime.UtcNow > deadline)
            {
                return runs;
            }

            await Task.Delay(200, Ct);
        }
    }

    private static async Task WaitReadyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var r = await http.GetAsync("health/ready", Ct);
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // not listening yet
            }

            Assert.True(DateTime.UtcNow < deadline, "the server did not become ready within 60 s");
            await Task.Delay(100, Ct);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
