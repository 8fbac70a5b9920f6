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
using McpSecurity.Detection.Rules;
using McpSecurity.Detection.Sigma;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
public sealed partial class DetectionPipeline : IDisposable
{
    /// <summary>Checkpoint key of a tenant's correlation state in <see cref="IAlertStore"/>.</summary>
    public const string CheckpointKey = "correlation";

    private static readonly Meter Meter = new(Hosting.PlatformHost.MeterName);
    private static readonly Counter<long> EventsCounter = Meter.CreateCounter<long>("mcpsec.detection.events", description: "Events evaluated by the Sigma rules");
    private static readonly Counter<long> MatchCounter = Meter.CreateCounter<long>("mcpsec.detection.rule.matches", description: "Rule matches, per rule");
    private static readonly Counter<long> AlertCounter = Meter.CreateCounter<long>("mcpsec.detection.alerts", description: "Matches stored, by outcome (created, merged, suppressed)");
    private static readonly Counter<long> CheckpointCounter = Meter.CreateCounter<long>("mcpsec.detection.correlation.checkpoints", description: "Correlation state checkpoints, by outcome (saved, restored, unreadable)");
    private static readonly Counter<long> CorrelationHealthCounter = Meter.CreateCounter<long>("mcpsec.detection.correlation.health", description: "Correlation health events (key cap reached, items dropped), by kind");
    private static readonly Histogram<double> BatchDuration = Meter.CreateHistogram<double>("mcpsec.detection.batch.duration", "ms", "Time to evaluate a batch and store its alerts");

    private readonly IStore _store;
    private readonly DetectionOptions _options;
    private readonly AttackLibrary _attack;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AlertPolicy _policy;
    private readonly Lazy<Task<RuleRepository>> _repository;
    private readonly FieldMappingConfig? _mapping;
    private readonly CorrelationOptions _correlationOptions;
    private readonly ConcurrentDictionary<string, TenantRuleSet> _tenants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _buildGates = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    private readonly Actor _actor = Actor.System("detection");
    private readonly Response.ResponseTriggerPublisher? _triggers;

