using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// Flat field index of one event, rebuilt in place for every event: values are decoded once into a shared
/// character buffer (original and lower-cased), and each Sigma field slot points to a chain of values.
/// Only leaves that some rule or routing entry reads are decoded. Buffers grow to the largest event seen
/// and are then reused, so indexing allocates nothing in steady state.
/// </summary>
internal sealed class EventIndex
{
    private char[] _raw = new char[4096];
    private char[] _lower = new char[4096];
    private int _chars;
    private int[] _valStart = new int[64];
    private int[] _valLen = new int[64];
    private bool[] _valNull = new bool[64];
    private int[] _nodeValue = new int[64];
    private int[] _nodeNext = new int[64];
    private int _nodes;
    private int[] _slotHead = [];
    private int[] _slotTail = [];
    private int[] _slotStamp = [];
    private int _stamp;

    // Routing conditions decided for the current event (see Holds): a field or condition is decided when its
    // stamp equals _routeStamp; a condition holds when its stamp does.
    private int[] _fieldStamp = [];
    private int[] _conditionStamp = [];
    private int _routeStamp;
    private int[]? _compact;
    private int _compactBits;
    private char[] _path = new char[256];
    private int[] _lenStack = new int[16];
    private bool[] _arrStack = new bool[16];
    private KnownPath?[] _pathStack = new KnownPath?[16];
    private KnownPath?[] _prevStack = new KnownPath?[16];

    // Property order of recent events, for skipping the path-table lookup: entry 2*id is the first property
    // seen in container path id, entry 2*id+1 the property seen after property path id. A hint only: a
    // prediction is used when its parent and name match (which also rejects paths of other formats).
    private KnownPath?[] _predicted = [];

    /// <summary>Number of decoded values.</summary>
    public int ValueCount { get; private set; }

    /// <summary>Index of the format the event was read with.</summary>
    public int Format { get; private set; }

    /// <summary>Original text of a value.</summary>
    public ReadOnlySpan<char> Raw(int value) => _raw.AsSpan(_valStart[value], _valLen[value]);

    /// <summary>Lower-cased text of a value.</summary>
    public ReadOnlySpan<char> Lower(int value) => _lower.AsSpan(_valStart[value], _valLen[value]);

    /// <summary>
    /// Lower-cased text of every decoded value, each followed by U+0000: a literal without U+0000 occurs in it
    /// exactly when it occurs in one of the values, so one search covers them all (keywords).
    /// </summary>
    public ReadOnlySpan<char> AllLower => _lower.AsSpan(0, _chars);

    /// <summary>True when the value is JSON null.</summary>
    public bool IsNull(int value) => _valNull[value];

    /// <summary>First chain node of a slot, or -1 when the event has no such field.</summary>
    public int Head(int slot) => _compact is null ? (_slotStamp[slot] == _stamp ? _slotHead[slot] : -1) : CompactHead(_compact, slot);

    /// <summary>Looks a slot up in the table of a prepared index (pairs of slot + 1 and head, linear probing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CompactHead(int[] table, int slot)
    {
        for (var i = CompactHash(slot, _compactBits); ; i = (i + 1) & ((1 << _compactBits) - 1))
        {
            var key = table[2 * i];
            if (key == slot + 1)
            {
                return table[(2 * i) + 1];
            }

            if (key == 0)
            {
                return -1;
            }
        }
    }

    private static int CompactHash(int slot, int bits) => (int)(((uint)slot * 0x9E3779B1u) >> (32 - bits));

    /// <summary>Next chain node, or -1.</summary>
    public int Next(int node) => _nodeNext[node];

    /// <summary>Value index of a chain node.</summary>
    public int ValueOf(int node) => _nodeValue[node];

    /// <summary>
    /// True when some value of the condition's field is one of the values it accepts. The first condition asked
    /// about a field decides every condition on that field (one look-up per value); later ones read the result.
    /// </summary>
    public bool Holds(RouteCondition condition)
    {
        var field = condition.Field;
        if (_fieldStamp[field.Index] != _routeStamp)
        {
            _fieldStamp[field.Index] = _routeStamp;
            for (var n = Head(field.Slot); n >= 0; n = _nodeNext[n])
            {
                var v = _nodeValue[n];
                if (!_valNull[v] && field.TryGetAccepting(Lower(v), out var accepting))
                {
                    foreach (var id in accepting)
                    {
                        _conditionStamp[id] = _routeStamp;
                    }
                }
            }
        }

        return _conditionStamp[condition.Id] == _routeStamp;
    }

