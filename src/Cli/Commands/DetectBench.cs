using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Detection;
using McpSecurity.Detection.Runner;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec bench detect</c>: the Sigma engine with every loadable Windows rule (and a 100-rule subset)
/// against a stream of at least a million events replayed from SigmaHQ's regression events mixed with benign
/// variants, on every core (the worker threads take the stream 64 events at a time from one shared position, as
/// consumers of one queue do), each measurement repeated (--runs). Prints throughput end to
/// end (NDJSON line split → JSON parse → route → match → alert kept) and for matching alone on pre-parsed
/// events, per-event latency percentiles, bytes allocated per event and peak memory; then the platform path
/// through the detection pipeline into a real alert store.
/// </summary>
internal static class DetectBench
{
    public static Command Create()
    {
        var rules = new Option<DirectoryInfo>("--rules") { Description = "SigmaHQ rules directory (such as ../shared/data/sigma/rules)", Required = true };
        var regression = new Option<DirectoryInfo>("--regression") { Description = "SigmaHQ regression directory (one folder per case with events.json)", Required = true };
        var events = new Option<int>("--events") { Description = "Events per measurement", DefaultValueFactory = _ => 1_000_000 };
        var benign = new Option<int>("--benign") { Description = "Benign variants per regression event", DefaultValueFactory = _ => 4 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: one per core)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var subset = new Option<int>("--subset") { Description = "Size of the smaller rule set measured for comparison", DefaultValueFactory = _ => 100 };
        var runs = new Option<int>("--runs") { Description = "Measurements of each kind; the median one is printed with the range of all", DefaultValueFactory = _ => 3 };
        var stored = new Option<int>("--stored-events") { Description = "Events run through the platform's detection pipeline into a real alert store (SQLite in a temporary data directory, or --store/--connection); 0 skips it", DefaultValueFactory = _ => 200_000 };
        var command = new Command("detect", "Sigma engine throughput, latency, allocation and memory with all Windows rules and a subset.") { rules, regression, events, benign, threads, subset };
        command.Add(runs);
        command.Add(stored);
        StoreCliOptions.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            var output = p.InvocationConfiguration.Output;
            var rulesDir = p.GetValue(rules)!;
            var regressionDir = p.GetValue(regression)!;
            if (!rulesDir.Exists)
            {
                throw new Core.ValidationException("rules", $"Rule directory '{rulesDir.FullName}' does not exist.");
            }

            if (!regressionDir.Exists)
            {
                throw new Core.ValidationException("regression", $"Regression directory '{regressionDir.FullName}' does not exist.");
            }

            var n = Math.Max(10_000, p.GetValue(events));
            var workers = Math.Clamp(p.GetValue(threads), 1, 256);
            var subsetSize = Math.Max(1, p.GetValue(subset));
            var repeat = Math.Clamp(p.GetValue(runs), 1, 100);

            var sw = Stopwatch.StartNew();
            var all = new SigmaEngineBuilder().AddRuleDirectory(rulesDir.FullName).Where(IsWindows).Build();
            var buildMs = sw.Elapsed.TotalMilliseconds;
            var taken = 0;
            var small = new SigmaEngineBuilder().AddRuleDirectory(rulesDir.FullName).Where(r => IsWindows(r) && taken++ < subsetSize).Build();
            var corpus = DetectionCorpus.Build(regressionDir.FullName, Math.Max(0, p.GetValue(benign)), all);
            var ndjson = corpus.ToNdjson();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"detect bench: {all.Rules.Count} Windows rules loaded in {buildMs:F0} ms ({all.Rejections.Count} rejected); subset {small.Rules.Count} rules; threads={workers}, cores={Environment.ProcessorCount}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"events: {n:N0} per measurement, replayed from {corpus.Events.Count} distinct events ({corpus.AttackEvents} regression events of {corpus.Cases} cases + {corpus.BenignEvents} benign variants; {corpus.DroppedBenign} variants dropped because a rule matched them), {ndjson.Length / corpus.Events.Count} bytes/event as NDJSON"));
            output.WriteLine("end to end = NDJSON line split -> JSON parse -> route -> match -> alert built and kept in an in-memory alert list (not the platform's alert store)");
            output.WriteLine("match only = events parsed and routed beforehand (SigmaEngine.Prepare), then matched");
            output.WriteLine("CPU/event = process CPU time over the run divided by events (independent of other load on the machine)");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"each line = the median of {repeat} measurements by events/s, after a warm-up; 'runs' gives the range of all {repeat}"));

            foreach (var (label, engine) in new[] { ("all rules", all), ($"{small.Rules.Count} rules", small) })
            {
                Report(output, label, "end to end", EndToEnd(engine, ndjson, n, workers, repeat));
                Report(output, label, "match only", MatchOnly(engine, corpus, n, workers, repeat));
            }

            if (p.GetValue(stored) is > 0 and var storedEvents)
            {
                await StoredAsync(p, output, rulesDir.FullName, ndjson, storedEvents, workers, ct).ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>
    /// The platform path: events in batches through <see cref="Server.Detection.DetectionPipeline"/> (routing,
    /// matching, correlation, ATT&amp;CK resolution, alert dedupe, incidents) into the alert store, one tenant per
    /// worker so the batches of different workers run in parallel as they do in the server.
    /// </summary>
    private static async Task StoredAsync(ParseResult p, TextWriter output, string rulesDir, byte[] ndjson, int n, int workers, CancellationToken ct)
    {
        var options = StoreCliOptions.Resolve(p);
        var temporary = p.GetValue(StoreCliOptions.DataDir) is null;
        if (temporary)
        {
            options.DataDir = Path.Combine(Path.GetTempPath(), "mcpsec-bench-detect-" + Guid.NewGuid().ToString("N")[..10]);
        }

        options.Detection.RuleDirectories = [rulesDir];
        options.Detection.WatchRules = false;
        try
        {
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            await Server.Hosting.Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            using var pipeline = new Server.Detection.DetectionPipeline(store, options.Detection, new Server.Detection.AttackLibrary(options.DataDir, TimeProvider.System), TimeProvider.System);
            var sw = Stopwatch.StartNew();
            var engine = await pipeline.WarmUpAsync().ConfigureAwait(false);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"stored alerts = batches of {options.Detection.BatchSize} through the detection pipeline into the {store.Provider} alert store (dedupe, incidents, audit), one tenant per thread, after a warm-up in other tenants; {engine.Rules.Count} rules of every product loaded in {sw.Elapsed.TotalMilliseconds:F0} ms"));
            var lines = new List<ReadOnlyMemory<byte>>();
            foreach (var start in LineStarts(ndjson))
            {
                var nl = ndjson.AsSpan(start).IndexOf((byte)'\n');
                lines.Add(ndjson.AsMemory(start, nl < 0 ? ndjson.Length - start : nl));
            }

            async Task<Core.Tenancy.TenantScope[]> TenantsAsync(string prefix)
            {
                var scopes = new Core.Tenancy.TenantScope[workers];
                for (var w = 0; w < workers; w++)
                {
                    var tenant = await store.CreateTenantAsync(prefix + Guid.NewGuid().ToString("N")[..8], false, Core.Access.Actor.System("bench"), ct).ConfigureAwait(false);
                    scopes[w] = Core.Tenancy.TenantScope.For(tenant.Id);
                }

                return scopes;
            }

            long created = 0, merged = 0, matches = 0;
            Task[] Start(Core.Tenancy.TenantScope[] scopes, int per)
            {
                var tasks = new Task[workers];
                for (var w = 0; w < workers; w++)
                {
                    var worker = w;
                    tasks[w] = Task.Run(async () =>
                    {
                        var offset = worker * (lines.Count / workers);
                        var batch = new List<ReadOnlyMemory<byte>>(options.Detection.BatchSize);
                        for (var i = 0; i < per; i++)
                        {
                            batch.Add(lines[(offset + i) % lines.Count]);
                            if (batch.Count == options.Detection.BatchSize || i == per - 1)
                            {
                                var r = await pipeline.ProcessAsync(scopes[worker], batch, ct).ConfigureAwait(false);
                                Interlocked.Add(ref created, r.AlertsCreated);
                                Interlocked.Add(ref merged, r.AlertsMerged + r.AlertsSuppressed);
                                Interlocked.Add(ref matches, r.Matches + r.Correlations);
                                batch.Clear();
                            }
                        }
                    }, ct);
                }

                return tasks;
            }

            // Warm-up in tenants of its own, so the measured run sees optimised code and an empty alert table per tenant.
            await Task.WhenAll(Start(await TenantsAsync("bench-warm-").ConfigureAwait(false), Math.Max(1, Math.Min(n / 5, 20_000) / workers))).ConfigureAwait(false);
            created = merged = matches = 0;
            var measured = await TenantsAsync("bench-").ConfigureAwait(false);
            var per = n / workers;
            var allocatedBefore = GC.GetTotalAllocatedBytes(true);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            sw.Restart();
            var tasks = Start(measured, per);
            await Task.WhenAll(tasks).ConfigureAwait(false);
            var seconds = sw.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            var events = (long)per * workers;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  all rules  stored alerts: {events / seconds,12:N0} events/s ({cpu * 1e6 / events:F2} us CPU/event) | {events:N0} events, {matches:N0} matches -> {created:N0} alerts created, {merged:N0} merged into existing ones | {(GC.GetTotalAllocatedBytes(true) - allocatedBefore) / (double)events:F0} B allocated/event | peak RSS {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024):N0} MB"));
        }
        finally
        {
            if (temporary)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                try
                {
                    Directory.Delete(options.DataDir, true);
                }
                catch (IOException ex)
                {
                    output.WriteLine($"note: the temporary data directory {options.DataDir} could not be removed: {ex.Message}");
                }
            }
        }
    }

    private static bool IsWindows(SigmaRule rule) => string.Equals(rule.LogSource.Product, "windows", StringComparison.Ordinal);

    private static void Report(TextWriter output, string rules, string mode, RunResult[] runs)
    {
        Array.Sort(runs, (a, b) => (a.Events / a.Seconds).CompareTo(b.Events / b.Seconds));
        var r = runs[runs.Length / 2];
        var range = runs.Length == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture,
            $" | runs {runs[0].Events / runs[0].Seconds:N0}-{runs[^1].Events / runs[^1].Seconds:N0} events/s, {runs[^1].CpuSeconds * 1e6 / runs[^1].Events:F2}-{runs[0].CpuSeconds * 1e6 / runs[0].Events:F2} us CPU/event");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {rules,-10} {mode,-10}: {r.Events / r.Seconds,12:N0} events/s ({r.CpuSeconds * 1e6 / r.Events:F2} us CPU/event) | p50 {r.P50Micros:F2} us, p99 {r.P99Micros:F2} us, max {r.MaxMicros:F0} us per event | {r.AllocatedBytes / (double)r.Events:F1} B allocated/event | {r.Alerts:N0} alerts | GC {r.Gen0}/{r.Gen1}/{r.Gen2} | peak RSS {r.PeakRssBytes / (1024 * 1024):N0} MB{range}"));
    }

    private sealed record RunResult(long Events, double Seconds, double CpuSeconds, long Alerts, long AllocatedBytes, double P50Micros, double P99Micros, double MaxMicros, int Gen0, int Gen1, int Gen2, long PeakRssBytes);

    /// <summary>Keeps every match as an alert record in memory, as a store-less pipeline would.</summary>
    private sealed class AlertListSink : IMatchSink
    {
        public List<BenchAlert> Alerts { get; } = new(1 << 16);

        public long EventIndex { get; set; }

        public void OnMatch(SigmaRule rule, ReadOnlySpan<string> matchedFields) =>
            Alerts.Add(new BenchAlert(rule.Id, rule.Title, rule.Level, rule.Author, EventIndex, matchedFields.ToArray(), rule.AttackTags, DateTimeOffset.UtcNow));
    }

    private sealed record BenchAlert(string RuleId, string Title, string? Level, string? Author, long EventIndex, string[] MatchedFields, IReadOnlyList<string> Attack, DateTimeOffset At);

    private static RunResult[] EndToEnd(SigmaEngine engine, byte[] ndjson, int n, int workers, int repeat)
    {
        // Where each line of the replayed stream starts; a worker still finds each line's end itself.
        var lineStarts = LineStarts(ndjson);
        var sinks = new AlertListSink[workers];
        for (var w = 0; w < workers; w++)
        {
            sinks[w] = new AlertListSink();
        }

        Warm(n, workers, (w, cursor) => RunEndToEnd(engine, ndjson, lineStarts, cursor, sinks[w], [], 1));
        foreach (var sink in sinks)
        {
            sink.Alerts.Clear();
        }

        var results = new RunResult[repeat];
        for (var k = 0; k < repeat; k++)
        {
            results[k] = Measure(n, workers, (w, cursor, samples) => RunEndToEnd(engine, ndjson, lineStarts, cursor, sinks[w], samples, SampleEvery), () =>
            {
                long alerts = 0;
                foreach (var s in sinks)
                {
                    alerts += s.Alerts.Count;
                    s.Alerts.Clear();
                }

                return alerts;
            });
        }

        return results;
    }

    private static void RunEndToEnd(SigmaEngine engine, byte[] ndjson, int[] lineStarts, StreamCursor cursor, AlertListSink sink, long[] samples, int every)
    {
        var memory = ndjson.AsMemory();
        while (cursor.TryClaim(out var first, out var count))
        {
            var j = (int)(first % lineStarts.Length);
            for (var i = first; i < first + count; i++, j++)
            {
                if (j == lineStarts.Length)
                {
                    j = 0;
                }

                var pos = lineStarts[j];
                var nl = ndjson.AsSpan(pos).IndexOf((byte)'\n');
                var line = memory.Slice(pos, nl < 0 ? ndjson.Length - pos : nl);
                sink.EventIndex = i;
                if (i % every == 0 && i / every < samples.Length)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    engine.Evaluate(new SecurityEventView(line), sink);
                    samples[i / every] = Stopwatch.GetTimestamp() - t0;
                }
                else
                {
                    engine.Evaluate(new SecurityEventView(line), sink);
                }
            }
        }
    }

    private static RunResult[] MatchOnly(SigmaEngine engine, DetectionCorpus corpus, int n, int workers, int repeat)
    {
        var prepared = new List<PreparedEvent>(corpus.Events.Count);
        foreach (var ev in corpus.Events)
        {
            if (engine.Prepare(new SecurityEventView(ev)) is { } pe)
            {
                prepared.Add(pe);
            }
        }

        var events = prepared.ToArray();
        var sinks = new CountingMatchSink[workers];
        for (var w = 0; w < workers; w++)
        {
            sinks[w] = new CountingMatchSink();
        }

        Warm(n, workers, (w, cursor) => RunPrepared(engine, events, cursor, sinks[w], [], 1));
        long counted = 0;
        foreach (var sink in sinks)
        {
            counted += sink.Count;
        }

        var results = new RunResult[repeat];
        for (var k = 0; k < repeat; k++)
        {
            results[k] = Measure(n, workers, (w, cursor, samples) => RunPrepared(engine, events, cursor, sinks[w], samples, SampleEvery), () =>
            {
                var before = counted;
                counted = 0;
                foreach (var s in sinks)
                {
                    counted += s.Count;
                }

                return counted - before;
            });
        }

        return results;
    }

    private static void RunPrepared(SigmaEngine engine, PreparedEvent[] events, StreamCursor cursor, CountingMatchSink sink, long[] samples, int every)
    {
        while (cursor.TryClaim(out var first, out var count))
        {
            var j = (int)(first % events.Length);
            for (var i = first; i < first + count; i++, j++)
            {
                if (j == events.Length)
                {
                    j = 0;
                }

                if (i % every == 0 && i / every < samples.Length)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    engine.Evaluate(events[j], sink);
                    samples[i / every] = Stopwatch.GetTimestamp() - t0;
                }
                else
                {
                    engine.Evaluate(events[j], sink);
                }
            }
        }
    }

    /// <summary>One event in this many is timed for the latency percentiles (timing every event would slow the run).</summary>
    private const int SampleEvery = 8;

    /// <summary>
    /// The replayed stream's next position, shared by the workers: each claims the next <see cref="Size"/> events
    /// when it is ready for more, as consumers of one queue do, so that a worker given costlier events does not
    /// leave the other idle at the end.
    /// </summary>
    private sealed class StreamCursor(long total)
    {
        /// <summary>Events claimed at a time: enough that claiming costs nothing per event.</summary>
        public const int Size = 64;

        private long _next;

        public bool TryClaim(out long first, out int count)
        {
            first = Interlocked.Add(ref _next, Size) - Size;
            count = (int)Math.Clamp(total - first, 0, Size);
            return count > 0;
        }
    }

    /// <summary>
    /// Runs the workers over a tenth of the events (at most 20,000 per worker) before measuring, so that each
    /// thread's first-use work (optimised code, its copy of each regex) is not counted.
    /// </summary>
    private static void Warm(int n, int workers, Action<int, StreamCursor> run) =>
        Measure(Math.Min(n / 10, 20_000 * workers), workers, (w, cursor, _) => run(w, cursor), () => 0);

    /// <summary>One measurement, after a full collection so that the garbage of an earlier one is not counted in it.</summary>
    private static RunResult Measure(int n, int workers, Action<int, StreamCursor, long[]> work, Func<long> alerts)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var cursor = new StreamCursor(n);
        // One latency slot per sampled position of the stream, written by whichever worker took that position.
        var samples = new long[(n / SampleEvery) + 1];

        var threads = new Thread[workers];
        using var start = new ManualResetEventSlim(false);
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            threads[w] = new Thread(() =>
            {
                start.Wait();
                work(worker, cursor, samples);
            })
            { IsBackground = true, Name = $"detect-bench-{w}" };
            threads[w].Start();
        }

        var gen0 = GC.CollectionCount(0);
        var gen1 = GC.CollectionCount(1);
        var gen2 = GC.CollectionCount(2);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        start.Set();
        foreach (var t in threads)
        {
            t.Join();
        }

        var seconds = sw.Elapsed.TotalSeconds;
        self.Refresh();
        var cpuSeconds = (self.TotalProcessorTime - cpu).TotalSeconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var all = new List<long>(samples.Length);
        foreach (var v in samples)
        {
            if (v > 0)
            {
                all.Add(v);
            }
        }

        all.Sort();
        var tick = 1_000_000.0 / Stopwatch.Frequency;
        double At(double q) => all.Count == 0 ? 0 : all[Math.Min(all.Count - 1, (int)(all.Count * q))] * tick;
        return new RunResult(n, seconds, cpuSeconds, alerts(), allocated, At(0.5), At(0.99), all.Count == 0 ? 0 : all[^1] * tick,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2, self.PeakWorkingSet64);
    }

    /// <summary>Where each non-empty line of the NDJSON buffer starts.</summary>
    private static int[] LineStarts(byte[] ndjson)
    {
        var starts = new List<int>();
        for (var pos = 0; pos < ndjson.Length;)
        {
            var nl = Array.IndexOf(ndjson, (byte)'\n', pos);
            var stop = nl < 0 ? ndjson.Length : nl;
            if (stop > pos)
            {
                starts.Add(pos);
            }

            pos = stop + 1;
        }

        return [.. starts];
    }
}
