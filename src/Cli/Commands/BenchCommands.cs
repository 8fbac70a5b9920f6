using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Tenancy;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec bench …</c>: end-to-end figures on this machine. Prints, never asserts.</summary>
internal static class BenchCommands
{
    public static Command Create()
    {
        var command = new Command("bench", "End-to-end benchmarks that print figures for this machine.");
        command.Add(Store());
        command.Add(Bus());
        command.Add(SbomBench.Create());
        command.Add(RespondBench.Create());
        command.Add(RiskBench.Create());
        command.Add(DetectBench.Create());
        command.Add(ReportBench.Create());
        command.Add(DashboardBench.Create());
        return command;
    }

    private static Command Store()
    {
        var count = new Option<int>("--count") { Description = "Operations per measurement", DefaultValueFactory = _ => 2000 };
        var command = new Command("store", "Audit appends and job upserts against the configured store (use a scratch --data-dir or database).") { count };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var n = Math.Max(10, parse.GetValue(count));
            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var tenant = await store.CreateTenantAsync("bench-" + Guid.NewGuid().ToString("N")[..8], false, Actor.System("bench"), ct).ConfigureAwait(false);
            var ts = store.ForTenant(TenantScope.For(tenant.Id));
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync($"store bench: provider={store.Provider} operations={n}").ConfigureAwait(false);

            var actor = Actor.System("bench");
            var latencies = new double[n];
            var total = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await ts.AppendAuditAsync(actor, new AuditRecord("bench.append", $"item:{i}", "benchmark entry"), ct).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }

            await Report(output, "audit append", n, total.Elapsed, latencies).ConfigureAwait(false);

            total.Restart();
            for (var i = 0; i < n; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await ts.EnqueueJobAsync("bench.noop", "{}", actor, ct).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }

            await Report(output, "job insert (+audit)", n, total.Elapsed, latencies).ConfigureAwait(false);

            total.Restart();
            var verification = await ts.VerifyAuditAsync(ct).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  audit verify: {verification.EntriesChecked} entries in {total.Elapsed.TotalMilliseconds:F1} ms ({verification.EntriesChecked / total.Elapsed.TotalSeconds:F0} entries/s), valid={verification.Valid}")).ConfigureAwait(false);
            return CliApp.Ok;
        });
        return command;
    }

    private static Command Bus()
    {
        var count = new Option<int>("--count") { Description = "Messages to publish", DefaultValueFactory = _ => 1_000_000 };
        var command = new Command("bus", "Throughput of the in-process event bus (publish → consumer group → ack).") { count };
        command.SetAction(async (parse, ct) =>
        {
            var n = Math.Max(1000, parse.GetValue(count));
            await using var bus = new InMemoryEventBus(TimeProvider.System);
            var received = 0;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (bus.Subscribe("bench", "g", (_, _) =>
            {
                if (Interlocked.Increment(ref received) == n)
                {
                    done.TrySetResult();
                }

                return ValueTask.CompletedTask;
            }, new SubscriptionOptions { Concurrency = Environment.ProcessorCount, Capacity = 4096 }))
            {
                var payload = new byte[256];
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < n; i++)
                {
                    await bus.PublishAsync(new BusMessage(i.ToString(CultureInfo.InvariantCulture), "bench", "t", payload, DateTimeOffset.UtcNow), ct).ConfigureAwait(false);
                }

                await done.Task.WaitAsync(ct).ConfigureAwait(false);
                sw.Stop();
                await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"bus bench: {n} messages in {sw.Elapsed.TotalMilliseconds:F0} ms = {n / sw.Elapsed.TotalSeconds:F0} msg/s (consumers={Environment.ProcessorCount})")).ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static Task Report(TextWriter output, string name, int n, TimeSpan elapsed, double[] latencies)
    {
        Array.Sort(latencies);
        return output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  {name}: {n / elapsed.TotalSeconds:F0} ops/s, p50 {latencies[n / 2]:F3} ms, p99 {latencies[(int)(n * 0.99)]:F3} ms"));
    }
}
