using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Response;
using McpSecurity.Core.Tenancy;
using McpSecurity.Response.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec bench respond</c>: many concurrent runs of a 5-step playbook whose actions call a local no-op HTTP
/// listener; prints runs/s, step-scheduling latency (engine time between one action's end and the next action's
/// start, including the durable write before it), store writes per run and peak memory.
/// </summary>
internal static class RespondBench
{
    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "Concurrent runs", DefaultValueFactory = _ => 10_000 };
        var command = new Command("respond", "Durable playbook engine: N concurrent runs of a 5-step playbook against a local no-op HTTP listener (use a scratch --data-dir or database).") { runs };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var n = Math.Max(10, parse.GetValue(runs));
            var output = parse.InvocationConfiguration.Output;
            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var tenant = await store.CreateTenantAsync("bench-" + Guid.NewGuid().ToString("N")[..8], false, Actor.System("bench"), ct).ConfigureAwait(false);
            var scope = TenantScope.For(tenant.Id);

            long received = 0;
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
            builder.Logging.ClearProviders();
            await using var listener = builder.Build();
            listener.Run(ctx =>
            {
                Interlocked.Increment(ref received);
                ctx.Response.StatusCode = 204;
                return Task.CompletedTask;
            });
            await listener.StartAsync(ct).ConfigureAwait(false);
            var url = listener.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

            var engineOptions = new PlaybookEngineOptions { MaxConcurrentRuns = n, MaxRunsPerTenant = n, PollMilliseconds = 60_000 };
            await using var engine = PlaybookCommands.CreateEngine(store, options, ["127.0.0.1/32"], engineOptions);
            var samples = new long[n * 5 + 16];
            var sampleCount = -1L;
            engine.SchedulingSample = ticks =>
            {
                var i = Interlocked.Increment(ref sampleCount);
                if (i < samples.Length)
                {
                    samples[i] = ticks;
                }
            };

            var yaml = "name: bench\nconcurrency: 10000\nsteps:\n";
            for (var s = 1; s <= 5; s++)
            {
                yaml += $"  - id: s{s}\n    action: http.request\n    with: {{ url: \"{url}/hook/{s}\", body: {{ run: \"{{{{ run.id }}}}\", step: {s} }} }}\n";
            }

            var def = engine.Loader.Load(yaml);
            await output.WriteLineAsync($"respond bench: provider={store.Provider} runs={n} steps/run=5 listener={url}").ConfigureAwait(false);
            var gc0 = GC.CollectionCount(0);
            var sw = Stopwatch.StartNew();
            var ids = new string[n];
            var actor = Actor.System("bench");
            var starts = new Task[Math.Min(n, 64)];
            var next = -1;
            for (var w = 0; w < starts.Length; w++)
            {
                starts[w] = Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < n)
                    {
                        ids[i] = (await engine.StartAsync(scope, def, null, "manual", null, [], null, false, actor, ct).ConfigureAwait(false)).Id;
                    }
                }, ct);
            }

            await Task.WhenAll(starts).ConfigureAwait(false);
            var created = sw.Elapsed;
            var failed = 0;
            foreach (var id in ids)
            {
                var run = await engine.WaitAsync(scope, id, true, ct).ConfigureAwait(false);
                failed += run.State == RunState.Succeeded ? 0 : 1;
            }

            sw.Stop();
            var count = (int)Math.Min(Interlocked.Read(ref sampleCount) + 1, samples.Length);
            Array.Sort(samples, 0, count);
            double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
            // Per run: create (1 transaction with its audit entry), claim (1 update), and the journal's records.
            var records = engine.JournalRecords;
            var transactions = engine.JournalTransactions;
            var writesPerRun = (records + 2.0 * n) / n;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  {n} runs ({n * 5} actions, {Interlocked.Read(ref received)} requests received, {failed} not succeeded) in {sw.Elapsed.TotalSeconds:F2} s = {n / sw.Elapsed.TotalSeconds:F0} runs/s ({created.TotalSeconds:F2} s to create them)")).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  step scheduling (engine time before each action, durable write included, action time excluded): p50 {Ms(samples[count / 2]):F3} ms, p99 {Ms(samples[(int)(count * 0.99)]):F3} ms, max {Ms(samples[count - 1]):F3} ms over {count} steps")).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  store writes per run: {writesPerRun:F1} row writes (create+audit, claim, {records / (double)n:F1} step/run records), {(transactions + 2.0 * n) / n:F2} transactions (group commit: {records / (double)Math.Max(1, transactions):F1} records per journal transaction)")).ConfigureAwait(false);
            using var self = Process.GetCurrentProcess();
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  peak memory: working set {self.PeakWorkingSet64 / (1024.0 * 1024):F0} MiB, managed heap now {GC.GetTotalMemory(false) / (1024.0 * 1024):F0} MiB, gen0 collections {GC.CollectionCount(0) - gc0}")).ConfigureAwait(false);
            return failed == 0 ? CliApp.Ok : CliApp.Failure;
        });
        return command;
    }
}
