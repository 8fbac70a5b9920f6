using McpSecurity.Detection.Mapping;
using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Rules;

/// <summary>Settings of a <see cref="RuleRepository"/>.</summary>
public sealed record RuleRepositoryOptions
{
    /// <summary>Field mapping (default: <see cref="FieldMappingConfig.Default"/>).</summary>
    public FieldMappingConfig? Mapping { get; init; }

    /// <summary>Rule reading options.</summary>
    public SigmaLoadOptions LoadOptions { get; init; } = new();

    /// <summary>Evaluation options of every engine built.</summary>
    public SigmaEngineOptions EngineOptions { get; init; } = new();

    /// <summary>Watch the directories and reload on change.</summary>
    public bool Watch { get; init; } = true;

    /// <summary>Quiet time after the last file change before reloading (editors write files in several steps).</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(300);
}

/// <summary>A rule file whose new version was refused; its previous version keeps running.</summary>
/// <param name="File">Rule file.</param>
/// <param name="Problems">Why the new version was refused (file:line:column: path: message).</param>
public sealed record RuleFileKept(string File, IReadOnlyList<string> Problems);

/// <summary>Outcome of one (re)load.</summary>
/// <param name="Generation">1 for the first load, then one more per reload.</param>
/// <param name="Rules">Detection rules in the engine now running.</param>
/// <param name="CorrelationRules">Correlation rules in the engine now running.</param>
/// <param name="Rejections">Rules rejected in the engine now running (files that never loaded cleanly).</param>
/// <param name="KeptPreviousVersion">Files whose broken edit was refused; their last good version runs.</param>
/// <param name="Error">When the whole reload failed (the previous engine keeps running): why.</param>
public sealed record RuleReloadReport(int Generation, int Rules, int CorrelationRules, IReadOnlyList<RuleRejection> Rejections, IReadOnlyList<RuleFileKept> KeptPreviousVersion, string? Error);

/// <summary>One rule file as it runs in the current engine: the text compiled (for a refused edit, the last good version).</summary>
/// <param name="File">Rule file.</param>
/// <param name="Text">YAML text compiled into the engine.</param>
public readonly record struct RuleSource(string File, string Text);

/// <summary>The engine running now together with the rule texts it was built from, swapped as one.</summary>
/// <param name="Engine">Engine to evaluate with.</param>
/// <param name="Sources">Rule texts compiled into <paramref name="Engine"/>, ordered by file.</param>
/// <param name="Generation">Reload generation that built it.</param>
public sealed record RuleSetVersion(SigmaEngine Engine, IReadOnlyList<RuleSource> Sources, int Generation);

/// <summary>
/// Sigma rules loaded from directories and kept up to date: a file watcher triggers a reload after changes
/// settle; each changed file is read on its own, and a file that used to load cleanly but now has an error
/// keeps its last good version (the edit is reported in <see cref="RuleReloadReport.KeptPreviousVersion"/>).
/// The new engine is built completely before it replaces the old one in a single reference swap, so callers
/// of <see cref="Engine"/> always see a whole rule set; evaluations already running finish on the old engine.
/// </summary>
public sealed class RuleRepository : IDisposable
{
    private readonly string[] _directories;
    private readonly RuleRepositoryOptions _options;
    private readonly Dictionary<string, (string Text, bool Clean, string[] Problems)> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _lastGood = new(StringComparer.Ordinal);
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Lock _gate = new();
    private readonly Timer _timer;
    private RuleSetVersion _version;
    private int _generation;
    private bool _disposed;

    /// <summary>Loads every rule under <paramref name="directories"/> and, unless disabled, starts watching them.</summary>
    public RuleRepository(IEnumerable<string> directories, RuleRepositoryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directories);
        _options = options ?? new RuleRepositoryOptions();
        _directories = [.. directories.Select(Path.GetFullPath)];
        foreach (var d in _directories)
        {
            if (!Directory.Exists(d))
            {
                throw new DirectoryNotFoundException($"Rule directory '{d}' does not exist.");
            }
        }

        _timer = new Timer(_ => ReloadFromWatcher());
        _version = null!;
        LastReport = Reload();
        if (_options.Watch)
        {
            foreach (var d in _directories)
            {
                var w = new FileSystemWatcher(d)
                {
                    IncludeSubdirectories = true,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
                w.Changed += OnChange;
                w.Created += OnChange;
                w.Deleted += OnChange;
                w.Renamed += OnChange;
                w.Error += (_, _) => Schedule();
                w.EnableRaisingEvents = true;
                _watchers.Add(w);
            }
        }
    }