    /// <summary>Forgets the routing conditions decided so far (the event's values changed).</summary>
    private void NextRouteStamp()
    {
        if (++_routeStamp == int.MaxValue)
        {
            Array.Clear(_fieldStamp);
            Array.Clear(_conditionStamp);
            _routeStamp = 1;
        }
    }

    /// <summary>Makes <paramref name="to"/> read the values of <paramref name="from"/> when it has none of its own.</summary>
    public void Alias(int from, int to)
    {
        if (_compact is not null)
        {
            throw new InvalidOperationException("A prepared event index cannot be changed.");
        }

        var head = Head(from);
        if (head >= 0 && Head(to) < 0)
        {
            NextRouteStamp();
            _slotStamp[to] = _stamp;
            _slotHead[to] = head;
            _slotTail[to] = _slotTail[from];
        }
    }

    /// <summary>
    /// Indexes <paramref name="json"/>. Throws <see cref="JsonException"/> (or <see cref="InvalidOperationException"/>
    /// for invalid UTF-8) on malformed input; returns false when the root is not an object. Comments are
    /// accepted: an event that fails to parse without them and contains a '/' is read again skipping comments.
    /// </summary>
    public bool Build(ReadOnlySpan<byte> json, CompiledMapping mapping, bool indexAll, int maxDepth)
    {
        try
        {
            return Build(json, mapping, indexAll, maxDepth, JsonCommentHandling.Disallow);
        }
        catch (JsonException)
        {
            if (!json.Contains((byte)'/'))
            {
                throw;
            }
        }

        return Build(json, mapping, indexAll, maxDepth, JsonCommentHandling.Skip);
    }

