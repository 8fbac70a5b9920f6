using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace McpSecurity.Detection.Evtx;

/// <summary>One record of an <c>.evtx</c> file: the event in the evtx-JSON shape, or why it could not be read.</summary>
/// <param name="Offset">Byte offset of the record (or of the damaged structure) in the file.</param>
/// <param name="RecordId">Event record identifier (0 when the record header itself is unreadable).</param>
/// <param name="Json">UTF-8 JSON <c>{"Event":{"System":{…},"EventData":{…}}}</c>, or null when <paramref name="Error"/> is set.</param>
/// <param name="Error">What is wrong and where, or null.</param>
public sealed record EvtxRecord(long Offset, ulong RecordId, byte[]? Json, string? Error);

/// <summary>Limits of the <see cref="EvtxReader"/>.</summary>
public sealed record EvtxReaderOptions
{
    /// <summary>Deepest element and template nesting followed (deeper input is reported as damaged).</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Most records read from one file.</summary>
    public int MaxRecords { get; init; } = 10_000_000;
}

/// <summary>
/// A native reader of Windows XML event log files (<c>.evtx</c>) producing the evtx-JSON shape the engine routes
/// (<c>Event.System.*</c>, <c>Event.EventData.*</c>, attributes under <c>#attributes</c>), as written by the
/// common evtx-to-JSON converters.
/// </summary>
/// <remarks>
/// <para>Layout (little-endian throughout): a 4096-byte file header (<c>ElfFile\0</c>, header size 128, version
/// 3.1 or 3.2, CRC32 of its first 120 bytes at offset 124), then 64 KiB chunks (<c>ElfChnk\0</c>, header size
/// 128, offset of the last record at 44 and of the free space at 48, CRC32 of the records at 52, CRC32 of header
/// bytes 0–120 and 128–512 at 124; 64 common-string and 32 template offsets; records from offset 512). A record
/// is <c>**\0\0</c>, its size, its identifier, the FILETIME it was written, Binary XML, and its size again.</para>
/// <para>Binary XML is a token stream: fragment header (0x0F), element start (0x01, 0x41 with attributes: a
/// dependency identifier, data size, name offset), close start (0x02), close empty (0x03), end element (0x04),
/// value (0x05), attribute (0x06), CDATA (0x07), character and entity references (0x08, 0x09), processing
/// instructions (0x0A, 0x0B), template instance (0x0C) and normal and optional substitutions (0x0D, 0x0E);
/// 0x00 ends a fragment. Names are chunk offsets of a structure (next offset, hash, character count, UTF-16
/// characters, NUL) that is written in place the first time it is used. A template instance names its
/// definition by chunk offset (written in place on first use: next offset, GUID, data size, then the Binary
/// XML with substitution tokens) and is followed by the substitution values: their count, a (size, type)
/// descriptor per value, and the values. Value types: string (UTF-16), ANSI string, signed and unsigned
/// integers of 8–64 bits, floats, boolean, binary, GUID, size_t, FILETIME, SYSTEMTIME, SID, hex integers,
/// nested Binary XML (0x21) and arrays of these (type | 0x80).</para>
/// <para>Every offset and length is checked against the chunk before use; a damaged file header stops the
/// read, a damaged chunk is reported and skipped, and a damaged record is reported and the next one read.
/// Checksums are verified and a mismatch reported with the chunk's offset.</para>
/// </remarks>
public static class EvtxReader
{
    /// <summary>Size of the file header block.</summary>
    public const int FileHeaderSize = 4096;

    /// <summary>Size of a chunk.</summary>
    public const int ChunkSize = 65536;

    /// <summary>Offset of the first record in a chunk.</summary>
    public const int ChunkHeaderSize = 512;

    private static ReadOnlySpan<byte> FileMagic => "ElfFile\0"u8;

    private static ReadOnlySpan<byte> ChunkMagic => "ElfChnk\0"u8;

    /// <summary>True when the bytes start like an <c>.evtx</c> file.</summary>
    public static bool IsEvtx(ReadOnlySpan<byte> data) => data.StartsWith(FileMagic);

