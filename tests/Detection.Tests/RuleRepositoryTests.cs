using System.Diagnostics.Metrics;
using McpSecurity.Detection.Rules;

namespace McpSecurity.Detection.Tests;

/// <summary>Rules from directories with hot reload, per-rule counters and the quarantine callback.</summary>
public sealed class RuleRepositoryTests : IDisposable
{
    private const string RuleA = "00000000-0000-4000-8000-0000000000a1";
    private const string RuleB = "00000000-0000-4000-8000-0000000000b2";
    private readonly string _dir = Directory.CreateTempSubdirectory("mcpsec-rules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Rule(string id, string image) => Some.ProcessRule($"sel:\n  Image|endswith: '\\{image}'\ncondition: sel", id);

    private static byte[] Process(string image) => Some.SysmonEvent(1, new { Image = $@"C:\Tools\{image}", CommandLine = image });

    private static IEnumerable<string> Ids(SigmaEngine engine, byte[] ev) => Some.Matches(engine, ev).Select(m => m.Rule.Id);

    [Fact]
    public void A_broken_edit_is_reported_and_the_previous_version_keeps_running()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yml"), Rule(RuleA, "alpha.exe"));
        using var repo = new RuleRepository([_dir], new RuleRepositoryOptions { Watch = false });
        Assert.Equal([RuleA], Ids(repo.Engine, Process("alpha.exe")));
        var first = repo.Engine;

        File.WriteAllText(Path.Combine(_dir, "a.yml"), "title: broken\ndetection: [unclosed\n");
        File.WriteAllText(Path.Combine(_dir, "b.yml"), Rule(RuleB, "beta.exe"));
        var report = repo.Reload();
        var kept = Assert.Single(report.KeptPreviousVersion);
        Assert.EndsWith("a.yml", kept.File, StringComparison.Ordinal);
        Assert.NotEmpty(kept.Problems);
        Assert.Null(report.Error);
        Assert.Equal(2, report.Rules);
        Assert.Equal([RuleA], Ids(repo.Engine, Process("alpha.exe")));
        Assert.Equal([RuleB], Ids(repo.Engine, Process("beta.exe")));
        Assert.NotSame(first, repo.Engine);
        Assert.Equal([RuleA], Ids(first, Process("alpha.exe")));

        File.WriteAllText(Path.Combine(_dir, "a.yml"), Rule(RuleA, "gamma.exe"));
        report = repo.Reload();
        Assert.Empty(report.KeptPreviousVersion);
        Assert.Empty(Ids(repo.Engine, Process("alpha.exe")));
        Assert.Equal([RuleA], Ids(repo.Engine, Process("gamma.exe")));

        File.Delete(Path.Combine(_dir, "b.yml"));
        Assert.Equal(1, repo.Reload().Rules);
        Assert.Empty(Ids(repo.Engine, Process("beta.exe")));
    }

    [Fact]
    public void A_file_that_never_loaded_is_reported_as_a_rejection()
    {
        File.WriteAllText(Path.Combine(_dir, "bad.yml"), "title: x\n");
        using var repo = new RuleRepository([_dir], new RuleRepositoryOptions { Watch = false });
        Assert.Empty(repo.LastReport.KeptPreviousVersion);
        Assert.Contains(repo.LastReport.Rejections, r => r.File.EndsWith("bad.yml", StringComparison.Ordinal));
        Assert.Equal(0, repo.LastReport.Rules);
    }

