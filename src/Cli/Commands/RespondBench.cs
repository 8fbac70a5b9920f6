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
/// listener; prints runs/s, step-scheduling latency (engine time from a step becoming ready, i.e. the previous step's
/// completion committed or the run started, to its action's dispatch), durable-commit latency (a waited-for journal
/// write from queueing to commit), store writes per run, CPU time per run and peak memory.
/// </summary>
internal static class RespondBench
{
    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "Runs started at once", DefaultValueFactory = _ => 10_000 };
        var inFlight = new Option<int>("--in-flight") { Description = "Runs executing at once (default: all of them)", DefaultValueFactory = _ => 0 };
        var command = new Command("respond", "Durable playbook engine: N concurrent runs of a 5-step playbook against a local no-op HTTP listener (use a scratch --data-dir or database).") { runs, inFlight };
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

            var slots = parse.GetValue(inFlight) is > 0 and var f ? Math.Min(f, n) : n;
            var engineOptions = new PlaybookEngineOptions { MaxConcurrentRuns = slots, MaxRunsPerTenant = slots, PollMilliseconds = 60_000 };
            await using var engine = PlaybookCommands.CreateEngine(store, options, ["127.0.0.1/32"], engineOptions);
            var scheduling = new LatencySamples(n * 5 + 16);
            engine.SchedulingSample = scheduling.Add;
            var commits = new LatencySamples(n * 7 + 16);
            engine.CommitSample = commits.Add;

            var yaml = "name: bench\nconcurrency: 10000\nsteps:\n";
            for (var s = 1; s <= 5; s++)
            {
                yaml += $"  - id: s{s}\n    action: http.request\n    with: {{ url: \"{url}/hook/{s}\", body: {{ run: \"{{{{ run.id }}}}\", step: {s} }} }}\n";
            }

            var def = engine.Loader.Load(yaml);
            // Runs end when their final state is committed; the store is checked afterwards, outside the timed part.
            var ended = 0;
            var allEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            engine.RunEnded = (_, _) =>
            {
                if (Interlocked.Increment(ref ended) == n)
                {
                    allEnded.TrySetResult();
                }
            };
            await output.WriteLineAsync($"respond bench: provider={store.Provider} runs={n} in-flight={slots} steps/run=5 listener={url}").ConfigureAwait(false);
            var gc0 = GC.CollectionCount(0);
            using var self = Process.GetCurrentProcess();
            var cpu0 = self.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var ids = new string[n];
            var actor = Actor.System("bench");
            // Triggers arrive concurrently (up to 1,024 at once), as from many alerts or webhook calls.
            var starts = new Task[Math.Min(n, 1024)];
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
            await allEnded.Task.WaitAsync(ct).ConfigureAwait(false);
            sw.Stop();
            self.Refresh();
            var cpu = self.TotalProcessorTime - cpu0;
            var failed = 0;
            foreach (var id in ids)
            {
                var run = await engine.WaitAsync(scope, id, true, ct).ConfigureAwait(false);
                failed += run.State == RunState.Succeeded ? 0 : 1;
            }

            // Every store write of a run goes through the journal: creation (run row, audit entry), step records and run updates
            // (with the final audit entry), plus one audit-chain head update per transaction that appends audit entries.
            var records = engine.JournalRecords;
            var transactions = engine.JournalTransactions;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  {n} runs ({n * 5} actions, {Interlocked.Read(ref received)} requests received, {failed} not succeeded) in {sw.Elapsed.TotalSeconds:F2} s = {n / sw.Elapsed.TotalSeconds:F0} runs/s ({created.TotalSeconds:F2} s to create them)")).ConfigureAwait(false);
            await output.WriteLineAsync(
                $"  step scheduling (engine time from step ready = previous completion committed or run started, to action dispatch; action and commit time excluded): {scheduling.Summary()} steps").ConfigureAwait(false);
            await output.WriteLineAsync(
                $"  durable commit (run creation, step completion, run end: queued to committed, group commit): {commits.Summary()} writes").ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  store writes per run: {engine.JournalRows / (double)n:F1} row writes ({records / (double)n:F1} records), {transactions / (double)n:F3} transactions (group commit: {records / (double)Math.Max(1, transactions):F1} records per transaction)")).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  CPU time: {cpu.TotalMilliseconds / n:F3} ms per run ({cpu.TotalSeconds:F2} s in this process, listener included; {Environment.ProcessorCount} cores)")).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  peak memory: working set {self.PeakWorkingSet64 / (1024.0 * 1024):F0} MiB, managed heap now {GC.GetTotalMemory(false) / (1024.0 * 1024):F0} MiB, gen0 collections {GC.CollectionCount(0) - gc0}")).ConfigureAwait(false);
            return failed == 0 ? CliApp.Ok : CliApp.Failure;
        });
        return command;
    }
}

/// <summary>Latencies in stopwatch ticks, recorded from any thread up to a fixed capacity, summarised as percentiles.</summary>
internal sealed class LatencySamples(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private long _last = -1;

    public void Add(long ticks)
    {
        var i = Interlocked.Increment(ref _last);
        if (i < _ticks.Length)
        {
            _ticks[i] = ticks;
        }
    }

    /// <summary>"p50 … ms, p99 … ms, max … ms over N", or "no samples".</summary>
    public string Summary()
    {
        var count = (int)Math.Min(Interlocked.Read(ref _last) + 1, _ticks.Length);
        if (count == 0)
        {
            return "no samples";
        }

        Array.Sort(_ticks, 0, count);
        return string.Create(CultureInfo.InvariantCulture,
            $"p50 {Ms(_ticks[count / 2]):F3} ms, p99 {Ms(_ticks[(int)(count * 0.99)]):F3} ms, max {Ms(_ticks[count - 1]):F3} ms over {count}");
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
