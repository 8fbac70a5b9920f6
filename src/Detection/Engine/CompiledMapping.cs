using System.Buffers.Binary;
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

/// <summary>
/// A container or leaf path of the JSON events read with one format, remembered by <see cref="CompiledFormat"/>:
/// the full dotted path, the slots a leaf at this path feeds, and the transition that reaches it (the parent
/// path and the property name as written in the JSON). Immutable once published.
/// </summary>
internal sealed class KnownPath
{
    public KnownPath(int id, KnownPath? parent, byte[] name, uint hash, string path, int[] slots)
    {
        Id = id;
        Parent = parent;
        Name = name;
        Hash = hash;
        Path = path;
        Slots = slots;
    }

    /// <summary>Number of the path within its format (0 is the root object, the others count from 1).</summary>
    public int Id { get; }

    /// <summary>The container path this one is a property of (null for the root).</summary>
    public KnownPath? Parent { get; }

    /// <summary>Property name of the last step, as written in the JSON (UTF-8, escapes not decoded).</summary>
    public byte[] Name { get; }

    public uint Hash { get; }

    /// <summary>Dotted path, as the flatten and dotted rules see it.</summary>
    public string Path { get; }

    /// <summary>Slots a leaf at this path feeds (array elements included).</summary>
    public int[] Slots { get; }
}

/// <summary>A <see cref="FormatMapping"/> resolved against the field registry.</summary>
internal sealed class CompiledFormat
{
    /// <summary>Most slots one leaf can feed.</summary>
    internal const int MaxSlotsPerLeaf = 8;

    /// <summary>Property names longer than this are never remembered as a path step.</summary>
    internal const int MaxCachedNameBytes = 256;

    /// <summary>Longest probe sequence of the path table: lookups cost at most this many comparisons.</summary>
    private const int MaxProbes = 32;

    private readonly Dictionary<string, int[]> _exact;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;