    /// <summary>Creates the pipeline; rules are compiled on first use (or by <see cref="WarmUpAsync"/>).</summary>
    public DetectionPipeline(IStore store, DetectionOptions options, AttackLibrary attack, TimeProvider time, Response.ResponseTriggerPublisher? triggers = null, ILogger<DetectionPipeline>? logger = null)
    {
        _triggers = triggers;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _attack = attack ?? throw new ArgumentNullException(nameof(attack));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
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

        _correlationOptions = new CorrelationOptions
        {
            MaxGroupsPerRule = Math.Max(1, options.MaxCorrelationKeys),
            AllowedLateness = TimeSpan.FromSeconds(Math.Max(0, options.AllowedLatenessSeconds)),
            OnHealth = OnCorrelationHealth,
        };
        _repository = new Lazy<Task<RuleRepository>>(() => Task.Run(CreateRepository), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The ATT&amp;CK catalogue in use.</summary>
    public AttackLibrary Attack => _attack;

    /// <summary>
    /// The latest load or reload of the configured rule directories (null before the first load): counts,
    /// rule files whose broken edit was refused (their previous version keeps running) and a failed reload's error.
    /// </summary>
    public RuleReloadReport? RulesReport =>
        _repository.IsValueCreated && _repository.Value.IsCompletedSuccessfully ? _repository.Value.Result.LastReport : null;

    /// <summary>The configured rule directories, as full paths (to show rule files relative to them).</summary>
    public IReadOnlyList<string> RuleDirectories => [.. _options.RuleDirectories.Select(Path.GetFullPath)];

    /// <summary>Compiles the rules of the configured directories now instead of on the first event.</summary>
    public async Task<SigmaEngine> WarmUpAsync() => (await _repository.Value.ConfigureAwait(false)).Engine;

    /// <summary>Re-reads the configured rule directories now (the file watcher does this on its own after changes).</summary>
    public async Task<RuleReloadReport> ReloadRulesAsync() => (await _repository.Value.ConfigureAwait(false)).Reload();

    /// <summary>Makes the next batch of the tenant re-read its rule settings (correlation windows are carried over).</summary>
    public void Invalidate(string tenantId)
    {
        if (_tenants.TryGetValue(tenantId, out var set))
        {
            set.CheckedAt = DateTimeOffset.MinValue;
            set.Stale = true;
        }
    }

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
        var engine = await WarmUpAsync().ConfigureAwait(false);
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
    /// Saves the correlation state of every tenant that processed events since its last checkpoint to the
    /// store (<see cref="IAlertStore.SaveCheckpointAsync"/> under <see cref="CheckpointKey"/>), so a restarted
    /// process resumes its windows. Called periodically and on shutdown; a store failure throws.
    /// </summary>
    /// <returns>Number of tenants checkpointed.</returns>
    public async Task<int> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _checkpointGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var saved = 0;
            foreach (var (tenantId, set) in _tenants)
            {
                if (set.Correlation is not { } correlation)
                {
                    continue;
                }

                byte[] state;
                long batches;
                await set.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    // A replaced set handed its state to its successor, which saves it.
                    if (set.Replaced || set.Batches == set.CheckpointedBatches)
                    {
                        continue;
                    }

                    batches = set.Batches;
                    state = correlation.Snapshot();
                }
                finally
                {
                    set.Gate.Release();
                }

                await _store.ForTenant(TenantScope.For(tenantId)).Alerts.SaveCheckpointAsync(CheckpointKey, state, cancellationToken).ConfigureAwait(false);
                set.CheckpointedBatches = batches;
                CheckpointCounter.Add(1, new KeyValuePair<string, object?>("outcome", "saved"));
                saved++;
            }

            return saved;
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    /// <summary>
    /// Moves each tenant's correlation clock forward while its stream is quiet, so absence deadlines pass without
    /// a new event: event time advances from the newest event by the wall-clock time since the tenant's last batch
    /// (a historical replay is not pushed to today; a live stream follows the clock). Correlations that fire are
    /// stored as alerts and published like any other. The detection service calls it periodically.
    /// </summary>
    /// <returns>Correlations fired.</returns>
    public async Task<int> AdvanceTimeAsync(CancellationToken cancellationToken)
    {
        var fired = 0;
        foreach (var (tenantId, set) in _tenants)
        {
            if (set.Correlation is not { } correlation)
            {
                continue;
            }

            List<PendingMatch> pending;
            await set.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var now = _time.GetUtcNow();
                var idle = now - set.LastActivity;
                if (set.Replaced || correlation.NewestEventTime is not { } newest || idle <= TimeSpan.Zero)
                {
                    continue;
                }

                var collector = set.Collector;
                collector.Matches.Clear();
                collector.EventIndex = -1;
                set.LastActivity = now;
                if (correlation.AdvanceTime(newest + idle, set.OnCorrelation) == 0)
                {
                    continue;
                }

                pending = [.. collector.Matches];
                collector.Matches.Clear();
                set.Batches++;
            }
            finally
            {
                set.Gate.Release();
            }

            var scope = TenantScope.For(tenantId);
            var batch = new List<NewAlert>(pending.Count);
            foreach (var match in pending)
            {
                var c = match.Correlation!;
                MatchCounter.Add(1, new KeyValuePair<string, object?>("rule_id", c.Rule.Id));
                batch.Add(CorrelationAlert(c, CorrelationSample(c)));
            }

            fired += pending.Count;
            await StoreAsync(scope, _store.ForTenant(scope).Alerts, batch, pending, cancellationToken).ConfigureAwait(false);
        }

        return fired;
    }

    /// <summary>The alert of a fired correlation: its group-by values as entities, <paramref name="sample"/> kept with it.</summary>
    private NewAlert CorrelationAlert(CorrelationMatch c, ReadOnlyMemory<byte> sample) =>
        new(c.Rule.Id, c.Rule.Title, c.Rule.Level, c.Rule.Author, c.Rule.SourceFile, c.Last,
            EventFacts.FromGroupBy(c.Rule.GroupBy, c.GroupValues), _attack.Resolve(c.Rule.Id, c.Rule.Tags), sample, [.. c.Rule.GroupBy]);

