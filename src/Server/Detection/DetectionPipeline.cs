using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Alerts;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Detection;
using McpSecurity.Detection.Correlation;
using McpSecurity.Detection.Mapping;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Server.Detection;

/// <summary>What one batch did.</summary>
/// <param name="Events">Events evaluated.</param>
/// <param name="Matches">Rule matches (after the tenant's disabled rules are left out).</param>
/// <param name="Correlations">Correlation rules that fired.</param>
/// <param name="AlertsCreated">New alerts.</param>
/// <param name="AlertsMerged">Matches merged into existing alerts (dedupe window).</param>
/// <param name="AlertsSuppressed">Matches counted on closed alerts (suppression window).</param>
public sealed record DetectionBatchResult(int Events, int Matches, int Correlations, int AlertsCreated, int AlertsMerged, int AlertsSuppressed);

/// <summary>A rule a tenant runs, for listings.</summary>
/// <param name="Rule">Rule metadata.</param>
/// <param name="Uploaded">True for a rule the tenant uploaded.</param>
/// <param name="Enabled">False when the tenant disabled it.</param>
public sealed record TenantRuleView(SigmaRule Rule, bool Uploaded, bool Enabled);

/// <summary>
/// The detection path shared by the server and the CLI: events (UTF-8 JSON) of a tenant → Sigma rules of the
/// configured directories plus the tenant's uploaded rules, minus the ones it disabled → Sigma correlation
/// rules → alerts stored with ATT&amp;CK names, the rule author and entity keys, deduplicated, suppressed and
/// grouped into incidents by <see cref="IAlertStore.RecordAsync"/>. Thread-safe: batches of different
/// tenants run in parallel; one tenant's batches run one at a time, because correlation state is ordered.
/// </summary>
public sealed class DetectionPipeline
{
    private static readonly Meter Meter = new(Hosting.PlatformHost.MeterName);
    private static readonly Counter<long> EventsCounter = Meter.CreateCounter<long>("mcpsec.detection.events", description: "Events evaluated by the Sigma rules");
    private static readonly Counter<long> MatchCounter = Meter.CreateCounter<long>("mcpsec.detection.rule.matches", description: "Rule matches, per rule");
    private static readonly Counter<long> AlertCounter = Meter.CreateCounter<long>("mcpsec.detection.alerts", description: "Matches stored, by outcome (created, merged, suppressed)");
    private static readonly Histogram<double> BatchDuration = Meter.CreateHistogram<double>("mcpsec.detection.batch.duration", "ms", "Time to evaluate a batch and store its alerts");

    private readonly IStore _store;
    private readonly DetectionOptions _options;
    private readonly AttackLibrary _attack;
    private readonly TimeProvider _time;
    private readonly AlertPolicy _policy;
    private readonly Lazy<Task<SigmaEngine>> _baseEngine;
    private readonly FieldMappingConfig? _mapping;
    private readonly ConcurrentDictionary<string, TenantRuleSet> _tenants = new(StringComparer.Ordinal);
    private readonly Actor _actor = Actor.System("detection");
    private readonly Response.ResponseTriggerPublisher? _triggers;

