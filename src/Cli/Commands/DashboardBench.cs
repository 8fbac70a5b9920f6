using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec bench dashboard</c>: seeds a scratch store with synthetic findings, starts the platform on
/// 127.0.0.1 and measures <c>GET /api/v1/dashboard</c> with wrk (Debian's <c>wrk</c>): the first (cold)
/// computation, and p50/p95/p99 latency and requests/s under load.
/// </summary>
internal static class DashboardBench
{
    private const string LatencyScript = """
        done = function(summary, latency, requests)
          io.write(string.format("requests=%d errors=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d duration_us=%d\n",
            summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
            latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, summary.duration))
        end
        """;

    public static Command Create()
    {
        var findings = new Option<int>("--findings") { Description = "Findings to load", DefaultValueFactory = _ => 50_000 };
        var projects = new Option<int>("--projects") { Description = "Projects the findings are spread over", DefaultValueFactory = _ => 10 };
        var duration = new Option<int>("--duration") { Description = "Seconds of load", DefaultValueFactory = _ => 15 };
        var connections = new Option<int>("--connections") { Description = "wrk connections", DefaultValueFactory = _ => 8 };
        var threads = new Option<int>("--threads") { Description = "wrk threads", DefaultValueFactory = _ => 2 };
        var wrk = new Option<string>("--wrk") { Description = "Path of wrk", DefaultValueFactory = _ => "/usr/bin/wrk" };
        var command = new Command("dashboard", "Dashboard API latency (p50/p95/p99) under load with N findings, measured with wrk.")
            { findings, projects, duration, connections, threads, wrk };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var wrkPath = parse.GetValue(wrk)!;
            if (!File.Exists(wrkPath))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"wrk was not found at {wrkPath}: install Debian's wrk package (apt-get install wrk) or pass --wrk.").ConfigureAwait(false);
                return CliApp.Usage;
            }

            var n = Math.Max(1, parse.GetValue(findings));
            var p = Math.Max(1, parse.GetValue(projects));
            var scratch = Path.Combine(Path.GetTempPath(), "mcpsec-bench-dashboard-" + Guid.NewGuid().ToString("N")[..8]);
            try
            {
                var options = new PlatformOptions { DataDir = scratch, Urls = "http://127.0.0.1:0", Roles = "api" };
                options.Limits.RequestsPerMinute = 1_000_000_000;
                var store = await StoreFactory.OpenAsync(options, TimeProvider.System, ct).ConfigureAwait(false);
                var (tenant, key) = await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
                var ts = store.ForTenant(TenantScope.For(tenant.Id));
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < p; i++)
                {
                    var share = n / p + (i < n % p ? 1 : 0);
                    await ReportBench.SeedProjectAsync(ts, "project-" + i.ToString("D3", CultureInfo.InvariantCulture), "1.0.0", share, i * 100_003, ct).ConfigureAwait(false);
                }

                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"seeded {n} findings over {p} projects in {sw.Elapsed.TotalSeconds:F1} s ({store.Provider})")).ConfigureAwait(false);
                var app = PlatformHost.Build(options, store, ["--Logging:LogLevel:Default=Warning"]);
                await app.StartAsync(ct).ConfigureAwait(false);
                try
                {
                    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                    var url = address.TrimEnd('/') + "/api/v1/dashboard";
                    using var client = new HttpClient();
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    sw.Restart();
                    var first = await client.GetAsync(url, ct).ConfigureAwait(false);
                    first.EnsureSuccessStatusCode();
                    var cold = sw.Elapsed.TotalMilliseconds;
                    var body = await first.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"cold GET /api/v1/dashboard (full computation): {cold:F0} ms, {body.Length} bytes")).ConfigureAwait(false);

                    var script = Path.Combine(scratch, "latency.lua");
                    await File.WriteAllTextAsync(script, LatencyScript, ct).ConfigureAwait(false);
                    var psi = new ProcessStartInfo(wrkPath)
                    {
                        RedirectStandardOutput = true,
                        RedirectStandardError = true,
                    };
                    foreach (var arg in new[]
                    {
                        "-t" + parse.GetValue(threads).ToString(CultureInfo.InvariantCulture), "-c" + parse.GetValue(connections).ToString(CultureInfo.InvariantCulture),
                        "-d" + parse.GetValue(duration).ToString(CultureInfo.InvariantCulture) + "s", "-H", "Authorization: Bearer " + key, "-s", script, url,
                    })
                    {
                        psi.ArgumentList.Add(arg);
                    }

                    using var process = Process.Start(psi) ?? throw new InvalidOperationException("wrk did not start.");
                    var stdout = await process.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
                    var stderr = await process.StandardError.ReadToEndAsync(ct).ConfigureAwait(false);
                    await process.WaitForExitAsync(ct).ConfigureAwait(false);
                    if (process.ExitCode != 0)
                    {
                        await parse.InvocationConfiguration.Error.WriteLineAsync($"wrk failed ({process.ExitCode}): {stderr}").ConfigureAwait(false);
                        return CliApp.Failure;
                    }

                    var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith("requests=", StringComparison.Ordinal))
                        ?? throw new InvalidOperationException("wrk printed no summary: " + stdout);
                    var values = new Dictionary<string, long>(StringComparer.Ordinal);
                    foreach (var pair in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var kv = pair.Split('=');
                        values[kv[0]] = long.Parse(kv[1], CultureInfo.InvariantCulture);
                    }

                    var seconds = values["duration_us"] / 1e6;
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"GET /api/v1/dashboard with {n} findings, wrk {parse.GetValue(threads)} threads {parse.GetValue(connections)} connections {parse.GetValue(duration)} s: {values["requests"] / seconds:F0} req/s, p50 {values["p50_us"] / 1000.0:F2} ms, p95 {values["p95_us"] / 1000.0:F2} ms, p99 {values["p99_us"] / 1000.0:F2} ms, max {values["max_us"] / 1000.0:F1} ms, {values["errors"]} errors")).ConfigureAwait(false);
                    return values["errors"] == 0 ? CliApp.Ok : CliApp.Failure;
                }
                finally
                {
                    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    await app.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                try
                {
                    Directory.Delete(scratch, recursive: true);
                }
                catch (IOException)
                {
                    // A scratch directory still in use is left for the OS to clean.
                }
            }
        });
        return command;
    }
}