    /// <summary>The engine to evaluate with now (replaced atomically on reload).</summary>
    public SigmaEngine Engine => Volatile.Read(ref _version).Engine;

    /// <summary>The engine running now with the rule texts it was built from (replaced atomically on reload).</summary>
    public RuleSetVersion Current => Volatile.Read(ref _version);

    /// <summary>The report of the latest (re)load.</summary>
    public RuleReloadReport LastReport { get; private set; }

    /// <summary>Raised after every reload, with its report (from the watcher's timer thread for automatic reloads). Must not throw.</summary>
    public event Action<RuleReloadReport>? Reloaded;

    /// <summary>Re-reads the directories now and swaps in a new engine; never throws for bad rules.</summary>
    public RuleReloadReport Reload()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RuleReloadReport report;
            try
            {
                report = ReloadCore();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                var engine = _version?.Engine;
                report = new RuleReloadReport(_generation, engine?.Rules.Count ?? 0, engine?.CorrelationRules.Count ?? 0, engine?.Rejections ?? [], [], $"{ex.GetType().Name}: {ex.Message}");
                DetectionMetrics.RecordReload("failed");
            }

            LastReport = report;
            Reloaded?.Invoke(report);
            return report;
        }
    }

    private RuleReloadReport ReloadCore()
    {
        var files = new List<string>();
        foreach (var d in _directories)
        {
            foreach (var f in Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            {
                if (f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase))
                {
                    files.Add(f);
                }
            }
        }

        files.Sort(StringComparer.Ordinal);
        var kept = new List<RuleFileKept>();
        var texts = new List<(string Text, string File)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var loader = new SigmaRuleLoader(_options.LoadOptions);
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Being written or removed right now: keep what ran before, the watcher will fire again.
                if (_lastGood.TryGetValue(file, out var previous))
                {
                    kept.Add(new RuleFileKept(file, [$"{file}: cannot be read: {ex.Message}"]));
                    texts.Add((previous, file));
                    seen.Add(file);
                }

                continue;
            }

            seen.Add(file);
            if (!_files.TryGetValue(file, out var cur) || cur.Text != text)
            {
                var trial = new SigmaLoadResult();
                loader.Load(text, file, trial);
                cur = (text, trial.Rejections.Count == 0, [.. trial.Rejections.Select(r => r.ToString())]);
                _files[file] = cur;
                if (!cur.Clean && _lastGood.TryGetValue(file, out var good))
                {
                    kept.Add(new RuleFileKept(file, cur.Problems));
                    texts.Add((good, file));
                    continue;
                }
            }
            else if (!cur.Clean && _lastGood.TryGetValue(file, out var good))
            {
                kept.Add(new RuleFileKept(file, cur.Problems));
                texts.Add((good, file));
                continue;
            }

            if (cur.Clean)
            {
                _lastGood[file] = text;
            }

            texts.Add((text, file));
        }

        foreach (var gone in _files.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _files.Remove(gone);
            _lastGood.Remove(gone);
        }

        var builder = new SigmaEngineBuilder().WithLoadOptions(_options.LoadOptions).WithOptions(_options.EngineOptions);
        if (_options.Mapping is not null)
        {
            builder.UseMapping(_options.Mapping);
        }

        var sources = new RuleSource[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            builder.AddRuleYaml(texts[i].Text, texts[i].File);
            sources[i] = new RuleSource(texts[i].File, texts[i].Text);
        }

        var engine = builder.Build();
        _generation++;
        var old = Interlocked.Exchange(ref _version, new RuleSetVersion(engine, sources, _generation));
        if (old is not null)
        {
            old.Engine.Retired = true;
        }

        DetectionMetrics.RecordReload(kept.Count > 0 ? "partial" : "ok");
        return new RuleReloadReport(_generation, engine.Rules.Count, engine.CorrelationRules.Count, engine.Rejections, kept, null);
    }

    private void OnChange(object sender, FileSystemEventArgs e) => Schedule();

    private void Schedule()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _timer.Change(_options.Debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void ReloadFromWatcher()
    {
        try
        {
            Reload();
        }
        catch (ObjectDisposedException)
        {
            // Disposed while a reload was pending.
        }
    }

    /// <summary>Stops watching.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (var w in _watchers)
        {
            w.Dispose();
        }

        _timer.Dispose();
    }
}
