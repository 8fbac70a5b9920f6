using System.Diagnostics.Metrics;

namespace McpSecurity.Detection;

/// <summary>
/// The <c>McpSecurity.Detection</c> meter: per-rule match counts and evaluation time, event counters and
/// quarantined rules of every live <see cref="SigmaEngine"/> (engines replaced by a reload stop reporting, so
/// counters restart from zero after a reload). Observable instruments read the engines' own counters when
/// scraped, so the match path pays nothing for them.
/// </summary>
public static class DetectionMetrics
{
    /// <summary>Name of the meter (for <c>AddMeter</c>).</summary>
    public const string MeterName = "McpSecurity.Detection";

    private static readonly Meter Meter = new(MeterName);
    private static readonly List<WeakReference<SigmaEngine>> Engines = [];
    private static readonly Lock Gate = new();

    private static readonly Counter<long> ReloadCounter = Meter.CreateCounter<long>("mcpsec.detection.rule_reloads", description: "Rule reloads by outcome (ok, partial: some files kept their previous version, failed).");

    static DetectionMetrics()
    {
        Meter.CreateObservableCounter("mcpsec.detection.rule.matches", () => PerRule(c => c.Matches), description: "Events matched, per rule.");
        Meter.CreateObservableCounter("mcpsec.detection.rule.evaluations", () => PerRule(c => c.Evaluations), description: "Condition evaluations per rule (estimated from sampled events).");
        Meter.CreateObservableCounter("mcpsec.detection.rule.evaluation_time", () => PerRuleSeconds(), unit: "s", description: "Time spent evaluating each rule (estimated from sampled events).");
        Meter.CreateObservableCounter("mcpsec.detection.events", () => Totals(s => s.EventsEvaluated), description: "Events evaluated.");
        Meter.CreateObservableCounter("mcpsec.detection.events.malformed", () => Totals(s => s.MalformedEvents), description: "Events that were not valid JSON objects.");
        Meter.CreateObservableCounter("mcpsec.detection.events.oversized", () => Totals(s => s.OversizedEvents), description: "Events over the size limit.");
        Meter.CreateObservableUpDownCounter("mcpsec.detection.rules.quarantined", () => Totals(_ => 0, quarantined: true), description: "Rules taken out of service after failing at evaluation.");
        Meter.CreateObservableUpDownCounter("mcpsec.detection.rules.loaded", () => Totals(_ => 0, loaded: true), description: "Rules loaded in live engines.");
    }

    internal static void Register(SigmaEngine engine)
    {
        lock (Gate)
        {
            Engines.RemoveAll(w => !w.TryGetTarget(out _));
            Engines.Add(new WeakReference<SigmaEngine>(engine));
        }
    }

    internal static void RecordReload(string outcome) => ReloadCounter.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    private static List<SigmaEngine> Live()
    {
        var list = new List<SigmaEngine>();
        lock (Gate)
        {
            foreach (var w in Engines)
            {
                if (w.TryGetTarget(out var e) && !e.Retired)
                {
                    list.Add(e);
                }
            }
        }

        return list;
    }

    private static IEnumerable<Measurement<long>> PerRule(Func<RuleCounters, long> value)
    {
        foreach (var engine in Live())
        {
            foreach (var c in engine.RuleStatistics)
            {
                yield return new Measurement<long>(value(c), new KeyValuePair<string, object?>("rule_id", c.RuleId), new KeyValuePair<string, object?>("level", c.Level));
            }
        }
    }

    private static IEnumerable<Measurement<double>> PerRuleSeconds()
    {
        foreach (var engine in Live())
        {
            foreach (var c in engine.RuleStatistics)
            {
                yield return new Measurement<double>(c.EvaluationTime.TotalSeconds, new KeyValuePair<string, object?>("rule_id", c.RuleId), new KeyValuePair<string, object?>("level", c.Level));
            }
        }
    }

    private static long Totals(Func<SigmaEngineStatistics, long> value, bool quarantined = false, bool loaded = false)
    {
        long total = 0;
        foreach (var engine in Live())
        {
            total += quarantined ? engine.QuarantinedRules.Count : loaded ? engine.Rules.Count : value(engine.Statistics);
        }

        return total;
    }
}
