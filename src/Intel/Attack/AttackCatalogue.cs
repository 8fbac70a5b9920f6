using System.Globalization;
using System.Text.Json;
using McpSecurity.Intel.Stix;

namespace McpSecurity.Intel.Attack;

/// <summary>
/// The MITRE ATT&amp;CK catalogue loaded from a STIX bundle: tactics, techniques and sub-techniques, groups,
/// software and mitigations, with lookups by ATT&amp;CK id and by Sigma tag.
/// </summary>
/// <remarks>
/// The bundle is streamed object by object (see <see cref="AttackCatalogueOptions"/> for the limits).
/// Revoked and deprecated objects are kept and flagged; lookups that resolve follow <c>revoked-by</c>
/// relationships to the replacement. Relationships whose ends are not in the bundle are ignored.
/// The catalogue is immutable after loading and safe to share between threads.
/// </remarks>
public sealed class AttackCatalogue
{
    private const int MaxRevocationHops = 16;

    private readonly Dictionary<string, AttackObject> _byExternalId;
    private readonly Dictionary<string, AttackObject> _byStixId;
    private readonly Dictionary<string, AttackObject> _tacticsByShortName;
    private readonly Dictionary<string, List<AttackObject>> _uses;
    private readonly Dictionary<string, List<AttackObject>> _mitigations;

    private AttackCatalogue(
        Dictionary<string, AttackObject> byStixId,
        Dictionary<string, AttackObject> byExternalId,
        Dictionary<string, AttackObject> tacticsByShortName,
        IReadOnlyList<AttackObject> tactics,
        Dictionary<string, List<AttackObject>> uses,
        Dictionary<string, List<AttackObject>> mitigations)
    {
        _byStixId = byStixId;
        _byExternalId = byExternalId;
        _tacticsByShortName = tacticsByShortName;
        _uses = uses;
        _mitigations = mitigations;
        Tactics = tactics;
        var techniques = new List<AttackObject>();
        var groups = new List<AttackObject>();
        var software = new List<AttackObject>();
        var mitigationList = new List<AttackObject>();
        foreach (var o in byStixId.Values)
        {
            (o.Kind switch
            {
                AttackObjectKind.Technique => techniques,
                AttackObjectKind.Group => groups,
                AttackObjectKind.Software => software,
                AttackObjectKind.Mitigation => mitigationList,
                AttackObjectKind.Tactic => null,
                _ => null,
            })?.Add(o);
        }

        Comparison<AttackObject> byId = (a, b) => string.CompareOrdinal(a.ExternalId, b.ExternalId);
        techniques.Sort(byId);
        groups.Sort(byId);
        software.Sort(byId);
        mitigationList.Sort(byId);
        Techniques = techniques;
        Groups = groups;
        Software = software;
        Mitigations = mitigationList;
    }

    /// <summary>The tactics, in matrix order (Reconnaissance first) when the bundle has a matrix.</summary>
    public IReadOnlyList<AttackObject> Tactics { get; }

    /// <summary>
    /// The ATT&amp;CK release of the bundle (such as <c>17.1</c>), from its <c>x-mitre-collection</c> object; null
    /// when the bundle does not say (a bundle assembled from single objects).
    /// </summary>
    public string? ReleaseVersion { get; private init; }

    /// <summary>All techniques and sub-techniques, revoked and deprecated ones included, ordered by id.</summary>
    public IReadOnlyList<AttackObject> Techniques { get; }

    /// <summary>All groups, ordered by id.</summary>
    public IReadOnlyList<AttackObject> Groups { get; }

    /// <summary>All software (malware and tools), ordered by id.</summary>
    public IReadOnlyList<AttackObject> Software { get; }

    /// <summary>All mitigations, ordered by id.</summary>
    public IReadOnlyList<AttackObject> Mitigations { get; }