    /// <summary>Reads an <c>.evtx</c> file from disk.</summary>
    public static IEnumerable<EvtxRecord> ReadFile(string path, EvtxReaderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(File.ReadAllBytes(path), options);
    }

    /// <summary>
    /// Reads every record of an <c>.evtx</c> file in file order. Throws <see cref="InvalidDataException"/> (with
    /// the offset) when the file header is not an EVTX header; damage further in is reported per record.
    /// </summary>
    public static IEnumerable<EvtxRecord> Read(ReadOnlyMemory<byte> file, EvtxReaderOptions? options = null)
    {
        options ??= new EvtxReaderOptions();
        CheckFileHeader(file.Span);
        return ReadChunks(file, options);
    }

    private static void CheckFileHeader(ReadOnlySpan<byte> data)
    {
        if (data.Length < 128 || !data.StartsWith(FileMagic))
        {
            throw new InvalidDataException("offset 0: not an EVTX file (no 'ElfFile' signature).");
        }

        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(data[32..]);
        var major = BinaryPrimitives.ReadUInt16LittleEndian(data[38..]);
        var blockSize = BinaryPrimitives.ReadUInt16LittleEndian(data[40..]);
        if (headerSize != 128 || major != 3 || blockSize != FileHeaderSize)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"offset 32: unsupported EVTX header (header size {headerSize}, major version {major}, block size {blockSize}; expected 128, 3, 4096)."));
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(data[124..]);
        var actual = Crc32(data[..120]);
        if (stored != actual)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"offset 124: EVTX file header checksum 0x{stored:x8} does not match 0x{actual:x8}."));
        }
    }

    private static IEnumerable<EvtxRecord> ReadChunks(ReadOnlyMemory<byte> file, EvtxReaderOptions options)
    {
        var records = 0;
        for (long chunkStart = FileHeaderSize; chunkStart + ChunkHeaderSize <= file.Length; chunkStart += ChunkSize)
        {
            var length = (int)Math.Min(ChunkSize, file.Length - chunkStart);
            var chunk = file.Slice((int)chunkStart, length);
            var problem = CheckChunk(chunk.Span, chunkStart, out var freeSpace);
            if (problem == "empty")
            {
                continue;
            }

            if (problem is not null)
            {
                yield return new EvtxRecord(chunkStart, 0, null, problem);
                continue;
            }

            var templates = new Dictionary<int, int>();
            var pos = ChunkHeaderSize;
            while (pos + 28 <= freeSpace)
            {
                if (++records > options.MaxRecords)
                {
                    yield return new EvtxRecord(chunkStart + pos, 0, null, string.Create(CultureInfo.InvariantCulture, $"more than {options.MaxRecords} records; the rest of the file is not read."));
                    yield break;
                }

                var (record, next) = ReadRecord(chunk.Span, pos, freeSpace, chunkStart, options, templates);
                yield return record;
                if (next <= pos)
                {
                    break; // the record's size cannot be trusted: the rest of this chunk is unreachable
                }

                pos = next;
            }
        }
    }

    /// <summary>Checks a chunk header; returns null when usable, "empty" for an unused chunk, else the problem.</summary>
    private static string? CheckChunk(ReadOnlySpan<byte> chunk, long chunkStart, out int freeSpace)
    {
        freeSpace = 0;
        if (chunk[..8].IndexOfAnyExcept((byte)0) < 0)
        {
            return "empty";
        }

        if (!chunk.StartsWith(ChunkMagic))
        {
            return string.Create(CultureInfo.InvariantCulture, $"offset {chunkStart}: chunk has no 'ElfChnk' signature; skipped.");
        }

        if (chunk.Length < ChunkSize)
        {
            return string.Create(CultureInfo.InvariantCulture, $"offset {chunkStart}: chunk is truncated ({chunk.Length} of {ChunkSize} bytes); skipped.");
        }

        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(chunk[40..]);
        var free = BinaryPrimitives.ReadUInt32LittleEndian(chunk[48..]);
        if (headerSize != 128 || free < ChunkHeaderSize || free > ChunkSize)
        {
            return string.Create(CultureInfo.InvariantCulture, $"offset {chunkStart + 40}: chunk header is damaged (header size {headerSize}, free space offset {free}); skipped.");
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(chunk[124..]);
        var crc = Crc32Update(Crc32Update(0xFFFFFFFF, chunk[..120]), chunk[128..512]) ^ 0xFFFFFFFF;
        if (stored != crc)
        {
            return string.Create(CultureInfo.InvariantCulture, $"offset {chunkStart + 124}: chunk header checksum 0x{stored:x8} does not match 0x{crc:x8}; skipped.");
        }

        var storedData = BinaryPrimitives.ReadUInt32LittleEndian(chunk[52..]);
        var dataCrc = Crc32(chunk[ChunkHeaderSize..(int)free]);
        if (storedData != dataCrc)
        {
            return string.Create(CultureInfo.InvariantCulture, $"offset {chunkStart + 52}: chunk records checksum 0x{storedData:x8} does not match 0x{dataCrc:x8}; skipped.");
        }

        freeSpace = (int)free;
        return null;
    }

    private static (EvtxRecord Record, int Next) ReadRecord(ReadOnlySpan<byte> chunk, int pos, int end, long chunkStart, EvtxReaderOptions options, Dictionary<int, int> templates)
    {
        var at = chunkStart + pos;
        if (BinaryPrimitives.ReadUInt32LittleEndian(chunk[pos..]) != 0x00002A2A)
        {
            return (new EvtxRecord(at, 0, null, string.Create(CultureInfo.InvariantCulture, $"offset {at}: no record signature; the rest of the chunk is skipped.")), -1);
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[(pos + 4)..]);
        var id = BinaryPrimitives.ReadUInt64LittleEndian(chunk[(pos + 8)..]);
        if (size < 28 || size > (uint)(end - pos) || BinaryPrimitives.ReadUInt32LittleEndian(chunk[(pos + (int)size - 4)..]) != size)
        {
            return (new EvtxRecord(at, id, null, string.Create(CultureInfo.InvariantCulture, $"offset {at + 4}: record {id} has an invalid size {size}; the rest of the chunk is skipped.")), -1);
        }

        var next = pos + (int)size;
        try
        {
            var parser = new BinXmlParser(chunk, options.MaxDepth, templates);
            var root = new XmlNode("#document");
            var p = pos + 24;
            parser.ParseFragment(ref p, next - 4, root, null, 0);
            var evt = root.FirstElement() ?? throw new BinXmlException(p, "the record holds no element");
            return (new EvtxRecord(at, id, EvtxJson.Write(evt), null), next);
        }
        catch (BinXmlException ex)
        {
            return (new EvtxRecord(at, id, null, string.Create(CultureInfo.InvariantCulture, $"offset {chunkStart + ex.Offset}: record {id}: {ex.Message}")), next);
        }
    }

    internal static uint Crc32(ReadOnlySpan<byte> data) => Crc32Update(0xFFFFFFFF, data) ^ 0xFFFFFFFF;

    private static uint Crc32Update(uint crc, ReadOnlySpan<byte> data)
    {
        var table = CrcTable.Value;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static readonly Lazy<uint[]> CrcTable = new(() =>
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            t[i] = c;
        }

        return t;
    });
}

