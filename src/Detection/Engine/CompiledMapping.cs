using System.Collections.Concurrent;
using McpSecurity.Detection.Mapping;

namespace McpSecurity.Detection.Engine;

/// <summary>Sigma field names known to the engine, each with a slot number (case-insensitive).</summary>
internal sealed class FieldRegistry
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.OrdinalIgnoreCase);
    private Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private bool _frozen;

    public List<string> Names { get; } = [];

    public int Count => Names.Count;

    public int GetOrAdd(string name)
    {
        if (_frozen)
        {
            throw new InvalidOperationException("The field registry is frozen.");
        }

        if (!_ids.TryGetValue(name, out var id))
        {
            id = Names.Count;
            _ids[name] = id;
            Names.Add(name);
        }

        return id;
    }

    public void Freeze()
    {
        _frozen = true;
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGet(ReadOnlySpan<char> name, out int id) => _lookup.TryGetValue(name, out id);

    public bool TryGet(string name, out int id) => _ids.TryGetValue(name, out id);
}

/// <summary>A <see cref="FormatMapping"/> resolved against the field registry.</summary>
internal sealed class CompiledFormat
{
    private readonly Dictionary<string, int[]> _exact;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;

    public CompiledFormat(FormatMapping mapping, FieldRegistry registry)
    {
        Name = mapping.Name;
        Detect = mapping.Detect;
        Dotted = mapping.Dotted;
        Flatten = [.. mapping.Flatten];
        _exact = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (path, names) in mapping.Fields)
        {
            var slots = new List<int>();
            foreach (var n in names)
            {
                if (registry.TryGet(n, out var id))
                {
                    slots.Add(id);
                }
            }

            if (slots.Count > 0)
            {
                _exact[path] = [.. slots];
            }
        }

        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _resolvedLookup = _resolved.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public string Name { get; }

    public string Detect { get; }

    public bool Dotted { get; }

    public FlattenRule[] Flatten { get; }

    /// <summary>Leaf paths whose resolution is remembered (event shapes repeat; arbitrary keys stop being cached here).</summary>
    internal const int MaxCachedPaths = 4096;

    private readonly ConcurrentDictionary<string, int[]> _resolved = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _resolvedLookup;

    /// <summary>
    /// Writes the slots a leaf path feeds into <paramref name="slots"/> (at most its length); returns how many.
    /// The answer for a path is computed once and then read from a bounded cache.
    /// </summary>
    public int Resolve(ReadOnlySpan<char> path, FieldRegistry registry, Span<int> slots)
    {
        if (_resolvedLookup.TryGetValue(path, out var cached))
        {
            cached.CopyTo(slots);
            return cached.Length;
        }

        var count = ResolveUncached(path, registry, slots);
        if (_resolved.Count < MaxCachedPaths)
        {
            _resolvedLookup.TryAdd(path, slots[..count].ToArray());
        }

        return count;
    }

    private int ResolveUncached(ReadOnlySpan<char> path, FieldRegistry registry, Span<int> slots)
    {
        var count = 0;
        if (_exactLookup.TryGetValue(path, out var exact))
        {
            foreach (var s in exact)
            {
                count = Add(slots, count, s);
            }
        }

        foreach (var rule in Flatten)
        {
            var prefix = rule.Prefix.AsSpan();
            if (path.Length <= prefix.Length + 1 || path[prefix.Length] != '.' || !path.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = path[(prefix.Length + 1)..];
            if (rest.Count('.') >= rule.Depth || rest.IndexOf("#attributes", StringComparison.Ordinal) >= 0)
            {
                continue;
            }

            var lastDot = rest.LastIndexOf('.');
            var leaf = lastDot < 0 ? rest : rest[(lastDot + 1)..];
            if (leaf.Contains(' '))
            {
                if (TryGetWithoutSpaces(registry, leaf, out var sid))
                {
                    count = Add(slots, count, sid);
                }
            }
            else if (registry.TryGet(leaf, out var id))
            {
                count = Add(slots, count, id);
            }
        }

        if (Dotted && registry.TryGet(path, out var dotted))
        {
            count = Add(slots, count, dotted);
        }

        return count;
    }

    /// <summary>Event keys such as "Threat Name" are addressed without spaces ("ThreatName").</summary>
    private static bool TryGetWithoutSpaces(FieldRegistry registry, ReadOnlySpan<char> leaf, out int id)
    {
        Span<char> buffer = stackalloc char[256];
        var n = 0;
        foreach (var c in leaf)
        {
            if (c != ' ' && n < buffer.Length)
            {
                buffer[n++] = c;
            }
        }

        return registry.TryGet(buffer[..n], out id);
    }

    private static int Add(Span<int> slots, int count, int slot)
    {
        if (count >= slots.Length || slots[..count].Contains(slot))
        {
            return count;
        }

        slots[count] = slot;
        return count + 1;
    }
}

/// <summary>A <see cref="LogSourceMapping"/> resolved against the registry and the formats.</summary>
internal sealed class CompiledLogSource
{
    public required LogSourceMapping Source { get; init; }