    /// <summary>Loads the catalogue from a STIX bundle (such as MITRE's <c>enterprise-attack.json</c>).</summary>
    /// <param name="stream">The bundle; read to the end, not disposed.</param>
    /// <param name="options">Limits; <see cref="AttackCatalogueOptions.Default"/> when null.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="AttackCatalogueException">The input is not a well-formed STIX bundle within the limits.</exception>
    public static AttackCatalogue Load(Stream stream, AttackCatalogueOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= AttackCatalogueOptions.Default;
        var builder = new Builder(options.MaxObjects);
        bool isBundle;
        try
        {
            isBundle = StixBundleReader.ReadObjects(stream, options.MaxObjectBytes, options.MaxDepth, builder.Add);
        }
        catch (InvalidDataException ex)
        {
            throw new AttackCatalogueException("The ATT&CK bundle could not be read: " + ex.Message, ex);
        }

        if (!isBundle)
        {
            throw new AttackCatalogueException("The input is not a STIX bundle: it has no top-level 'objects' array.");
        }

        return builder.Build();
    }

    /// <summary>Loads the catalogue from a STIX bundle file.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="options">Limits; <see cref="AttackCatalogueOptions.Default"/> when null.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="AttackCatalogueException">The file is not a well-formed STIX bundle within the limits.</exception>
    public static AttackCatalogue LoadFile(string path, AttackCatalogueOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        try
        {
            return Load(stream, options);
        }
        catch (AttackCatalogueException ex)
        {
            throw new AttackCatalogueException(path + ": " + ex.Message, ex);
        }
    }

    /// <summary>Finds an object by ATT&amp;CK id (any case), revoked or not; an active object wins over a revoked one with the same id.</summary>
    /// <param name="externalId">The id, such as <c>T1059.001</c>, <c>ta0002</c>, <c>G0016</c>.</param>
    /// <returns>The object, or null.</returns>
    public AttackObject? Find(string externalId)
    {
        ArgumentNullException.ThrowIfNull(externalId);
        return _byExternalId.GetValueOrDefault(externalId.Trim());
    }

    /// <summary>Finds an object by STIX id.</summary>
    /// <param name="stixId">The STIX id, such as <c>attack-pattern--...</c>.</param>
    /// <returns>The object, or null.</returns>
    public AttackObject? FindByStixId(string stixId)
    {
        ArgumentNullException.ThrowIfNull(stixId);
        return _byStixId.GetValueOrDefault(stixId);
    }

    /// <summary>Finds a tactic by short name (<c>execution</c>, <c>command_and_control</c> works too) or by id.</summary>
    /// <param name="shortNameOrId">The short name or <c>TA</c> id.</param>
    /// <returns>The tactic, or null.</returns>
    public AttackObject? FindTactic(string shortNameOrId)
    {
        ArgumentNullException.ThrowIfNull(shortNameOrId);
        var key = shortNameOrId.Trim().Replace('_', '-');
        return _tacticsByShortName.TryGetValue(key, out var tactic) ? tactic
            : Find(key) is { Kind: AttackObjectKind.Tactic } byId ? byId : null;
    }

    /// <summary>Finds an object by id and follows <c>revoked-by</c> links to the object that replaces it.</summary>
    /// <param name="externalId">The ATT&amp;CK id.</param>
    /// <returns>The active replacement, the object itself when it is not revoked, or null when unknown.</returns>
    public AttackObject? Resolve(string externalId) => Find(externalId) is { } found ? Resolve(found) : null;

    /// <summary>Follows <c>revoked-by</c> links from an object to the one that replaces it.</summary>
    /// <param name="attackObject">The object.</param>
    /// <returns>The last object of the chain (the object itself when it is not revoked).</returns>
    public static AttackObject Resolve(AttackObject attackObject)
    {
        ArgumentNullException.ThrowIfNull(attackObject);
        var current = attackObject;
        for (var hops = 0; current.Revoked && current.RevokedBy is { } next && hops < MaxRevocationHops; hops++)
        {
            current = next;
        }

        return current;
    }

