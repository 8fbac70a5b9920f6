using System.Collections.Concurrent;
using McpSecurity.Core.Alerts;
using McpSecurity.Intel.Attack;

namespace McpSecurity.Server.Detection;

/// <summary>Counts of an ATT&amp;CK import.</summary>
/// <param name="Techniques">Techniques and sub-techniques.</param>
/// <param name="Tactics">Tactics.</param>
/// <param name="Groups">Groups.</param>
/// <param name="Software">Software.</param>
/// <param name="Mitigations">Mitigations.</param>
public sealed record AttackImportSummary(int Techniques, int Tactics, int Groups, int Software, int Mitigations);

/// <summary>
/// The ATT&amp;CK catalogue of the installation: one STIX bundle kept in the data directory
/// (<c>attack/enterprise-attack.json</c>, written by <c>mcpsec attack import</c>), shared by every tenant.
/// Resolves Sigma rule tags into technique and tactic names; tags it cannot resolve are kept with the
/// reason, never dropped. A newer file is picked up without a restart.
/// </summary>
public sealed class AttackLibrary
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(10);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, (AttackCatalogue? Catalogue, AlertAttack Attack)> _byRule = new(StringComparer.Ordinal);
    private AttackCatalogue? _catalogue;
    private DateTime _loadedWrite;
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;
    private string? _loadError;

    /// <summary>Uses the catalogue file under <paramref name="dataDir"/>.</summary>
    public AttackLibrary(string dataDir, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        _path = FilePath(dataDir);
        _time = time;
    }

    /// <summary>Where the catalogue of a data directory lives.</summary>
    public static string FilePath(string dataDir) => Path.Combine(dataDir, "attack", "enterprise-attack.json");

    /// <summary>Why the stored catalogue could not be loaded, or null.</summary>
    public string? LoadError => _loadError;

    /// <summary>
    /// Validates a STIX bundle by loading it, then installs it as the catalogue of <paramref name="dataDir"/>
    /// (written to a temporary file and moved into place, so readers never see half a file).
    /// </summary>
    public static AttackImportSummary Import(string dataDir, string bundlePath)
    {
        var catalogue = AttackCatalogue.LoadFile(bundlePath);
        var target = FilePath(dataDir);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = target + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.Copy(bundlePath, temp, overwrite: true);
        File.Move(temp, target, overwrite: true);
        return new AttackImportSummary(catalogue.Techniques.Count, catalogue.Tactics.Count, catalogue.Groups.Count, catalogue.Software.Count, catalogue.Mitigations.Count);
    }

    /// <summary>The loaded catalogue, or null when none is installed (or it failed to load; see <see cref="LoadError"/>).</summary>
    public AttackCatalogue? Catalogue
    {
        get
        {
            var now = _time.GetUtcNow();
            if (now - _checkedAt < CheckInterval)
            {
                return _catalogue;
            }

            lock (_gate)
            {
                if (now - _checkedAt < CheckInterval)
                {
                    return _catalogue;
                }

                // The check time is set only once the file has been looked at (and loaded), so callers arriving
                // while a large bundle loads wait on the lock instead of resolving against no catalogue.
                var info = new FileInfo(_path);
                if (!info.Exists)
                {
                    _catalogue = null;
                    _checkedAt = now;
                    return null;
                }

                if (_catalogue is not null && info.LastWriteTimeUtc == _loadedWrite)
                {
                    _checkedAt = now;
                    return _catalogue;
                }

                try
                {
                    _catalogue = AttackCatalogue.LoadFile(_path);
                    _loadedWrite = info.LastWriteTimeUtc;
                    _loadError = null;
                }
                catch (Exception ex) when (ex is AttackCatalogueException or IOException or UnauthorizedAccessException)
                {
                    _loadError = $"The ATT&CK catalogue '{_path}' could not be loaded: {ex.Message}";
                }

                _checkedAt = _time.GetUtcNow();
                return _catalogue;
            }
        }
    }

    /// <summary>ATT&amp;CK context for a rule's tags, cached per rule id.</summary>
    public AlertAttack Resolve(string ruleId, IReadOnlyList<string> tags)
    {
        // Cached per rule and per catalogue instance: a reloaded catalogue resolves every rule afresh.
        var catalogue = Catalogue;
        if (_byRule.TryGetValue(ruleId, out var cached) && ReferenceEquals(cached.Catalogue, catalogue))
        {
            return cached.Attack;
        }

        var attack = Resolve(catalogue, tags);
        _byRule[ruleId] = (catalogue, attack);
        return attack;
    }

    /// <summary>Resolves tags against a catalogue (or reports every <c>attack.*</c> tag as unresolved without one).</summary>
    public static AlertAttack Resolve(AttackCatalogue? catalogue, IReadOnlyList<string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var techniques = new List<AttackReference>();
        var tactics = new List<AttackReference>();
        var unresolved = new List<UnresolvedTag>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var resolved = new List<(string Tag, AttackTagResolution Resolution)>();
        foreach (var tag in tags)
        {
            if (!tag.StartsWith("attack.", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (catalogue is null)
            {
                unresolved.Add(new UnresolvedTag(tag, "No ATT&CK catalogue is loaded; run 'mcpsec attack import FILE'."));
                continue;
            }

            var resolution = catalogue.ResolveTag(tag);
            if (resolution.Object is null)
            {
                unresolved.Add(new UnresolvedTag(tag, resolution.Reason ?? "Not found in the loaded ATT&CK version."));
            }
            else
            {
                resolved.Add((tag, resolution));
            }
        }

        // Tactic tags first, so a tactic the rule names keeps its own tag rather than the technique's.
        foreach (var (tag, resolution) in resolved)
        {
            var obj = resolution.Object!;
            if (obj.Kind == AttackObjectKind.Tactic && seen.Add(obj.ExternalId))
            {
                tactics.Add(new AttackReference(obj.ExternalId, obj.Name, tag, resolution.Status == AttackTagStatus.Resolved ? null : resolution.Reason));
            }
        }

        foreach (var (tag, resolution) in resolved)
        {
            var obj = resolution.Object!;
            var note = resolution.Status == AttackTagStatus.Resolved ? null : resolution.Reason;
            switch (obj.Kind)
            {
                case AttackObjectKind.Tactic:
                    break;
                case AttackObjectKind.Technique:
                    if (seen.Add(obj.ExternalId))
                    {
                        techniques.Add(new AttackReference(obj.ExternalId, obj.Name, tag, note));
                    }

                    foreach (var tactic in catalogue!.TacticsOf(obj))
                    {
                        if (seen.Add(tactic.ExternalId))
                        {
                            tactics.Add(new AttackReference(tactic.ExternalId, tactic.Name, tag, "tactic of " + obj.ExternalId));
                        }
                    }

                    break;
                default:
                    // Groups, software and mitigations are neither techniques nor tactics; keep the tag visible.
                    unresolved.Add(new UnresolvedTag(tag, $"{obj.ExternalId} ({obj.Name}) is a {obj.Kind.ToString().ToLowerInvariant()}, not a technique or tactic."));
                    break;
            }
        }

        return techniques.Count == 0 && tactics.Count == 0 && unresolved.Count == 0 ? AlertAttack.Empty : new AlertAttack(techniques, tactics, unresolved);
    }
}