    // Path table: open addressing over (parent path id, property name), filled under _gate and read without
    // a lock. Slots are written once (null to a published path) and the array is replaced, never shrunk, when
    // it grows, so a reader sees either a path or an empty slot; a miss falls back to the locked insert.
    private readonly Lock _gate = new();
    private readonly ulong _seed = (ulong)Random.Shared.NextInt64();
    private KnownPath?[] _paths = new KnownPath?[64];
    private int _pathCount;

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
        Root = new KnownPath(0, null, [], 0, string.Empty, []);
    }

    public string Name { get; }

    public string Detect { get; }

    public bool Dotted { get; }

    public FlattenRule[] Flatten { get; }

    /// <summary>The root object (empty path).</summary>
    public KnownPath Root { get; }

    /// <summary>
    /// Leaf paths whose resolution is remembered (event shapes repeat; arbitrary keys stop being cached here),
    /// and likewise the number of paths in the path table.
    /// </summary>
    internal const int MaxCachedPaths = 4096;

    /// <summary>Number of paths in the path table (root excluded).</summary>
    internal int KnownPathCount => Volatile.Read(ref _pathCount);

    private readonly ConcurrentDictionary<string, int[]> _resolved = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _resolvedLookup;

    /// <summary>
    /// The remembered path reached from <paramref name="parent"/> by the property name <paramref name="name"/>
    /// (its JSON bytes as written), or null when it is not (yet) in the table. Lock-free.
    /// </summary>
    public KnownPath? Child(KnownPath parent, ReadOnlySpan<byte> name)
    {
        var paths = Volatile.Read(ref _paths);
        return Find(paths, parent, name, Hash(parent.Id, name));
    }

    /// <summary>
    /// Remembers the path <paramref name="path"/> (the dotted text of <paramref name="parent"/> followed by
    /// <paramref name="name"/>) and resolves its slots. Returns null when the table is full, the name is too
    /// long or its probe sequence is crowded: the caller then resolves by the path text (<see cref="Resolve"/>).
    /// </summary>
    public KnownPath? AddChild(KnownPath parent, ReadOnlySpan<byte> name, ReadOnlySpan<char> path, FieldRegistry registry)
    {
        // A full table takes no lock: past the bound, unknown names from any thread go straight to the caller.
        if (name.Length > MaxCachedNameBytes || Volatile.Read(ref _pathCount) >= MaxCachedPaths)
        {
            return null;
        }

        var hash = Hash(parent.Id, name);
        lock (_gate)
        {
            var paths = _paths;
            if (Find(paths, parent, name, hash) is { } known)
            {
                return known;
            }

            if (_pathCount >= MaxCachedPaths)
            {
                return null;
            }

            if ((_pathCount + 1) * 2 > paths.Length)
            {
                paths = Grow(paths);
            }

            Span<int> slots = stackalloc int[MaxSlotsPerLeaf];
            var count = ResolveUncached(path, registry, slots);
            var mask = paths.Length - 1;
            var i = (int)hash & mask;
            for (var probe = 0; probe < MaxProbes; probe++)
            {
                if (paths[i] is null)
                {
                    var added = new KnownPath(_pathCount + 1, parent, name.ToArray(), hash, path.ToString(), slots[..count].ToArray());
                    Volatile.Write(ref paths[i], added);
                    Volatile.Write(ref _pathCount, _pathCount + 1);
                    return added;
                }

                i = (i + 1) & mask;
            }

            return null;
        }
    }

    private static KnownPath? Find(KnownPath?[] paths, KnownPath parent, ReadOnlySpan<byte> name, uint hash)
    {
        var mask = paths.Length - 1;
        var i = (int)hash & mask;
        for (var probe = 0; probe < MaxProbes; probe++)
        {
            var p = paths[i];
            if (p is null)
            {
                return null;
            }

            if (p.Hash == hash && ReferenceEquals(p.Parent, parent) && name.SequenceEqual(p.Name))
            {
                return p;
            }

            i = (i + 1) & mask;
        }

        return null;
    }

    /// <summary>Copies the table into one twice the size and publishes it (under the lock).</summary>
    private KnownPath?[] Grow(KnownPath?[] paths)
    {
        var grown = new KnownPath?[paths.Length * 2];
        var mask = grown.Length - 1;
        foreach (var p in paths)
        {
            if (p is null)
            {
                continue;
            }

            var i = (int)p.Hash & mask;
            for (var probe = 0; probe < MaxProbes; probe++)
            {
                if (grown[i] is null)
                {
                    grown[i] = p;
                    break;
                }

                i = (i + 1) & mask;
            }
        }

        Volatile.Write(ref _paths, grown);
        return grown;
    }

    /// <summary>Seeded hash of a path step (the seed keeps crafted keys from choosing their table positions).</summary>
    private uint Hash(int parentId, ReadOnlySpan<byte> name)
    {
        var h = _seed ^ (((ulong)(uint)parentId << 32) | (uint)name.Length);
        h = Mix(h);
        while (name.Length >= 8)
        {
            h = Mix(h ^ BinaryPrimitives.ReadUInt64LittleEndian(name));
            name = name[8..];
        }

        if (name.Length >= 4)
        {
            h = Mix(h ^ (((ulong)BinaryPrimitives.ReadUInt32LittleEndian(name) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(name[^4..])));
        }
        else if (name.Length > 0)
        {
            h = Mix(h ^ (name[0] | ((ulong)name[name.Length >> 1] << 8) | ((ulong)name[^1] << 16)));
        }

        h ^= h >> 33;
        return (uint)h;
    }

    private static ulong Mix(ulong h)
    {
        h *= 0xbf58476d1ce4e5b9UL;
        return h ^ (h >> 31);
    }

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

    /// <summary>Resolves a leaf path from the mapping alone (no cache).</summary>
    internal int ResolveUncached(ReadOnlySpan<char> path, FieldRegistry registry, Span<int> slots)
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

    /// <summary>The <see cref="When"/> conditions, each numbered within the mapping, for memoised evaluation.</summary>
    public RouteCondition[] Conditions { get; set; } = [];

    /// <summary>True when the event has this entry's format and every condition holds (each evaluated once per event).</summary>
    public bool Matches(EventIndex index)
    {
        if (Format >= 0 && index.Format != Format)
        {
            return false;
        }

        foreach (var condition in Conditions)
        {
            if (!index.Holds(condition))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// A field tested by routing conditions, with every accepted (lower-cased) value mapped to the conditions that
/// accept it, so one look-up per value of the event decides all the conditions on the field at once.
/// </summary>
internal sealed class RouteField
{
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _accepting;

    public RouteField(int slot, int index, Dictionary<string, int[]> accepting)
    {
        Slot = slot;
        Index = index;
        _accepting = accepting.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Slot { get; }

    /// <summary>Position among the mapping's route fields.</summary>
    public int Index { get; }

    /// <summary>Conditions that accept <paramref name="loweredValue"/>.</summary>
    public bool TryGetAccepting(ReadOnlySpan<char> loweredValue, out int[] conditions) => _accepting.TryGetValue(loweredValue, out conditions!);
}

/// <summary>One routing condition: a field and its number among the mapping's conditions.</summary>
internal readonly record struct RouteCondition(RouteField Field, int Id);

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
        NumberConditions();

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

    /// <summary>Number of routing conditions (over all entries).</summary>
    public int ConditionCount { get; private set; }

    /// <summary>Number of distinct fields the routing conditions test.</summary>
    public int RouteFieldCount { get; private set; }

    /// <summary>Numbers every routing condition and groups them by field for <see cref="EventIndex.Holds"/>.</summary>
    private void NumberConditions()
    {
        var accepting = new Dictionary<int, Dictionary<string, List<int>>>();
        var id = 0;
        foreach (var ls in LogSources)
        {
            foreach (var (slot, values) in ls.When)
            {
                if (!accepting.TryGetValue(slot, out var byValue))
                {
                    accepting[slot] = byValue = new Dictionary<string, List<int>>(StringComparer.Ordinal);
                }

                foreach (var v in values)
                {
                    if (!byValue.TryGetValue(v, out var ids))
                    {
                        byValue[v] = ids = [];
                    }

                    if (!ids.Contains(id))
                    {
                        ids.Add(id);
                    }
                }

                id++;
            }
        }

        var fields = new Dictionary<int, RouteField>();
        foreach (var (slot, byValue) in accepting)
        {
            var frozen = new Dictionary<string, int[]>(StringComparer.Ordinal);
            foreach (var (v, ids) in byValue)
            {
                frozen[v] = [.. ids];
            }

            fields[slot] = new RouteField(slot, fields.Count, frozen);
        }

        id = 0;
        foreach (var ls in LogSources)
        {
            var conditions = new RouteCondition[ls.When.Length];
            for (var i = 0; i < conditions.Length; i++)
            {
                conditions[i] = new RouteCondition(fields[ls.When[i].Slot], id++);
            }

            ls.Conditions = conditions;
        }

        ConditionCount = id;
        RouteFieldCount = fields.Count;
    }

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