    private bool Build(ReadOnlySpan<byte> json, CompiledMapping mapping, bool indexAll, int maxDepth, JsonCommentHandling comments)
    {
        var registry = mapping.Registry;
        _compact = null;
        if (_slotStamp.Length < registry.Count)
        {
            _slotHead = new int[registry.Count];
            _slotTail = new int[registry.Count];
            _slotStamp = new int[registry.Count];
        }

        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_slotStamp);
            _stamp = 1;
        }

        if (_conditionStamp.Length < mapping.ConditionCount || _fieldStamp.Length < mapping.RouteFieldCount)
        {
            _conditionStamp = new int[mapping.ConditionCount];
            _fieldStamp = new int[mapping.RouteFieldCount];
            _routeStamp = 0;
        }

        NextRouteStamp();
        _chars = 0;
        _nodes = 0;
        ValueCount = 0;
        Format = mapping.Formats.Length - 1;
        if (_lenStack.Length < maxDepth + 2)
        {
            _lenStack = new int[maxDepth + 2];
            _arrStack = new bool[maxDepth + 2];
            _pathStack = new KnownPath?[maxDepth + 2];
            _prevStack = new KnownPath?[maxDepth + 2];
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth, CommentHandling = comments });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        // A path is tracked as a remembered KnownPath of the format while the table knows it; past that (table
        // full, very long names) as dotted text in _path, and so are all paths below it. Array elements keep
        // the path of the array.
        var top = 0;
        _arrStack[0] = false;
        KnownPath? container = null;
        KnownPath? prop = null;
        KnownPath? prev = null;
        var containerLen = 0;
        var propLen = 0;
        var formatChosen = false;
        var format = mapping.Formats[Format];
        Span<int> slots = stackalloc int[CompiledFormat.MaxSlotsPerLeaf];
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    if (!formatChosen)
                    {
                        formatChosen = true;
                        EnsurePath(reader.ValueSpan.Length);
                        var written = reader.CopyString(_path);
                        Format = ChooseFormat(mapping, _path.AsSpan(0, written));
                        format = mapping.Formats[Format];
                        container = format.Root;
                    }

                    if (container is not null)
                    {
                        // Events of one shape list their properties in the same order: the property that followed
                        // the previous sibling last time is checked first, then the format's path table.
                        // Names are keyed by their bytes as written (escapes included: one spelling always decodes
                        // to the same name, so another spelling of it is merely another entry).
                        var name = reader.ValueSpan;
                        var key = prev is null ? container.Id * 2 : (prev.Id * 2) + 1;
                        var predicted = key < _predicted.Length ? _predicted[key] : null;
                        if (predicted is not null && ReferenceEquals(predicted.Parent, container) && name.SequenceEqual(predicted.Name))
                        {
                            prop = predicted;
                        }
                        else
                        {
                            prop = format.Child(container, name) ?? AddPath(ref reader, format, container, registry, out propLen);
                            if (prop is not null)
                            {
                                Predict(key, prop);
                            }
                        }

                        prev = prop;
                    }
                    else
                    {
                        var sep = containerLen > 0 ? 1 : 0;
                        EnsurePath(containerLen + sep + reader.ValueSpan.Length);
                        if (sep == 1)
                        {
                            _path[containerLen] = '.';
                        }

                        propLen = containerLen + sep + reader.CopyString(_path.AsSpan(containerLen + sep));
                    }

                    break;

                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    {
                        var inArray = _arrStack[top];
                        var path = inArray ? container : prop;
                        var pathLen = inArray ? containerLen : propLen;
                        top++;
                        _lenStack[top] = containerLen;
                        _pathStack[top] = container;
                        _prevStack[top] = prev;
                        _arrStack[top] = reader.TokenType == JsonTokenType.StartArray;
                        containerLen = pathLen;
                        container = path;
                        prev = null;
                        break;
                    }

                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    if (top > 0)
                    {
                        containerLen = _lenStack[top];
                        container = _pathStack[top];
                        prev = _prevStack[top];
                        top--;
                    }

                    break;

                default:
                    {
                        var inArray = _arrStack[top];
                        var leaf = inArray ? container : prop;
                        scoped ReadOnlySpan<int> leafSlots;
                        if (leaf is not null)
                        {
                            leafSlots = leaf.Slots;
                        }
                        else
                        {
                            var count = format.Resolve(_path.AsSpan(0, inArray ? containerLen : propLen), registry, slots);
                            leafSlots = slots[..count];
                        }

                        if (leafSlots.Length == 0 && !indexAll)
                        {
                            break;
                        }

                        var v = AddValue(ref reader, json);
                        foreach (var slot in leafSlots)
                        {
                            Append(slot, v);
                        }

                        break;
                    }
            }
        }

        return true;
    }

    private void Predict(int key, KnownPath path)
    {
        if (key >= _predicted.Length)
        {
            Array.Resize(ref _predicted, Math.Max(64, (int)BitOperations.RoundUpToPowerOf2((uint)key + 1)));
        }

        _predicted[key] = path;
    }

    /// <summary>
    /// Path-table miss: writes the dotted path of the property into <see cref="_path"/> (decoding the name, which
    /// rejects invalid UTF-8 as before) and adds it to the table. Null when the table takes no more paths.
    /// </summary>
    private KnownPath? AddPath(ref Utf8JsonReader reader, CompiledFormat format, KnownPath container, FieldRegistry registry, out int length)
    {
        var parent = container.Path;
        EnsurePath(parent.Length + 1 + reader.ValueSpan.Length);
        parent.CopyTo(_path);
        length = parent.Length;
        if (length > 0)
        {
            _path[length++] = '.';
        }

        length += reader.CopyString(_path.AsSpan(length));
        return format.AddChild(container, reader.ValueSpan, _path.AsSpan(0, length), registry);
    }

    private static int ChooseFormat(CompiledMapping mapping, ReadOnlySpan<char> firstProperty)
    {
        for (var i = 0; i < mapping.Formats.Length; i++)
        {
            var detect = mapping.Formats[i].Detect;
            if (detect == "*" || firstProperty.SequenceEqual(detect))
            {
                return i;
            }
        }

        return mapping.Formats.Length - 1;
    }

    private int AddValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        var v = ValueCount;
        if (v == _valStart.Length)
        {
            Array.Resize(ref _valStart, v * 2);
            Array.Resize(ref _valLen, v * 2);
            Array.Resize(ref _valNull, v * 2);
        }

        // One character more than the longest decoding: the U+0000 separator written after every value.
        // and room for DecodeBmp's last sixteen-character stores.
        var max = reader.ValueSpan.Length + 1 + Vector128<byte>.Count;
        if (_chars + max > _raw.Length)
        {
            var size = Math.Max(_raw.Length * 2, _chars + max);
            Array.Resize(ref _raw, size);
            Array.Resize(ref _lower, size);
        }

        // Values are decoded and lower-cased in one pass; the rare ones DecodeBmp leaves (characters outside the
        // Basic Multilingual Plane, surrogate escapes, invalid UTF-8) go through the reader, which decodes or rejects them.
        var isNull = reader.TokenType == JsonTokenType.Null;
        // The value is read through the rest of the event, so its last bytes can be loaded sixteen at a time.
        var value = reader.ValueSpan;
        var offset = (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(json), ref MemoryMarshal.GetReference(value));
        var len = isNull ? 0 : DecodeBmp(json[offset..], value.Length, _raw.AsSpan(_chars), _lower.AsSpan(_chars));
        if (len < 0)
        {
            len = reader.TokenType == JsonTokenType.String
                ? reader.CopyString(_raw.AsSpan(_chars))
                : Encoding.UTF8.GetChars(reader.ValueSpan, _raw.AsSpan(_chars));
            var raw = _raw.AsSpan(_chars, len);
            if (Ascii.ToLower(raw, _lower.AsSpan(_chars, len), out _) != System.Buffers.OperationStatus.Done)
            {
                raw.ToLowerInvariant(_lower.AsSpan(_chars, len));
            }
        }

        _raw[_chars + len] = '\0';
        _lower[_chars + len] = '\0';
        _valStart[v] = _chars;
        _valLen[v] = len;
        _valNull[v] = isNull;
        _chars += len + 1;
        ValueCount = v + 1;
        return v;
    }

    /// <summary>
    /// Decodes the raw bytes of a JSON token already validated by the reader into <paramref name="raw"/> and its
    /// lower-case form into <paramref name="lower"/> (each at least as long as <paramref name="src"/>), for text
    /// in the Basic Multilingual Plane: returns the length, or -1 (output undefined) for a surrogate escape, a
    /// character outside the plane or invalid UTF-8, which the reader decodes (or rejects) instead.
    /// </summary>
    internal static int DecodeBmp(ReadOnlySpan<byte> src, Span<char> raw, Span<char> lower) => DecodeBmp(src, src.Length, raw, lower);

    /// <summary>
    /// <see cref="DecodeBmp(ReadOnlySpan{byte}, Span{char}, Span{char})"/> of the first <paramref name="length"/>
    /// bytes of <paramref name="window"/>; the bytes after them are only read (sixteen at a time, then ignored),
    /// and <paramref name="raw"/> and <paramref name="lower"/> take sixteen characters more than the decoding
    /// when they can.
    /// </summary>
    internal static int DecodeBmp(ReadOnlySpan<byte> window, int length, Span<char> raw, Span<char> lower)
    {
        if (raw.Length < length || lower.Length < length || window.Length < length)
        {
            return -1;
        }

        var src = window[..length];
        var vectors = Vector128.IsHardwareAccelerated ? Math.Min(window.Length, Math.Min(raw.Length, lower.Length)) - Vector128<byte>.Count : -1;
        var i = 0;
        var n = 0;
        ref var s = ref MemoryMarshal.GetReference(window);
        ref var r = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(raw));
        ref var l = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(lower));
        var backslash = Vector128.Create((byte)'\\');
        var upperA = Vector128.Create((byte)'A');
        var letters = Vector128.Create((byte)26);
        var caseBit = Vector128.Create((byte)0x20);
        while (i < src.Length)
        {
            if (i <= vectors)
            {
                // Sixteen bytes at a time, widened and lower-cased; the characters before the first escape,
                // non-ASCII byte or end of the text are kept (n never passes i, so the stores stay in bounds).
                var chunk = Vector128.LoadUnsafe(ref s, (nuint)i);
                var lowered = chunk | (Vector128.LessThan(chunk - upperA, letters) & caseBit);
                var (rawLo, rawHi) = Vector128.Widen(chunk);
                var (lowLo, lowHi) = Vector128.Widen(lowered);
                rawLo.StoreUnsafe(ref r, (nuint)n);
                rawHi.StoreUnsafe(ref r, (nuint)(n + Vector128<ushort>.Count));
                lowLo.StoreUnsafe(ref l, (nuint)n);
                lowHi.StoreUnsafe(ref l, (nuint)(n + Vector128<ushort>.Count));
                var special = chunk.ExtractMostSignificantBits() | Vector128.Equals(chunk, backslash).ExtractMostSignificantBits();
                var left = src.Length - i;
                if (left < Vector128<byte>.Count)
                {
                    special &= (1u << left) - 1;
                    if (special == 0)
                    {
                        n += left;
                        break;
                    }
                }
                else if (special == 0)
                {
                    i += Vector128<byte>.Count;
                    n += Vector128<byte>.Count;
                    continue;
                }

                var plain = BitOperations.TrailingZeroCount(special);
                i += plain;
                n += plain;
            }

            int c = src[i];
            if (c == '\\')
            {
                c = src[i + 1] switch
                {
                    (byte)'"' => '"',
                    (byte)'\\' => '\\',
                    (byte)'/' => '/',
                    (byte)'b' => '\b',
                    (byte)'f' => '\f',
                    (byte)'n' => '\n',
                    (byte)'r' => '\r',
                    (byte)'t' => '\t',
                    _ => Hex4(src.Slice(i + 2, 4)),
                };
                if (char.IsSurrogate((char)c))
                {
                    return -1;
                }

                i += src[i + 1] == 'u' ? 6 : 2;
            }
            else if (c >= 0x80)
            {
                if (Rune.DecodeFromUtf8(src[i..], out var rune, out var used) != System.Buffers.OperationStatus.Done || !rune.IsBmp)
                {
                    return -1;
                }

                c = rune.Value;
                i += used;
            }
            else
            {
                i++;
            }

            raw[n] = (char)c;
            lower[n++] = c < 0x80 ? (char)((uint)(c - 'A') < 26u ? c | 0x20 : c) : char.ToLowerInvariant((char)c);
        }

        return n;
    }

    /// <summary>Value of the four hexadecimal digits of a \u escape (validated by the reader).</summary>
    private static int Hex4(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var d in digits)
        {
            value = (value << 4) | (d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
        }

        return value;
    }

    private void Append(int slot, int value)
    {
        var n = _nodes++;
        if (n == _nodeValue.Length)
        {
            Array.Resize(ref _nodeValue, n * 2);
            Array.Resize(ref _nodeNext, n * 2);
        }

        _nodeValue[n] = value;
        _nodeNext[n] = -1;
        if (_slotStamp[slot] != _stamp)
        {
            _slotStamp[slot] = _stamp;
            _slotHead[slot] = n;
        }
        else
        {
            _nodeNext[_slotTail[slot]] = n;
        }

        _slotTail[slot] = n;
    }

    /// <summary>
    /// Shrinks the buffers to what the current event uses (for an index kept with a prepared event). The per-slot
    /// arrays, sized to every field the engine knows, become a small hash table of the slots the event has, so a
    /// prepared event stays a few hundred bytes of slot data that is read without cache misses.
    /// </summary>
    public void TrimExcess()
    {
        if (_compact is null)
        {
            var present = 0;
            for (var slot = 0; slot < _slotStamp.Length; slot++)
            {
                if (_slotStamp[slot] == _stamp)
                {
                    present++;
                }
            }

            var bits = 3;
            while ((1 << bits) < present * 2)
            {
                bits++;
            }

            var table = new int[2 << bits];
            for (var slot = 0; slot < _slotStamp.Length; slot++)
            {
                if (_slotStamp[slot] != _stamp)
                {
                    continue;
                }

                var i = CompactHash(slot, bits);
                while (table[2 * i] != 0)
                {
                    i = (i + 1) & ((1 << bits) - 1);
                }

                table[2 * i] = slot + 1;
                table[(2 * i) + 1] = _slotHead[slot];
            }

            _compact = table;
            _compactBits = bits;
            _slotHead = [];
            _slotTail = [];
            _slotStamp = [];
        }

        Array.Resize(ref _raw, _chars);
        Array.Resize(ref _lower, _chars);
        Array.Resize(ref _valStart, ValueCount);
        Array.Resize(ref _valLen, ValueCount);
        Array.Resize(ref _valNull, ValueCount);
        Array.Resize(ref _nodeValue, _nodes);
        Array.Resize(ref _nodeNext, _nodes);
        _path = [];
        _lenStack = [];
        _arrStack = [];
        _pathStack = [];
        _prevStack = [];
        _predicted = [];
    }

    private void EnsurePath(int length)
    {
        if (length > _path.Length)
        {
            Array.Resize(ref _path, Math.Max(length, _path.Length * 2));
        }
    }
}