    /// <summary>The tactics of a technique, in matrix order.</summary>
    /// <param name="technique">The technique.</param>
    /// <returns>Its tactics; empty for other kinds.</returns>
    public IReadOnlyList<AttackObject> TacticsOf(AttackObject technique)
    {
        ArgumentNullException.ThrowIfNull(technique);
        var result = new List<AttackObject>();
        foreach (var tactic in Tactics)
        {
            foreach (var shortName in technique.TacticShortNames)
            {
                if (string.Equals(shortName, tactic.ShortName, StringComparison.Ordinal))
                {
                    result.Add(tactic);
                    break;
                }
            }
        }

        return result;
    }

    /// <summary>What a group or software uses (<c>uses</c> relationships): techniques, software.</summary>
    /// <param name="user">The group or software.</param>
    /// <returns>The objects used; empty when none are known.</returns>
    public IReadOnlyList<AttackObject> UsedBy(AttackObject user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return _uses.TryGetValue(user.StixId, out var list) ? list : [];
    }

    /// <summary>The mitigations of a technique (<c>mitigates</c> relationships).</summary>
    /// <param name="technique">The technique.</param>
    /// <returns>The mitigations; empty when none are known.</returns>
    public IReadOnlyList<AttackObject> MitigationsOf(AttackObject technique)
    {
        ArgumentNullException.ThrowIfNull(technique);
        return _mitigations.TryGetValue(technique.StixId, out var list) ? list : [];
    }

    /// <summary>
    /// Resolves a Sigma tag: <c>attack.t1059.001</c> (technique), <c>attack.execution</c> (tactic by short name,
    /// underscores accepted), <c>attack.ta0002</c>, <c>attack.g0016</c> (group), <c>attack.s0002</c> (software),
    /// <c>attack.m1038</c> (mitigation). Revoked objects resolve to their replacement.
    /// </summary>
    /// <param name="tag">The tag (any case).</param>
    /// <returns>The resolution; unknown tags are reported with a reason, never thrown.</returns>
    public AttackTagResolution ResolveTag(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        var trimmed = tag.Trim();
        if (!trimmed.StartsWith("attack.", StringComparison.OrdinalIgnoreCase))
        {
            return new(tag, AttackTagStatus.NotAttack, null, "The tag is not in the 'attack.' namespace.");
        }

        var rest = trimmed["attack.".Length..];
        var kind = IdKind(rest);
        if (kind is null)
        {
            var tactic = FindTactic(rest.ToLowerInvariant());
            return tactic is not null
                ? new(tag, AttackTagStatus.Resolved, tactic, null)
                : new(tag, AttackTagStatus.Unknown, null, string.Create(CultureInfo.InvariantCulture,
                    $"No tactic with the short name '{rest.ToLowerInvariant().Replace('_', '-')}' in the loaded ATT&CK version."));
        }

        var found = Find(rest);
        if (found is null)
        {
            return new(tag, AttackTagStatus.Unknown, null, kind == "data source"
                ? "ATT&CK data sources are not part of the loaded catalogue."
                : string.Create(CultureInfo.InvariantCulture, $"No {kind} with the id {rest.ToUpperInvariant()} in the loaded ATT&CK version."));
        }

        if (found.Revoked)
        {
            var replacement = Resolve(found);
            return replacement.Revoked
                ? new(tag, AttackTagStatus.Unknown, null, found.ExternalId + " is revoked and its replacement is not in the catalogue.")
                : new(tag, AttackTagStatus.Replaced, replacement, found.ExternalId + " is revoked; replaced by " + replacement.ExternalId + ".");
        }

        return found.Deprecated
            ? new(tag, AttackTagStatus.Deprecated, found, found.ExternalId + " is deprecated.")
            : new(tag, AttackTagStatus.Resolved, found, null);
    }