    /// <summary>The sample kept with an alert that no single event raised (a deadline passed): what fired, for which key, when.</summary>
    private static byte[] CorrelationSample(CorrelationMatch c)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("correlation", c.Rule.Id);
            w.WriteString("type", c.Rule.Type.ToString().ToLowerInvariant());
            w.WriteString("first", c.First);
            w.WriteString("last", c.Last);
            w.WriteNumber("count", c.Count);
            w.WriteStartObject("group");
            for (var i = 0; i < c.Rule.GroupBy.Count && i < c.GroupValues.Count; i++)
            {
                w.WriteString(c.Rule.GroupBy[i], c.GroupValues[i]);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.ToArray();
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
        var set = await AcquireRuleSetAsync(scope, cancellationToken).ConfigureAwait(false);
        List<PendingMatch> pending;
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
            set.Batches++;
            set.LastActivity = _time.GetUtcNow();
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
        var batch = new List<NewAlert>(Math.Min(pending.Count, MaxAlertsPerTransaction));
        var sources = new List<PendingMatch>(batch.Capacity);
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
                    alert = CorrelationAlert(c, events[match.EventIndex]);
                }
                else
                {
                    var rule = match.Rule!;
                    alert = new NewAlert(rule.Id, rule.Title, rule.Level, rule.Author, rule.SourceFile, eventTime,
                        root is { } e ? EventFacts.ReadEntities(e) : AlertEntities.None, _attack.Resolve(rule.Id, rule.Tags), events[match.EventIndex], match.Fields);
                }