    [Fact]
    public async Task The_watcher_reloads_after_a_change()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yml"), Rule(RuleA, "alpha.exe"));
        using var repo = new RuleRepository([_dir], new RuleRepositoryOptions { Debounce = TimeSpan.FromMilliseconds(50) });
        var reloaded = new TaskCompletionSource<RuleReloadReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        repo.Reloaded += r =>
        {
            if (r.Rules == 2)
            {
                reloaded.TrySetResult(r);
            }
        };
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "more"));
        File.WriteAllText(Path.Combine(sub.FullName, "b.yml"), Rule(RuleB, "beta.exe"));
        var report = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.True(report.Generation > 1);
        Assert.Equal([RuleB], Ids(repo.Engine, Process("beta.exe")));
    }

    [Fact]
    public void Per_rule_counters_are_exported_on_the_detection_meter()
    {
        var engine = Some.Engine(Rule(RuleA, "alpha.exe"), Rule(RuleB, "beta.exe"));
        for (var i = 0; i < 3; i++)
        {
            Some.Matches(engine, Process("alpha.exe"));
        }

        var counters = engine.RuleStatistics.ToDictionary(c => c.RuleId);
        Assert.Equal(3, counters[RuleA].Matches);
        Assert.Equal(0, counters[RuleB].Matches);

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DetectionMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "mcpsec.detection.rule.matches")
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "rule_id" && (string)tag.Value! == RuleA)
                    {
                        seen[RuleA] = Math.Max(seen.GetValueOrDefault(RuleA), value);
                    }
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.True(seen.GetValueOrDefault(RuleA) >= 3);
        GC.KeepAlive(engine);
    }

    [Fact]
    public void Engine_and_rule_counters_add_up_the_counts_of_every_thread()
    {
        // Each thread counts into its own copy of the counters; every copy must be in the total.
        var engine = new SigmaEngineBuilder().AddRuleYaml(Rule(RuleA, "alpha.exe"), "a.yml").WithOptions(new SigmaEngineOptions { TimingSampleInterval = 1 }).Build();
        const int Threads = 4, PerThread = 250;
        using var start = new Barrier(Threads);
        var threads = new Thread[Threads];
        var seen = 0;
        for (var t = 0; t < Threads; t++)
        {
            threads[t] = new Thread(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < PerThread; i++)
                {
                    Interlocked.Add(ref seen, Ids(engine, Process("alpha.exe")).Count(id => id == RuleA));
                }
            });
            threads[t].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(Threads * PerThread, seen);
        var c = Assert.Single(engine.RuleStatistics);
        Assert.Equal(Threads * PerThread, c.Matches);
        Assert.Equal(Threads * PerThread, c.Evaluations);
        Assert.Equal(Threads * PerThread, engine.Statistics.EventsEvaluated);
        Assert.Equal(Threads * PerThread, engine.Statistics.Matches);
    }

    [Fact]
    public void Rule_timing_is_sampled_when_asked_for()
    {
        var engine = new SigmaEngineBuilder().AddRuleYaml(Rule(RuleA, "alpha.exe"), "a.yml").WithOptions(new SigmaEngineOptions { TimingSampleInterval = 1 }).Build();
        for (var i = 0; i < 5; i++)
        {
            Some.Matches(engine, Process("alpha.exe"));
        }

        var c = Assert.Single(engine.RuleStatistics);
        Assert.Equal(5, c.Evaluations);
        Assert.True(c.EvaluationTime > TimeSpan.Zero);
    }

    [Fact]
    public void Quarantine_raises_the_health_callback_once()
    {
        var quarantined = new List<QuarantinedRule>();
        var slow = Some.ProcessRule("sel:\n  CommandLine|re: '^(?=(a|aa)+$)b'\ncondition: sel", "0f6bc4ea-0000-4000-8000-00000000dead");
        var good = Some.ProcessRule("sel:\n  CommandLine|startswith: 'aaaa'\ncondition: sel", "0f6bc4ea-0000-4000-8000-00000000900d");
        var engine = new SigmaEngineBuilder()
            .AddRuleYaml(slow, "slow.yml")
            .AddRuleYaml(good, "good.yml")
            .WithLoadOptions(new Sigma.SigmaLoadOptions { RegexTimeout = TimeSpan.FromMilliseconds(20) })
            .WithOptions(new SigmaEngineOptions { OnRuleQuarantined = quarantined.Add })
            .Build();
        // The trailing 'b' gets past the prefilter (every match needs a 'b'), so the regex itself runs.
        var ev = Some.SysmonEvent(1, new { CommandLine = new string('a', 5_000) + "cb" });
        Assert.Single(Some.Matches(engine, ev));
        Assert.Single(Some.Matches(engine, ev));
        Assert.Equal("0f6bc4ea-0000-4000-8000-00000000dead", Assert.Single(quarantined).RuleId);
    }
}