    private static string? IdKind(string s)
    {
        var digits = 1;
        string kind;
        if (s.Length > 2 && (s[0] | 0x20) == 't' && (s[1] | 0x20) == 'a' && char.IsAsciiDigit(s[2]))
        {
            digits = 2;
            kind = "tactic";
        }
        else if (s.Length > 2 && (s[0] | 0x20) == 'd' && (s[1] | 0x20) == 's' && char.IsAsciiDigit(s[2]))
        {
            digits = 2;
            kind = "data source";
        }
        else if (s.Length > 1 && char.IsAsciiDigit(s[1]))
        {
            kind = (s[0] | 0x20) switch
            {
                't' => "technique",
                'g' => "group",
                's' => "software",
                'm' => "mitigation",
                _ => string.Empty,
            };
            if (kind.Length == 0)
            {
                return null;
            }
        }
        else
        {
            return null;
        }

        for (var i = digits; i < s.Length; i++)
        {
            if (!char.IsAsciiDigit(s[i]) && !(s[i] == '.' && kind == "technique"))
            {
                return null;
            }
        }

        return kind;
    }

    private sealed class Builder(int maxObjects)
    {
        private readonly Dictionary<string, AttackObject> _byStixId = new(StringComparer.Ordinal);
        private readonly List<(string Type, string Source, string Target)> _relationships = [];
        private readonly List<string> _matrixTacticRefs = [];
        private int _count;

        public string? ReleaseVersion { get; private set; }