    /// <summary>Format index the entry is limited to, or -1.</summary>
    public required int Format { get; init; }

    /// <summary>Conditions: slot and lower-cased accepted values.</summary>
    public required (int Slot, string[] Values)[] When { get; init; }

    public required (int From, int To)[] Renames { get; init; }

    /// <summary>Position in <see cref="CompiledMapping.LogSources"/>.</summary>
    public int Index { get; init; }

    /// <summary>Rule groups whose logsource this entry satisfies.</summary>
    public int[] Groups { get; set; } = [];

    public bool Matches(EventIndex index)
    {
        if (Format >= 0 && index.Format != Format)
        {
            return false;
        }

        foreach (var (slot, values) in When)
        {
            if (!index.AnyValueEquals(slot, values))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>The whole mapping resolved for one engine.</summary>
internal sealed class CompiledMapping
{
    public CompiledMapping(FieldMappingConfig config, FieldRegistry registry)
    {
        Registry = registry;
        if (config.LogSourceFields is { } self)
        {
            SelfSlots = [Slot(self.Product), Slot(self.Category), Slot(self.Service)];
        }

        var formats = new List<CompiledFormat>();
        foreach (var f in config.Formats)
        {
            formats.Add(new CompiledFormat(f, registry));
        }

        Formats = [.. formats];
        var sources = new List<CompiledLogSource>();
        foreach (var ls in config.LogSources)
        {
            var when = new List<(int, string[])>();
            foreach (var (field, values) in ls.When)
            {
                var lowered = new string[values.Count];
                for (var i = 0; i < lowered.Length; i++)
                {
                    lowered[i] = values[i].ToLowerInvariant();
                }

                when.Add((registry.GetOrAddFrozen(field), lowered));
            }

            var renames = new List<(int, int)>();
            foreach (var (from, to) in ls.Rename)
            {
                renames.Add((registry.GetOrAddFrozen(from), registry.GetOrAddFrozen(to)));
            }

            sources.Add(new CompiledLogSource
            {
                Index = sources.Count,
                Source = ls,
                Format = ls.Format is null ? -1 : formats.FindIndex(f => f.Name == ls.Format),
                When = [.. when],
                Renames = [.. renames],
            });
        }

        LogSources = [.. sources];

        // Routing index: entries are looked up by the value of the field most of them test (the channel for
        // Windows), so an event is checked against a handful of entries instead of all of them.
        var usage = new Dictionary<int, int>();
        foreach (var ls in LogSources)
        {
            foreach (var (slot, _) in ls.When)
            {
                usage[slot] = usage.GetValueOrDefault(slot) + 1;
            }
        }

        RouteSlot = -1;
        foreach (var (slot, uses) in usage)
        {
            if (RouteSlot < 0 || uses > usage[RouteSlot])
            {
                RouteSlot = slot;
            }
        }

        var keyed = new Dictionary<string, List<CompiledLogSource>>(StringComparer.Ordinal);
        var unkeyed = new List<CompiledLogSource>();
        foreach (var ls in LogSources)
        {
            var found = false;
            foreach (var (slot, values) in ls.When)
            {
                if (slot != RouteSlot)
                {
                    continue;
                }

                found = true;
                foreach (var v in values)
                {
                    if (!keyed.TryGetValue(v, out var list))
                    {
                        keyed[v] = list = [];
                    }

                    if (!list.Contains(ls))
                    {
                        list.Add(ls);
                    }
                }
            }

            if (!found)
            {
                unkeyed.Add(ls);
            }
        }

        var byValue = new Dictionary<string, CompiledLogSource[]>(StringComparer.Ordinal);
        foreach (var (k, list) in keyed)
        {
            byValue[k] = [.. list];
        }

        _byRouteValue = byValue.GetAlternateLookup<ReadOnlySpan<char>>();
        Unkeyed = [.. unkeyed];
    }

    private readonly Dictionary<string, CompiledLogSource[]>.AlternateLookup<ReadOnlySpan<char>> _byRouteValue;

    /// <summary>Field whose value indexes the routing entries, or -1.</summary>
    public int RouteSlot { get; }

    /// <summary>Entries that do not test <see cref="RouteSlot"/>; always checked.</summary>
    public CompiledLogSource[] Unkeyed { get; }

    /// <summary>Routing entries that test <see cref="RouteSlot"/> for this lower-cased value.</summary>
    public bool TryGetRouted(ReadOnlySpan<char> loweredValue, out CompiledLogSource[] entries) =>
        _byRouteValue.TryGetValue(loweredValue, out entries!);

    public FieldRegistry Registry { get; }

    private int Slot(string? field) => field is null ? -1 : Registry.GetOrAddFrozen(field);

    public CompiledFormat[] Formats { get; }

    public CompiledLogSource[] LogSources { get; }

    /// <summary>Slots of the self-described logsource fields (product, category, service), -1 when not configured.</summary>
    public int[] SelfSlots { get; } = [-1, -1, -1];

    private Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _selfGroups;

    /// <summary>True when events can name their own logsource.</summary>
    public bool HasSelfDescribed { get; private set; }

    /// <summary>Indexes rule groups by their "product|category|service" key (absent keys empty).</summary>
    public void SetSelfDescribedGroups(Dictionary<string, int[]> groups)
    {
        _selfGroups = groups.GetAlternateLookup<ReadOnlySpan<char>>();
        HasSelfDescribed = SelfSlots[0] >= 0 || SelfSlots[1] >= 0 || SelfSlots[2] >= 0;
    }

    /// <summary>Groups whose logsource key is exactly <paramref name="key"/>.</summary>
    public bool TryGetSelfDescribed(ReadOnlySpan<char> key, out int[] groups) => _selfGroups.TryGetValue(key, out groups!);

    /// <summary>The separator used in self-described group keys.</summary>
    public const char KeySeparator = '\u001f';

    /// <summary>Registers the fields a mapping needs before the registry is frozen.</summary>
    public static void RegisterFields(FieldMappingConfig config, FieldRegistry registry)
    {
        if (config.LogSourceFields is { } self)
        {
            foreach (var f in new[] { self.Product, self.Category, self.Service })
            {
                if (f is not null)
                {
                    registry.GetOrAdd(f);
                }
            }
        }

        foreach (var ls in config.LogSources)
        {
            foreach (var field in ls.When.Keys)
            {
                registry.GetOrAdd(field);
            }

            foreach (var (from, to) in ls.Rename)
            {
                registry.GetOrAdd(from);
                registry.GetOrAdd(to);
            }
        }
    }
}

/// <summary>Registry helpers used after freezing.</summary>
internal static class FieldRegistryExtensions
{
    /// <summary>Returns the slot of a field that must already be registered.</summary>
    public static int GetOrAddFrozen(this FieldRegistry registry, string name) =>
        registry.TryGet(name, out var id) ? id : throw new InvalidOperationException($"Field '{name}' was not registered.");
}
