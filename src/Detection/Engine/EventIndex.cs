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
    private const int MaxSlotsPerLeaf = 8;

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
    private int[]? _compact;
    private int _compactBits;
    private char[] _path = new char[256];
    private int[] _lenStack = new int[16];
    private bool[] _arrStack = new bool[16];

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

    /// <summary>True when any value of the slot equals one of <paramref name="lowered"/> (already lower-cased).</summary>
    public bool AnyValueEquals(int slot, string[] lowered)
    {
        for (var n = Head(slot); n >= 0; n = _nodeNext[n])
        {
            var v = _nodeValue[n];
            if (_valNull[v])
            {
                continue;
            }

            var text = Lower(v);
            foreach (var candidate in lowered)
            {
                if (text.SequenceEqual(candidate))
                {
                    return true;
                }
            }
        }

        return false;
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
            _slotStamp[to] = _stamp;
            _slotHead[to] = head;
            _slotTail[to] = _slotTail[from];
        }
    }

    /// <summary>
    /// Indexes <paramref name="json"/>. Throws <see cref="JsonException"/> (or <see cref="InvalidOperationException"/>
    /// for invalid UTF-8) on malformed input; returns false when the root is not an object.
    /// </summary>
    public bool Build(ReadOnlySpan<byte> json, CompiledMapping mapping, bool indexAll, int maxDepth)
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

        _chars = 0;
        _nodes = 0;
        ValueCount = 0;
        Format = mapping.Formats.Length - 1;
        if (_lenStack.Length < maxDepth + 2)
        {
            _lenStack = new int[maxDepth + 2];
            _arrStack = new bool[maxDepth + 2];
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var top = 0;
        _lenStack[0] = 0;
        _arrStack[0] = false;
        var containerLen = 0;
        var propLen = 0;
        var formatChosen = false;
        CompiledFormat format = mapping.Formats[Format];
        Span<int> slots = stackalloc int[MaxSlotsPerLeaf];
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    {
                        var sep = containerLen > 0 ? 1 : 0;
                        EnsurePath(containerLen + sep + reader.ValueSpan.Length);
                        if (sep == 1)
                        {
                            _path[containerLen] = '.';
                        }

                        var written = reader.CopyString(_path.AsSpan(containerLen + sep));
                        propLen = containerLen + sep + written;
                        if (!formatChosen)
                        {
                            formatChosen = true;
                            Format = ChooseFormat(mapping, _path.AsSpan(0, propLen));
                            format = mapping.Formats[Format];
                        }

                        break;
                    }

                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    {
                        var pathLen = _arrStack[top] ? containerLen : propLen;
                        top++;
                        _lenStack[top] = containerLen;
                        _arrStack[top] = reader.TokenType == JsonTokenType.StartArray;
                        containerLen = pathLen;
                        break;
                    }

                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    if (top > 0)
                    {
                        containerLen = _lenStack[top];
                        top--;
                    }

                    break;

                default:
                    {
                        var leafLen = _arrStack[top] ? containerLen : propLen;
                        var count = format.Resolve(_path.AsSpan(0, leafLen), registry, slots);
                        if (count == 0 && !indexAll)
                        {
                            break;
                        }

                        var v = AddValue(ref reader);
                        for (var i = 0; i < count; i++)
                        {
                            Append(slots[i], v);
                        }

                        break;
                    }
            }
        }

        return true;
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

    private int AddValue(ref Utf8JsonReader reader)
    {
        var v = ValueCount;
        if (v == _valStart.Length)
        {
            Array.Resize(ref _valStart, v * 2);
            Array.Resize(ref _valLen, v * 2);
            Array.Resize(ref _valNull, v * 2);
        }

        // One character more than the longest decoding: the U+0000 separator written after every value.
        var max = reader.ValueSpan.Length + 1;
        if (_chars + max > _raw.Length)
        {
            var size = Math.Max(_raw.Length * 2, _chars + max);
            Array.Resize(ref _raw, size);
            Array.Resize(ref _lower, size);
        }

        int len;
        var isNull = false;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                len = reader.CopyString(_raw.AsSpan(_chars));
                break;
            case JsonTokenType.Null:
                len = 0;
                isNull = true;
                break;
            default:
                len = Encoding.UTF8.GetChars(reader.ValueSpan, _raw.AsSpan(_chars));
                break;
        }

        var raw = _raw.AsSpan(_chars, len);
        if (Ascii.ToLower(raw, _lower.AsSpan(_chars, len), out _) != System.Buffers.OperationStatus.Done)
        {
            raw.ToLowerInvariant(_lower.AsSpan(_chars, len));
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
    }

    private void EnsurePath(int length)
    {
        if (length > _path.Length)
        {
            Array.Resize(ref _path, Math.Max(length, _path.Length * 2));
        }
    }
}