    /// <summary>Creates the pipeline; rules are compiled on first use (or by <see cref="WarmUpAsync"/>).</summary>
    public DetectionPipeline(IStore store, DetectionOptions options, AttackLibrary attack, TimeProvider time, Response.ResponseTriggerPublisher? triggers = null)
    {
        _triggers = triggers;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _attack = attack ?? throw new ArgumentNullException(nameof(attack));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _policy = options.ToPolicy();
        foreach (var dir in options.RuleDirectories)
        {
            if (!Directory.Exists(dir))
            {
                throw new ValidationException("Detection:RuleDirectories", $"Rule directory '{dir}' does not exist (Detection:RuleDirectories).");
            }
        }

        if (options.MappingFile is { } mappingFile)
        {
            _mapping = File.Exists(mappingFile)
                ? FieldMappingConfig.FromYaml(File.ReadAllText(mappingFile), mappingFile)
                : throw new ValidationException("Detection:MappingFile", $"Field-mapping file '{mappingFile}' does not exist (Detection:MappingFile).");
        }

        _baseEngine = new Lazy<Task<SigmaEngine>>(() => Task.Run(() => Build([])), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The ATT&amp;CK catalogue in use.</summary>
    public AttackLibrary Attack => _attack;

    /// <summary>Compiles the rules of the configured directories now instead of on the first event.</summary>
    public Task<SigmaEngine> WarmUpAsync() => _baseEngine.Value;

    /// <summary>Forgets a tenant's compiled rules so the next batch reloads its settings.</summary>
    public void Invalidate(string tenantId) => _tenants.TryRemove(tenantId, out _);

    /// <summary>Rules the tenant runs (directory rules and uploaded ones, enabled or not) and the rejections of its rule set.</summary>
    public async Task<(IReadOnlyList<TenantRuleView> Rules, IReadOnlyList<RuleRejection> Rejections)> ListRulesAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var set = await GetRuleSetAsync(scope, cancellationToken).ConfigureAwait(false);
        var list = new List<TenantRuleView>(set.Engine.Rules.Count);
        foreach (var rule in set.Engine.Rules)
        {
            list.Add(new TenantRuleView(rule, set.Uploaded.Contains(rule.Id), !set.Disabled.Contains(rule.Id)));
        }

        return (list, set.Engine.Rejections);
    }

    /// <summary>True when the rule id belongs to a rule of the configured directories (uploads may not reuse those ids).</summary>
    public async Task<SigmaRule?> FindDirectoryRuleAsync(string ruleId)
    {
        var engine = await _baseEngine.Value.ConfigureAwait(false);
        foreach (var rule in engine.Rules)
        {
            if (string.Equals(rule.Id, ruleId, StringComparison.Ordinal))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// Evaluates a batch of a tenant's events and stores the resulting alerts. Events that are not JSON
    /// objects are counted by the engine and skipped; a store failure throws (the batch is redelivered, and
    /// repeat matches merge into the alerts already stored).
    /// </summary>
    public async Task<DetectionBatchResult> ProcessAsync(TenantScope scope, IReadOnlyList<ReadOnlyMemory<byte>> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var started = Stopwatch.GetTimestamp();
        var set = await GetRuleSetAsync(scope, cancellationToken).ConfigureAwait(false);
        List<PendingMatch> pending;
        await set.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var collector = set.Collector;
            collector.Matches.Clear();
            for (var i = 0; i < events.Count; i++)
            {
                collector.EventIndex = i;
                var view = new SecurityEventView(events[i]);
                if (set.Correlation is null)
                {
                    set.Engine.Evaluate(view, collector);
                }
                else
                {
                    // Correlation windows run on event time; reading it costs a parse, so only rule sets with correlations pay it.
                    var time = EventFacts.ReadTime(events[i]) ?? _time.GetUtcNow();
                    set.Correlation.Process(view, time, collector, set.OnCorrelation);
                }
            }

            pending = [.. collector.Matches];
            collector.Matches.Clear();
        }
        finally
        {
            set.Gate.Release();
        }

        EventsCounter.Add(events.Count);
        int created = 0, merged = 0, suppressed = 0, correlations = 0;
        var alerts = _store.ForTenant(scope).Alerts;
        var parsedIndex = -1;
        JsonDocument? parsed = null;
        try
        {
            foreach (var match in pending)
            {
                if (match.EventIndex != parsedIndex)
                {
                    parsed?.Dispose();
                    parsed = TryParse(events[match.EventIndex]);
                    parsedIndex = match.EventIndex;
                }

                var root = parsed?.RootElement;
                var eventTime = (root is { } r ? EventFacts.ReadTime(r) : null) ?? _time.GetUtcNow();
                NewAlert alert;
                if (match.Correlation is { } c)
                {
                    correlations++;
                    alert = new NewAlert(c.Rule.Id, c.Rule.Title, c.Rule.Level, c.Rule.Author, c.Rule.SourceFile, c.Last,
                        EventFacts.FromGroupBy(c.Rule.GroupBy, c.GroupValues), _attack.Resolve(c.Rule.Id, c.Rule.Tags), events[match.EventIndex], [.. c.Rule.GroupBy]);
                }
                else
                {
                    var rule = match.Rule!;
                    alert = new NewAlert(rule.Id, rule.Title, rule.Level, rule.Author, rule.SourceFile, eventTime,
                        root is { } e ? EventFacts.ReadEntities(e) : AlertEntities.None, _attack.Resolve(rule.Id, rule.Tags), events[match.EventIndex], match.Fields);
                }

                MatchCounter.Add(1, new KeyValuePair<string, object?>("rule_id", alert.RuleId));
                var write = await alerts.RecordAsync(alert, _policy, _actor, cancellationToken).ConfigureAwait(false);
                switch (write.Outcome)
                {
                    case AlertOutcome.Created:
                        created++;
                        if (_triggers is not null)
                        {
                            await _triggers.AlertCreatedAsync(scope, new Response.AlertTrigger(alert, write, match.Correlation is not null, match.Correlation?.Count ?? 1,
                                match.Correlation is { } cm ? cm.Rule.Tags : match.Rule!.Tags), cancellationToken).ConfigureAwait(false);
                        }

                        break;
                    case AlertOutcome.Merged:
                        merged++;
                        break;
                    default:
                        suppressed++;
                        break;
                }

                AlertCounter.Add(1, new KeyValuePair<string, object?>("outcome", write.Outcome.ToString().ToLowerInvariant()));
            }
        }
        finally
        {
            parsed?.Dispose();
        }

        BatchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new DetectionBatchResult(events.Count, pending.Count - correlations, correlations, created, merged, suppressed);
    }

    private static JsonDocument? TryParse(ReadOnlyMemory<byte> json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task<TenantRuleSet> GetRuleSetAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var tenantId = scope.TenantId ?? throw new ArgumentException("An empty tenant scope cannot be used.", nameof(scope));
        var now = _time.GetUtcNow();
        if (_tenants.TryGetValue(tenantId, out var set) && now - set.CheckedAt < TimeSpan.FromSeconds(_options.RuleRefreshSeconds))
        {
            return set;
        }

        var alerts = _store.ForTenant(scope).Alerts;
        var stamp = await alerts.GetRulesStampAsync(cancellationToken).ConfigureAwait(false);
        if (set is not null && string.Equals(set.Stamp, stamp, StringComparison.Ordinal))
        {
            set.CheckedAt = now;
            return set;
        }

        var settings = await alerts.ListRulesAsync(cancellationToken).ConfigureAwait(false);
        var disabled = new HashSet<string>(StringComparer.Ordinal);
        var uploads = new List<TenantRule>();
        foreach (var s in settings)
        {
            if (!s.Enabled)
            {
                disabled.Add(s.RuleId);
            }

            if (s.Yaml is not null)
            {
                uploads.Add(s);
            }
        }

        var engine = uploads.Count == 0 ? await _baseEngine.Value.ConfigureAwait(false) : await Task.Run(() => Build(uploads), cancellationToken).ConfigureAwait(false);
        var uploaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var u in uploads)
        {
            uploaded.Add(u.RuleId);
        }

        // A rebuilt rule set starts with empty correlation windows.
        set = new TenantRuleSet(engine, disabled, uploaded, stamp) { CheckedAt = now };
        _tenants[tenantId] = set;
        return set;
    }

    private SigmaEngine Build(IReadOnlyList<TenantRule> uploads)
    {
        var builder = new SigmaEngineBuilder();
        foreach (var dir in _options.RuleDirectories)
        {
            builder.AddRuleDirectory(dir);
        }

        foreach (var u in uploads)
        {
            builder.AddRuleYaml(u.Yaml!, "uploaded:" + u.RuleId);
        }

        if (_mapping is not null)
        {
            builder.UseMapping(_mapping);
        }

        return builder.WithOptions(new SigmaEngineOptions { MaxEventBytes = _options.MaxEventBytes, MaxJsonDepth = _options.MaxEventDepth }).Build();
    }

    private readonly record struct PendingMatch(int EventIndex, SigmaRule? Rule, string[] Fields, CorrelationMatch? Correlation);

    /// <summary>Collects matches of one batch; allocation happens per match only, never per event.</summary>
    private sealed class MatchCollector(HashSet<string> disabled) : IMatchSink
    {
        public int EventIndex { get; set; }

        public List<PendingMatch> Matches { get; } = [];

        public void OnMatch(SigmaRule rule, ReadOnlySpan<string> matchedFields)
        {
            if (disabled.Count == 0 || !disabled.Contains(rule.Id))
            {
                Matches.Add(new PendingMatch(EventIndex, rule, matchedFields.ToArray(), null));
            }
        }

        public void OnCorrelation(CorrelationMatch match)
        {
            if (disabled.Count == 0 || !disabled.Contains(match.Rule.Id))
            {
                Matches.Add(new PendingMatch(EventIndex, null, [], match));
            }
        }
    }

    private sealed class TenantRuleSet
    {
        public TenantRuleSet(SigmaEngine engine, HashSet<string> disabled, HashSet<string> uploaded, string stamp)
        {
            Engine = engine;
            Disabled = disabled;
            Uploaded = uploaded;
            Stamp = stamp;
            Collector = new MatchCollector(disabled);
            OnCorrelation = Collector.OnCorrelation;
            Correlation = engine.CorrelationRules.Count > 0 ? new SigmaCorrelationEngine(engine) : null;
        }

        public SigmaEngine Engine { get; }

        public SigmaCorrelationEngine? Correlation { get; }

        public HashSet<string> Disabled { get; }

        public HashSet<string> Uploaded { get; }

        public string Stamp { get; }

        public DateTimeOffset CheckedAt { get; set; }

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public MatchCollector Collector { get; }

        public Action<CorrelationMatch> OnCorrelation { get; }
    }
}