                MatchCounter.Add(1, new KeyValuePair<string, object?>("rule_id", alert.RuleId));
                batch.Add(alert);
                sources.Add(match);
                if (batch.Count == MaxAlertsPerTransaction)
                {
                    (created, merged, suppressed) = Add((created, merged, suppressed), await StoreAsync(scope, alerts, batch, sources, cancellationToken).ConfigureAwait(false));
                }
            }

            (created, merged, suppressed) = Add((created, merged, suppressed), await StoreAsync(scope, alerts, batch, sources, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            parsed?.Dispose();
        }

        BatchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new DetectionBatchResult(events.Count, pending.Count - correlations, correlations, created, merged, suppressed);
    }

    /// <summary>Matches stored in one transaction at most: a batch of events costs one commit, and a huge batch is split.</summary>
    internal const int MaxAlertsPerTransaction = 500;

    private static (int, int, int) Add((int Created, int Merged, int Suppressed) a, (int Created, int Merged, int Suppressed) b) =>
        (a.Created + b.Created, a.Merged + b.Merged, a.Suppressed + b.Suppressed);

    /// <summary>Stores the collected alerts in one transaction, then publishes the new ones (after the commit) and empties the lists.</summary>
    private async Task<(int Created, int Merged, int Suppressed)> StoreAsync(TenantScope scope, IAlertStore alerts, List<NewAlert> batch, List<PendingMatch> sources, CancellationToken cancellationToken)
    {
        int created = 0, merged = 0, suppressed = 0;
        if (batch.Count == 0)
        {
            return (0, 0, 0);
        }

        var writes = await alerts.RecordManyAsync(batch, _policy, _actor, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            switch (write.Outcome)
            {
                case AlertOutcome.Created:
                    created++;
                    if (_triggers is not null)
                    {
                        var match = sources[i];
                        await _triggers.AlertCreatedAsync(scope, new Response.AlertTrigger(batch[i], write, match.Correlation is not null, match.Correlation?.Count ?? 1,
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

        batch.Clear();
        sources.Clear();
        return (created, merged, suppressed);
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

    /// <summary>The tenant's current rule set with its gate held (a set replaced while waiting is skipped).</summary>
    private async Task<TenantRuleSet> AcquireRuleSetAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        while (true)
        {
            var set = await GetRuleSetAsync(scope, cancellationToken).ConfigureAwait(false);
            await set.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!set.Replaced)
            {
                return set;
            }

            set.Gate.Release();
        }
    }

    private async Task<TenantRuleSet> GetRuleSetAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var tenantId = scope.TenantId ?? throw new ArgumentException("An empty tenant scope cannot be used.", nameof(scope));
        var repository = await _repository.Value.ConfigureAwait(false);
        if (_tenants.TryGetValue(tenantId, out var set) && IsFresh(set, repository.Current, _time.GetUtcNow()))
        {
            return set;
        }

        var buildGate = _buildGates.GetOrAdd(tenantId, static _ => new SemaphoreSlim(1, 1));
        await buildGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var current = repository.Current;
            if (_tenants.TryGetValue(tenantId, out set) && IsFresh(set, current, now))
            {
                return set;
            }

            var alerts = _store.ForTenant(scope).Alerts;
            var stamp = await alerts.GetRulesStampAsync(cancellationToken).ConfigureAwait(false);
            if (set is not null && !set.Stale && ReferenceEquals(set.Base, current) && string.Equals(set.Stamp, stamp, StringComparison.Ordinal))
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

            var engine = uploads.Count == 0 ? current.Engine : await Task.Run(() => Build(current, uploads), cancellationToken).ConfigureAwait(false);
            var uploaded = new HashSet<string>(StringComparer.Ordinal);
            foreach (var u in uploads)
            {
                uploaded.Add(u.RuleId);
            }

            var next = new TenantRuleSet(current, engine, disabled, uploaded, stamp, _correlationOptions)
            {
                CheckedAt = now,
                // Quiet time is counted from the last batch of the set this one replaces, or from now.
                LastActivity = set is { LastActivity: var last } && last != default ? last : _time.GetUtcNow(),
            };
            if (set?.Correlation is null && next.Correlation is not null)
            {
                // First rule set of the tenant in this process (or the first with correlations): resume the windows of the last checkpoint.
                await RestoreCheckpointAsync(tenantId, alerts, next.Correlation, cancellationToken).ConfigureAwait(false);
            }

            if (set is null)
            {
                _tenants[tenantId] = next;
                return next;
            }

            // The rule set changed (tenant settings or a rule file reload): the windows carry over to the new set; state of
            // correlation rules that are gone is dropped. Batches waiting for the old set see it replaced and move on.
            await set.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (set.Correlation is not null && next.Correlation is not null)
                {
                    var carried = next.Correlation.Restore(set.Correlation.Snapshot());
                    if (carried.SkippedRules.Count > 0)
                    {
                        LogCorrelationStateDropped(_logger, tenantId, carried.SkippedRules.Count, carried.SkippedRules);
                    }

                    next.Batches = set.Batches == set.CheckpointedBatches ? 0 : 1;
                }

                set.Replaced = true;
                _tenants[tenantId] = next;
            }
            finally
            {
                set.Gate.Release();
            }

            return next;
        }
        finally
        {
            buildGate.Release();
        }
    }

    private bool IsFresh(TenantRuleSet set, RuleSetVersion current, DateTimeOffset now) =>
        !set.Stale && ReferenceEquals(set.Base, current) && now - set.CheckedAt < TimeSpan.FromSeconds(_options.RuleRefreshSeconds);

    private async Task RestoreCheckpointAsync(string tenantId, IAlertStore alerts, SigmaCorrelationEngine correlation, CancellationToken cancellationToken)
    {
        var state = await alerts.LoadCheckpointAsync(CheckpointKey, cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            return;
        }

        try
        {
            var restored = correlation.Restore(state);
            CheckpointCounter.Add(1, new KeyValuePair<string, object?>("outcome", "restored"));
            LogCheckpointRestored(_logger, tenantId, restored.Groups, restored.SkippedRules.Count);
        }
        catch (InvalidDataException ex)
        {
            // The windows start empty; the unreadable checkpoint is replaced by the next one.
            CheckpointCounter.Add(1, new KeyValuePair<string, object?>("outcome", "unreadable"));
            LogCheckpointUnreadable(_logger, ex, tenantId);
        }
    }

    private RuleRepository CreateRepository()
    {
        var repository = new RuleRepository(_options.RuleDirectories, new RuleRepositoryOptions
        {
            Mapping = _mapping,
            EngineOptions = EngineOptions(),
            Watch = _options.WatchRules,
        });
        LogRulesReport(repository.LastReport);
        repository.Reloaded += LogRulesReport;
        return repository;
    }

    private SigmaEngineOptions EngineOptions() => new()
    {
        MaxEventBytes = _options.MaxEventBytes,
        MaxJsonDepth = _options.MaxEventDepth,
        OnRuleQuarantined = q => LogRuleQuarantined(_logger, q.RuleId, q.Title, q.Reason),
    };

    private void LogRulesReport(RuleReloadReport report)
    {
        if (report.Error is { } error)
        {
            LogReloadFailed(_logger, report.Generation, error);
            return;
        }

        LogRulesLoaded(_logger, report.Generation, report.Rules, report.Rejections.Count, report.CorrelationRules);
        foreach (var kept in report.KeptPreviousVersion)
        {
            LogRuleEditRefused(_logger, kept.File, string.Join("; ", kept.Problems));
        }
    }

    private void OnCorrelationHealth(CorrelationHealthEvent e)
    {
        CorrelationHealthCounter.Add(1, new KeyValuePair<string, object?>("kind", e.Kind.ToString()));
        LogCorrelationHealth(_logger, e.RuleId, e.Kind.ToString(), e.Message);
    }

    private SigmaEngine Build(RuleSetVersion current, IReadOnlyList<TenantRule> uploads)
    {
        var builder = new SigmaEngineBuilder();
        foreach (var source in current.Sources)
        {
            builder.AddRuleYaml(source.Text, source.File);
        }

        foreach (var u in uploads)
        {
            builder.AddRuleYaml(u.Yaml!, "uploaded:" + u.RuleId);
        }

        if (_mapping is not null)
        {
            builder.UseMapping(_mapping);
        }

        return builder.WithOptions(EngineOptions()).Build();
    }

    /// <summary>Stops watching the rule directories.</summary>
    public void Dispose()
    {
        if (_repository.IsValueCreated && _repository.Value.IsCompletedSuccessfully)
        {
            _repository.Value.Result.Dispose();
        }

        _checkpointGate.Dispose();
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Detection rules loaded (generation {Generation}): {Rules} rules, {Rejected} rejected, {Correlations} correlation rules")]
    private static partial void LogRulesLoaded(ILogger logger, int generation, int rules, int rejected, int correlations);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Error, Message = "Detection rule reload {Generation} failed, the previous rules keep running: {Error}")]
    private static partial void LogReloadFailed(ILogger logger, int generation, string error);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "Rule file {File} was edited into an invalid rule; its previous version keeps running: {Problems}")]
    private static partial void LogRuleEditRefused(ILogger logger, string file, string problems);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Error, Message = "Rule {RuleId} ({Title}) was quarantined: {Reason}")]
    private static partial void LogRuleQuarantined(ILogger logger, string ruleId, string title, string reason);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "Correlation state of tenant {Tenant} restored from its checkpoint: {Groups} keys ({Skipped} rules no longer loaded)")]
    private static partial void LogCheckpointRestored(ILogger logger, string tenant, int groups, int skipped);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Error, Message = "Correlation checkpoint of tenant {Tenant} is unreadable; its windows start empty")]
    private static partial void LogCheckpointUnreadable(ILogger logger, Exception exception, string tenant);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Warning, Message = "Correlation health ({Kind}) of rule {RuleId}: {Message}")]
    private static partial void LogCorrelationHealth(ILogger logger, string ruleId, string kind, string message);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Information, Message = "Tenant {Tenant}: correlation state of {Count} rules that are no longer loaded was dropped ({Rules})")]
    private static partial void LogCorrelationStateDropped(ILogger logger, string tenant, int count, IReadOnlyList<string> rules);

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
        public TenantRuleSet(RuleSetVersion @base, SigmaEngine engine, HashSet<string> disabled, HashSet<string> uploaded, string stamp, CorrelationOptions correlationOptions)
        {
            Base = @base;
            Engine = engine;
            Disabled = disabled;
            Uploaded = uploaded;
            Stamp = stamp;
            Collector = new MatchCollector(disabled);
            OnCorrelation = Collector.OnCorrelation;
            Correlation = engine.CorrelationRules.Count > 0 ? new SigmaCorrelationEngine(engine, correlationOptions) : null;
        }

        /// <summary>The directory rule set this set was built on.</summary>
        public RuleSetVersion Base { get; }

        /// <summary>Batches processed (changed under <see cref="Gate"/>).</summary>
        public long Batches { get; set; }

        /// <summary>Wall-clock time of the last batch or clock advance (changed under <see cref="Gate"/>).</summary>
        public DateTimeOffset LastActivity { get; set; }

        /// <summary>Value of <see cref="Batches"/> at the last checkpoint saved.</summary>
        public long CheckpointedBatches { get; set; }

        /// <summary>Set (under <see cref="Gate"/>) when a newer set took over this one's state.</summary>
        public bool Replaced { get; set; }

        /// <summary>Set when the tenant's rule settings changed in this process.</summary>
        public bool Stale { get; set; }

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