/// <summary>Damage in Binary XML at a chunk offset.</summary>
internal sealed class BinXmlException(int offset, string message) : Exception(message)
{
    public int Offset { get; } = offset;
}

/// <summary>An element being built from Binary XML.</summary>
internal sealed class XmlNode(string name)
{
    public string Name { get; } = name;

    public List<(string Name, object? Value)>? Attributes { get; set; }

    /// <summary>Child elements and text values in document order.</summary>
    public List<object?> Content { get; } = [];

    public XmlNode? FirstElement()
    {
        foreach (var c in Content)
        {
            if (c is XmlNode n)
            {
                return n;
            }
        }

        return null;
    }
}

/// <summary>A substitution value: where it is in the chunk and its type.</summary>
internal readonly record struct SubValue(int Offset, int Size, byte Type);

/// <summary>Walks Binary XML of one chunk into <see cref="XmlNode"/> trees, expanding templates with their values.</summary>
internal ref struct BinXmlParser
{
    private readonly ReadOnlySpan<byte> _chunk;
    private readonly int _maxDepth;
    private readonly Dictionary<int, int> _templates;

    public BinXmlParser(ReadOnlySpan<byte> chunk, int maxDepth, Dictionary<int, int> templates)
    {
        _chunk = chunk;
        _maxDepth = maxDepth;
        _templates = templates;
    }

    /// <summary>Parses tokens from <paramref name="pos"/> up to an end-of-fragment token or <paramref name="end"/>, adding to <paramref name="parent"/>.</summary>
    public void ParseFragment(ref int pos, int end, XmlNode parent, SubValue[]? values, int depth)
    {
        if (depth > _maxDepth)
        {
            throw new BinXmlException(pos, "nesting deeper than the limit");
        }

        while (pos < end)
        {
            var token = _chunk[pos];
            switch (token)
            {
                case 0x00:
                    pos++;
                    return;
                case 0x0F:
                    Need(pos, 4, end);
                    pos += 4;
                    break;
                case 0x0C:
                    ParseTemplateInstance(ref pos, end, parent, depth);
                    break;
                case 0x01 or 0x41:
                    parent.Content.Add(ParseElement(ref pos, end, values, depth + 1));
                    break;
                default:
                    throw new BinXmlException(pos, string.Create(CultureInfo.InvariantCulture, $"unexpected token 0x{token:x2} at the top of a fragment"));
            }
        }
    }

    private void ParseTemplateInstance(ref int pos, int end, XmlNode parent, int depth)
    {
        Need(pos, 10, end);
        var defOffset = ReadInt(pos + 6);
        pos += 10;
        int dataStart, dataSize;
        if (defOffset == pos)
        {
            Need(pos, 24, end);
            dataSize = ReadInt(pos + 20);
            dataStart = pos + 24;
            Need(dataStart, dataSize, end);
            pos = dataStart + dataSize;
            _templates[defOffset] = dataSize;
        }
        else
        {
            if (defOffset < EvtxReader.ChunkHeaderSize || defOffset + 24 > _chunk.Length)
            {
                throw new BinXmlException(pos - 4, string.Create(CultureInfo.InvariantCulture, $"template definition offset {defOffset} is outside the chunk"));
            }

            dataSize = ReadInt(defOffset + 20);
            dataStart = defOffset + 24;
            if (dataSize < 0 || dataStart + dataSize > _chunk.Length)
            {
                throw new BinXmlException(defOffset + 20, string.Create(CultureInfo.InvariantCulture, $"template definition size {dataSize} runs past the chunk"));
            }
        }

        Need(pos, 4, end);
        var count = ReadInt(pos);
        pos += 4;
        if (count < 0 || count > (end - pos) / 4)
        {
            throw new BinXmlException(pos - 4, string.Create(CultureInfo.InvariantCulture, $"substitution count {count} does not fit the record"));
        }

        var values = new SubValue[count];
        var valueStart = pos + (count * 4);
        var offset = valueStart;
        for (var i = 0; i < count; i++)
        {
            var size = BinaryPrimitives.ReadUInt16LittleEndian(_chunk[(pos + (i * 4))..]);
            var type = _chunk[pos + (i * 4) + 2];
            values[i] = new SubValue(offset, size, type);
            offset += size;
        }

        if (offset > end)
        {
            throw new BinXmlException(pos, "substitution values run past the record");
        }

        pos = offset;
        var templatePos = dataStart;
        ParseFragment(ref templatePos, dataStart + dataSize, parent, values, depth + 1);
    }

    private XmlNode ParseElement(ref int pos, int end, SubValue[]? values, int depth)
    {
        if (depth > _maxDepth)
        {
            throw new BinXmlException(pos, "elements nested deeper than the limit");
        }

        var hasAttributes = (_chunk[pos] & 0x40) != 0;
        var start = pos;
        pos++;

        // Element start: dependency identifier (2, absent in some producers' templates), data size (4), name offset (4).
        Need(pos, 10, end);
        var name = TryName(pos + 6, out var after) ?? TryName(pos + 4, out after)
            ?? throw new BinXmlException(start, "element name offset is invalid");
        pos = after;
        var node = new XmlNode(name);
        if (hasAttributes)
        {
            Need(pos, 4, end);
            pos += 4; // attribute list size
            node.Attributes = [];
            while (pos < end && (_chunk[pos] == 0x06 || _chunk[pos] == 0x46))
            {
                pos++;
                Need(pos, 4, end);
                var attrName = ReadName(pos, out pos);
                var parts = new List<object?>();
                ParseContentValues(ref pos, end, values, parts, depth);
                node.Attributes.Add((attrName, Collapse(parts)));
            }
        }

        Need(pos, 1, end);
        switch (_chunk[pos])
        {
            case 0x03:
                pos++;
                return node;
            case 0x02:
                pos++;
                break;
            default:
                throw new BinXmlException(pos, string.Create(CultureInfo.InvariantCulture, $"expected the end of the start tag of <{name}>, found token 0x{_chunk[pos]:x2}"));
        }

        while (true)
        {
            Need(pos, 1, end);
            var token = _chunk[pos];
            switch (token)
            {
                case 0x04:
                    pos++;
                    return node;
                case 0x01 or 0x41:
                    node.Content.Add(ParseElement(ref pos, end, values, depth + 1));
                    break;
                case 0x0A:
                    Need(pos, 5, end);
                    ReadName(pos + 1, out pos);
                    break;
                case 0x0B:
                    Need(pos, 3, end);
                    pos += 3 + (BinaryPrimitives.ReadUInt16LittleEndian(_chunk[(pos + 1)..]) * 2);
                    break;
                default:
                    var before = pos;
                    ParseContentValues(ref pos, end, values, node.Content, depth, node);
                    if (pos == before)
                    {
                        throw new BinXmlException(pos, string.Create(CultureInfo.InvariantCulture, $"unexpected token 0x{token:x2} in <{name}>"));
                    }

                    break;
            }
        }
    }

    /// <summary>Reads value-like tokens (values, substitutions, CDATA, references) into <paramref name="parts"/>.</summary>
    private void ParseContentValues(ref int pos, int end, SubValue[]? values, List<object?> parts, int depth, XmlNode? element = null)
    {
        while (pos < end)
        {
            var token = _chunk[pos];
            switch (token)
            {
                case 0x05 or 0x45:
                    Need(pos, 2, end);
                    var type = _chunk[pos + 1];
                    pos += 2;
                    if (type != 0x01)
                    {
                        throw new BinXmlException(pos - 1, string.Create(CultureInfo.InvariantCulture, $"value token of type 0x{type:x2} (only strings appear inline)"));
                    }

                    Need(pos, 2, end);
                    var chars = BinaryPrimitives.ReadUInt16LittleEndian(_chunk[pos..]);
                    Need(pos + 2, chars * 2, end);
                    parts.Add(Utf16(pos + 2, chars * 2));
                    pos += 2 + (chars * 2);
                    break;
                case 0x07 or 0x47:
                    Need(pos, 3, end);
                    var cdata = BinaryPrimitives.ReadUInt16LittleEndian(_chunk[(pos + 1)..]);
                    Need(pos + 3, cdata * 2, end);
                    parts.Add(Utf16(pos + 3, cdata * 2));
                    pos += 3 + (cdata * 2);
                    break;
                case 0x08 or 0x48:
                    Need(pos, 3, end);
                    parts.Add(((char)BinaryPrimitives.ReadUInt16LittleEndian(_chunk[(pos + 1)..])).ToString());
                    pos += 3;
                    break;
                case 0x09 or 0x49:
                    Need(pos, 5, end);
                    var entity = ReadName(pos + 1, out pos);
                    parts.Add(entity switch { "amp" => "&", "lt" => "<", "gt" => ">", "quot" => "\"", "apos" => "'", _ => "&" + entity + ";" });
                    break;
                case 0x0D or 0x0E:
                    Need(pos, 4, end);
                    var index = BinaryPrimitives.ReadUInt16LittleEndian(_chunk[(pos + 1)..]);
                    pos += 4;
                    if (values is null || index >= values.Length)
                    {
                        throw new BinXmlException(pos - 3, string.Create(CultureInfo.InvariantCulture, $"substitution {index} has no value (the template instance has {values?.Length ?? 0})"));
                    }

                    var v = values[index];
                    if (v.Type == 0x21)
                    {
                        // Nested Binary XML: its elements become children of the current element.
                        if (element is null)
                        {
                            parts.Add(null);
                            break;
                        }

                        var nested = v.Offset;
                        ParseFragment(ref nested, v.Offset + v.Size, element, null, depth + 1);
                        break;
                    }

                    var value = DecodeValue(v);
                    if (token == 0x0E && (value is null || (value is string s && s.Length == 0)))
                    {
                        break; // optional substitution without a value: nothing is written
                    }

                    parts.Add(value);
                    break;
                default:
                    return;
            }
        }
    }

    private static object? Collapse(List<object?> parts) => parts.Count switch
    {
        0 => null,
        1 => parts[0],
        _ => string.Concat(parts.Select(EvtxJson.Text)),
    };

    private object? DecodeValue(SubValue v)
    {
        var data = _chunk.Slice(v.Offset, v.Size);
        if ((v.Type & 0x80) != 0)
        {
            return DecodeArray(data, (byte)(v.Type & 0x7F), v.Offset);
        }

        return DecodeScalar(data, v.Type, v.Offset);
    }

    private List<object?> DecodeArray(ReadOnlySpan<byte> data, byte type, int offset)
    {
        var list = new List<object?>();
        if (type == 0x01)
        {
            var text = Encoding.Unicode.GetString(data);
            foreach (var s in text.Split('\0'))
            {
                list.Add(s);
            }

            if (list.Count > 0 && list[^1] is "")
            {
                list.RemoveAt(list.Count - 1);
            }

            return list;
        }

        var width = type switch
        {
            0x03 or 0x04 => 1,
            0x05 or 0x06 => 2,
            0x07 or 0x08 or 0x0B or 0x0D or 0x14 => 4,
            0x09 or 0x0A or 0x0C or 0x11 or 0x15 => 8,
            0x0F or 0x12 => 16,
            _ => throw new BinXmlException(offset, string.Create(CultureInfo.InvariantCulture, $"array of value type 0x{type:x2} is not supported")),
        };
        if (data.Length % width != 0)
        {
            throw new BinXmlException(offset, string.Create(CultureInfo.InvariantCulture, $"array of {data.Length} bytes is not a multiple of its item size {width}"));
        }

        for (var i = 0; i < data.Length; i += width)
        {
            list.Add(DecodeScalar(data.Slice(i, width), type, offset + i));
        }

        return list;
    }

    private object? DecodeScalar(ReadOnlySpan<byte> d, byte type, int offset)
    {
        var data = d.ToArray();
        object? Fixed(int size, Func<object?> read) => data.Length >= size ? read() : throw new BinXmlException(offset, string.Create(CultureInfo.InvariantCulture, $"value of type 0x{type:x2} has {data.Length} bytes, needs {size}"));
        return type switch
        {
            0x00 => null,
            0x01 => Encoding.Unicode.GetString(d).TrimEnd('\0').Trim(),
            0x02 => Encoding.Latin1.GetString(d).TrimEnd('\0'),
            0x03 => Fixed(1, () => (long)(sbyte)data[0]),
            0x04 => Fixed(1, () => (long)data[0]),
            0x05 => Fixed(2, () => (long)BinaryPrimitives.ReadInt16LittleEndian(data)),
            0x06 => Fixed(2, () => (long)BinaryPrimitives.ReadUInt16LittleEndian(data)),
            0x07 => Fixed(4, () => (long)BinaryPrimitives.ReadInt32LittleEndian(data)),
            0x08 => Fixed(4, () => (long)BinaryPrimitives.ReadUInt32LittleEndian(data)),
            0x09 => Fixed(8, () => BinaryPrimitives.ReadInt64LittleEndian(data)),
            0x0A => Fixed(8, () => BinaryPrimitives.ReadUInt64LittleEndian(data)),
            0x0B => Fixed(4, () => (double)BinaryPrimitives.ReadSingleLittleEndian(data)),
            0x0C => Fixed(8, () => BinaryPrimitives.ReadDoubleLittleEndian(data)),
            0x0D => Fixed(4, () => BinaryPrimitives.ReadInt32LittleEndian(data) != 0),
            0x0E => Convert.ToHexString(d),
            0x0F => Fixed(16, () => new Guid(data.AsSpan(0, 16)).ToString("D").ToUpperInvariant()),
            0x10 => data.Length == 8 ? string.Create(CultureInfo.InvariantCulture, $"0x{BinaryPrimitives.ReadUInt64LittleEndian(data):x16}") : Fixed(4, () => string.Create(CultureInfo.InvariantCulture, $"0x{BinaryPrimitives.ReadUInt32LittleEndian(data):x8}")),
            0x11 => Fixed(8, () => FileTime(BinaryPrimitives.ReadInt64LittleEndian(data))),
            0x12 => Fixed(16, () => SystemTime(data)),
            0x13 => Sid(d, offset),
            0x14 => Fixed(4, () => string.Create(CultureInfo.InvariantCulture, $"0x{BinaryPrimitives.ReadUInt32LittleEndian(data):x}")),
            0x15 => Fixed(8, () => string.Create(CultureInfo.InvariantCulture, $"0x{BinaryPrimitives.ReadUInt64LittleEndian(data):x}")),
            _ => throw new BinXmlException(offset, string.Create(CultureInfo.InvariantCulture, $"value type 0x{type:x2} is not supported")),
        };
    }

    private static string FileTime(long ticks)
    {
        if (ticks < 0 || ticks > DateTime.MaxValue.Ticks - new DateTime(1601, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks)
        {
            return ticks.ToString(CultureInfo.InvariantCulture);
        }

        return Iso(new DateTime(1601, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(ticks));
    }

    /// <summary>ISO 8601 in UTC with microseconds (the sub-microsecond digit of FILETIME is dropped, as the common converters do).</summary>
    private static string Iso(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string SystemTime(byte[] d)
    {
        int Word(int i) => BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(i * 2));
        try
        {
            return Iso(new DateTime(Word(0), Word(1), Word(3), Word(4), Word(5), Word(6), Word(7), DateTimeKind.Utc));
        }
        catch (ArgumentOutOfRangeException)
        {
            return Convert.ToHexString(d);
        }
    }

    private static string Sid(ReadOnlySpan<byte> d, int offset)
    {
        if (d.Length < 8 || d.Length < 8 + (d[1] * 4))
        {
            throw new BinXmlException(offset, string.Create(CultureInfo.InvariantCulture, $"SID of {d.Length} bytes is truncated"));
        }

        var authority = 0UL;
        for (var i = 2; i < 8; i++)
        {
            authority = (authority << 8) | d[i];
        }

        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"S-{d[0]}-{authority}"));
        for (var i = 0; i < d[1]; i++)
        {
            sb.Append('-').Append(BinaryPrimitives.ReadUInt32LittleEndian(d[(8 + (i * 4))..]).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>Reads a name whose offset is at <paramref name="at"/>; <paramref name="after"/> is past the offset and an in-place name.</summary>
    private string ReadName(int at, out int after) =>
        TryName(at, out after) ?? throw new BinXmlException(at, "name offset is invalid");

    private string? TryName(int at, out int after)
    {
        after = at;
        if (at < 0 || at + 4 > _chunk.Length)
        {
            return null;
        }

        var offset = ReadInt(at);
        after = at + 4;
        if (offset < EvtxReader.ChunkHeaderSize || offset + 8 > _chunk.Length || (offset > after))
        {
            return null;
        }

        var chars = BinaryPrimitives.ReadUInt16LittleEndian(_chunk[(offset + 6)..]);
        var size = 8 + (chars * 2) + 2;
        if (offset + size > _chunk.Length || chars == 0)
        {
            return null;
        }

        if (offset == after)
        {
            after += size;
        }

        return Utf16(offset + 8, chars * 2);
    }

    private string Utf16(int offset, int bytes) => Encoding.Unicode.GetString(_chunk.Slice(offset, bytes));

    private int ReadInt(int at) => BinaryPrimitives.ReadInt32LittleEndian(_chunk[at..]);

    private void Need(int pos, int bytes, int end)
    {
        if (bytes < 0 || pos + bytes > end || pos + bytes > _chunk.Length)
        {
            throw new BinXmlException(pos, string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes needed, the record ends first"));
        }
    }
}

/// <summary>Writes an element tree as evtx-JSON.</summary>
internal static class EvtxJson
{
    public static byte[] Write(XmlNode root)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName(root.Name);
            WriteElement(w, root);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string Text(object? v) => v switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        ulong u => u.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        List<object?> list => string.Join(",", list.Select(Text)),
        _ => v.ToString() ?? string.Empty,
    };

    private static void WriteElement(Utf8JsonWriter w, XmlNode node)
    {
        var children = new List<XmlNode>();
        var text = new List<object?>();
        foreach (var c in node.Content)
        {
            if (c is XmlNode n)
            {
                children.Add(n);
            }
            else if (c is not null)
            {
                text.Add(c);
            }
        }

        var attributes = node.Attributes is { Count: > 0 } a ? a.Where(x => x.Value is not null).ToList() : [];
        if (children.Count == 0 && attributes.Count == 0)
        {
            WriteValue(w, CollapseText(text));
            return;
        }

        w.WriteStartObject();
        if (attributes.Count > 0)
        {
            w.WritePropertyName("#attributes");
            w.WriteStartObject();
            foreach (var (name, value) in attributes)
            {
                w.WritePropertyName(name);
                WriteValue(w, value);
            }

            w.WriteEndObject();
        }

        if (IsDataList(node, children))
        {
            // <EventData><Data Name="X">v</Data>…</EventData> → "X": v
            foreach (var d in children)
            {
                var name = d.Attributes!.First(x => x.Name == "Name").Value as string;
                w.WritePropertyName(name!);
                WriteValue(w, CollapseText(d.Content.Where(x => x is not XmlNode).ToList()));
            }
        }
        else
        {
            var used = new Dictionary<string, int>(StringComparer.Ordinal);
            var unnamedData = new List<object?>();
            foreach (var c in children)
            {
                if (c.Name == "Data" && (c.Attributes is null || c.Attributes.Count == 0) && c.Content.All(x => x is not XmlNode))
                {
                    unnamedData.Add(CollapseText(c.Content));
                    continue;
                }

                var key = c.Name;
                if (used.TryGetValue(key, out var n))
                {
                    used[key] = n + 1;
                    key = string.Create(CultureInfo.InvariantCulture, $"{key}_{n}");
                }
                else
                {
                    used[key] = 1;
                }

                w.WritePropertyName(key);
                WriteElement(w, c);
            }

            if (unnamedData.Count > 0)
            {
                w.WritePropertyName("Data");
                w.WriteStartObject();
                w.WritePropertyName("#text");
                if (unnamedData.Count == 1)
                {
                    WriteValue(w, unnamedData[0]);
                }
                else
                {
                    w.WriteStartArray();
                    foreach (var v in unnamedData)
                    {
                        WriteValue(w, v);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }
        }

        if (text.Count > 0)
        {
            w.WritePropertyName("#text");
            WriteValue(w, CollapseText(text));
        }

        w.WriteEndObject();
    }

    private static bool IsDataList(XmlNode node, List<XmlNode> children)
    {
        if (node.Name != "EventData" || children.Count == 0)
        {
            return false;
        }

        foreach (var c in children)
        {
            if (c.Name != "Data" || c.Attributes is null || !c.Attributes.Any(x => x.Name == "Name" && x.Value is string))
            {
                return false;
            }
        }

        return true;
    }

    private static object? CollapseText(List<object?> parts)
    {
        var values = parts.Where(p => p is not null).ToList();
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => string.Concat(values.Select(Text)),
        };
    }

    private static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null:
                w.WriteNullValue();
                break;
            case string s:
                w.WriteStringValue(s);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case ulong u:
                w.WriteNumberValue(u);
                break;
            case double d when double.IsFinite(d):
                w.WriteNumberValue(d);
                break;
            case double d:
                w.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case List<object?> list:
                w.WriteStartArray();
                foreach (var item in list)
                {
                    WriteValue(w, item);
                }

                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(v.ToString());
                break;
        }
    }
}