        public void Add(JsonElement o)
        {
            if (++_count > maxObjects)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"The bundle has more than {maxObjects} objects (AttackCatalogueOptions.MaxObjects)."));
            }

            if (o.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            var type = GetString(o, "type");
            switch (type)
            {
                case "x-mitre-collection":
                    // Present in MITRE's release bundles: the ATT&CK release the bundle is (such as "17.1").
                    ReleaseVersion ??= GetString(o, "x_mitre_version");
                    return;
                case "relationship":
                    var relationshipType = GetString(o, "relationship_type");
                    var source = GetString(o, "source_ref");
                    var target = GetString(o, "target_ref");
                    if (relationshipType is "revoked-by" or "uses" or "mitigates" && source is not null && target is not null)
                    {
                        _relationships.Add((relationshipType, source, target));
                    }

                    return;
                case "x-mitre-matrix":
                    if (o.TryGetProperty("tactic_refs", out var refs) && refs.ValueKind == JsonValueKind.Array && _matrixTacticRefs.Count == 0)
                    {
                        foreach (var r in refs.EnumerateArray())
                        {
                            if (r.ValueKind == JsonValueKind.String)
                            {
                                _matrixTacticRefs.Add(r.GetString()!);
                            }
                        }
                    }

                    return;
            }

            AttackObjectKind kind;
            switch (type)
            {
                case "x-mitre-tactic":
                    kind = AttackObjectKind.Tactic;
                    break;
                case "attack-pattern":
                    kind = AttackObjectKind.Technique;
                    break;
                case "intrusion-set":
                    kind = AttackObjectKind.Group;
                    break;
                case "malware" or "tool":
                    kind = AttackObjectKind.Software;
                    break;
                case "course-of-action":
                    kind = AttackObjectKind.Mitigation;
                    break;
                default:
                    return;
            }

            var stixId = GetString(o, "id");
            var (externalId, url) = MitreReference(o);
            if (stixId is null || externalId is null)
            {
                return; // objects without an ATT&CK id (none in MITRE's data) cannot be looked up
            }

            _byStixId[stixId] = new AttackObject
            {
                Kind = kind,
                ExternalId = externalId.ToUpperInvariant(),
                StixId = stixId,
                Name = GetString(o, "name") ?? externalId,
                Url = url,
                Revoked = GetBool(o, "revoked"),
                Deprecated = GetBool(o, "x_mitre_deprecated"),
                ShortName = kind == AttackObjectKind.Tactic ? GetString(o, "x_mitre_shortname") : null,
                TacticShortNames = kind == AttackObjectKind.Technique ? KillChainPhases(o) : [],
                Platforms = GetStrings(o, "x_mitre_platforms"),
                Aliases = kind == AttackObjectKind.Group ? GetStrings(o, "aliases") : kind == AttackObjectKind.Software ? GetStrings(o, "x_mitre_aliases") : [],
                IsSubtechnique = kind == AttackObjectKind.Technique && (GetBool(o, "x_mitre_is_subtechnique") || externalId.Contains('.', StringComparison.Ordinal)),
                SoftwareType = kind == AttackObjectKind.Software ? type : null,
            };
        }

        public AttackCatalogue Build()
        {
            var byExternalId = new Dictionary<string, AttackObject>(StringComparer.OrdinalIgnoreCase);
            var tacticsByShortName = new Dictionary<string, AttackObject>(StringComparer.OrdinalIgnoreCase);
            foreach (var o in _byStixId.Values)
            {
                if (!byExternalId.TryGetValue(o.ExternalId, out var existing) || (!existing.IsActive && o.IsActive))
                {
                    byExternalId[o.ExternalId] = o;
                }

                if (o.ShortName is not null)
                {
                    tacticsByShortName.TryAdd(o.ShortName, o);
                }
            }

            var uses = new Dictionary<string, List<AttackObject>>(StringComparer.Ordinal);
            var mitigations = new Dictionary<string, List<AttackObject>>(StringComparer.Ordinal);
            foreach (var (type, source, target) in _relationships)
            {
                if (!_byStixId.TryGetValue(source, out var from) || !_byStixId.TryGetValue(target, out var to))
                {
                    continue; // dangling ends (campaigns, detection strategies) are not loaded
                }

                switch (type)
                {
                    case "revoked-by":
                        from.RevokedBy = to;
                        break;
                    case "uses":
                        Append(uses, source, to);
                        break;
                    default:
                        Append(mitigations, target, from);
                        break;
                }
            }

            var tactics = new List<AttackObject>();
            foreach (var stixId in _matrixTacticRefs)
            {
                if (_byStixId.TryGetValue(stixId, out var tactic) && tactic.Kind == AttackObjectKind.Tactic)
                {
                    tactics.Add(tactic);
                }
            }

            foreach (var o in _byStixId.Values)
            {
                if (o.Kind == AttackObjectKind.Tactic && !tactics.Contains(o))
                {
                    tactics.Add(o);
                }
            }

            return new AttackCatalogue(_byStixId, byExternalId, tacticsByShortName, tactics, uses, mitigations) { ReleaseVersion = ReleaseVersion };
        }

        private static void Append(Dictionary<string, List<AttackObject>> map, string key, AttackObject value)
        {
            if (!map.TryGetValue(key, out var list))
            {
                map[key] = list = [];
            }

            list.Add(value);
        }

        private static (string? Id, string? Url) MitreReference(JsonElement o)
        {
            if (!o.TryGetProperty("external_references", out var refs) || refs.ValueKind != JsonValueKind.Array)
            {
                return (null, null);
            }

            foreach (var r in refs.EnumerateArray())
            {
                if (r.ValueKind == JsonValueKind.Object && GetString(r, "source_name") == "mitre-attack" && GetString(r, "external_id") is { } id)
                {
                    return (id, GetString(r, "url"));
                }
            }

            return (null, null);
        }

        private static List<string> KillChainPhases(JsonElement o)
        {
            var result = new List<string>();
            if (o.TryGetProperty("kill_chain_phases", out var phases) && phases.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in phases.EnumerateArray())
                {
                    if (p.ValueKind == JsonValueKind.Object && GetString(p, "kill_chain_name") == "mitre-attack" && GetString(p, "phase_name") is { } name)
                    {
                        result.Add(name);
                    }
                }
            }

            return result;
        }

        private static string? GetString(JsonElement o, string name) =>
            o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static bool GetBool(JsonElement o, string name) =>
            o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

        private static List<string> GetStrings(JsonElement o, string name)
        {
            var result = new List<string>();
            if (o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in v.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        result.Add(item.GetString()!);
                    }
                }
            }

            return result;
        }
    }
}
