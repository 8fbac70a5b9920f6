using System.Text.Json;

namespace McpSecurity.Detection.Runner;

/// <summary>
/// Splits an events file into single JSON documents. Accepts a JSON array of events, NDJSON, and JSON
/// values written one after another without separators (the evtx-JSON dumps of SigmaHQ's regression data).
/// Lenient: when the whole stream cannot be read, falls back to one event per non-empty line, so a broken
/// line is reported as a malformed event instead of hiding the rest of the file.
/// </summary>
public static class EventStreamReader
{
    /// <summary>
    /// Returns the byte ranges of each event in <paramref name="data"/>. A binary <c>.evtx</c> file (recognised by
    /// its signature) is converted record by record to evtx-JSON; a damaged record becomes an empty event (counted
    /// as malformed by the engine, so event positions stay those of the records) and its error, with the byte
    /// offset, is added to <paramref name="errors"/>.
    /// </summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> data, List<string>? errors = null)
    {
        var span = data.Span;
        if (Evtx.EvtxReader.IsEvtx(span))
        {
            var events = new List<ReadOnlyMemory<byte>>();
            foreach (var r in Evtx.EvtxReader.Read(data))
            {
                events.Add(r.Json ?? ReadOnlyMemory<byte>.Empty);
                if (r.Error is not null)
                {
                    errors?.Add(r.Error);
                }
            }

            return events;
        }

        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            data = data[3..];
        }

        var ranges = new List<(int Start, int Length)>();
        if (TrySplitValues(data.Span, ranges))
        {
            var result = new List<ReadOnlyMemory<byte>>(ranges.Count);
            foreach (var (s, l) in ranges)
            {
                result.Add(data.Slice(s, l));
            }

            return result;
        }

        return SplitLines(data);
    }

    private static bool TrySplitValues(ReadOnlySpan<byte> span, List<(int Start, int Length)> ranges)
    {
        try
        {
            var reader = new Utf8JsonReader(span, new JsonReaderOptions { AllowMultipleValues = true, MaxDepth = 256, CommentHandling = JsonCommentHandling.Skip });
            var first = true;
            while (reader.Read())
            {
                if (first && reader.TokenType == JsonTokenType.StartArray)
                {
                    first = false;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        ranges.Add((start, (int)reader.BytesConsumed - start));
                    }

                    continue;
                }

                first = false;
                var s = (int)reader.TokenStartIndex;
                reader.Skip();
                ranges.Add((s, (int)reader.BytesConsumed - s));
            }

            return true;
        }
        catch (JsonException)
        {
            ranges.Clear();
            return false;
        }
    }

    private static List<ReadOnlyMemory<byte>> SplitLines(ReadOnlyMemory<byte> data)
    {
        var result = new List<ReadOnlyMemory<byte>>();
        var span = data.Span;
        var pos = 0;
        while (pos < span.Length)
        {
            var nl = span[pos..].IndexOf((byte)'\n');
            var end = nl < 0 ? span.Length : pos + nl;
            var line = span[pos..end].Trim((byte)'\r').Trim((byte)' ');
            if (line.Length > 0)
            {
                result.Add(data[pos..end]);
            }

            pos = end + 1;
        }

        return result;
    }
}
