using McpSecurity.Core;
using McpSecurity.Detection.Evtx;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Server.Detection;

/// <summary>
/// Reads an events body or file of any accepted kind: binary Windows event logs (<c>.evtx</c>, recognised by
/// their signature and converted to evtx-JSON by <see cref="EvtxReader"/>), otherwise NDJSON, a JSON array or
/// concatenated JSON objects. For <c>.evtx</c> input a record's "line" is its 1-based position in the file and
/// errors name the byte offset of the damage.
/// </summary>
public static class EventInput
{
    /// <summary>The records of <paramref name="data"/>; a body that starts like <c>.evtx</c> but has no valid file header is a <see cref="ValidationException"/>.</summary>
    public static IEnumerable<EventRecord> Read(ReadOnlyMemory<byte> data, EventReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!EvtxReader.IsEvtx(data.Span))
        {
            return JsonEventReader.Read(data, options);
        }

        IEnumerable<EvtxRecord> records;
        try
        {
            records = EvtxReader.Read(data, new EvtxReaderOptions { MaxDepth = options.MaxDepth });
        }
        catch (InvalidDataException ex)
        {
            throw new ValidationException("events", "The .evtx input is not readable: " + ex.Message);
        }

        return FromEvtx(records, options);
    }

    private static IEnumerable<EventRecord> FromEvtx(IEnumerable<EvtxRecord> records, EventReaderOptions options)
    {
        var n = 0L;
        foreach (var r in records)
        {
            n++;
            if (r.Error is { } error)
            {
                yield return EventRecord.ForError(n, error);
            }
            else if (r.Json!.Length > options.MaxEventBytes)
            {
                yield return EventRecord.ForError(n, $"record {r.RecordId} at offset {r.Offset} is {r.Json.Length} bytes as JSON, more than the {options.MaxEventBytes}-byte limit");
            }
            else
            {
                yield return EventRecord.ForEvent(r.Json, n);
            }
        }
    }
}
