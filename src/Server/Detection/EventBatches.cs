using System.Buffers.Binary;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Server.Detection;

/// <summary>One line (or value) of an event stream that was not accepted.</summary>
/// <param name="Line">1-based line where it starts.</param>
/// <param name="Reason">Why it was rejected.</param>
public sealed record IngestError(long Line, string Reason);

/// <summary>Totals of reading an event stream.</summary>
/// <param name="Accepted">Events accepted and passed on.</param>
/// <param name="Rejected">Lines or values rejected.</param>
/// <param name="Errors">The first rejections with line and reason (capped; see <paramref name="ErrorsTruncated"/>).</param>
/// <param name="ErrorsTruncated">True when more rejections happened than are listed.</param>
public sealed record IngestResult(int Accepted, int Rejected, IReadOnlyList<IngestError> Errors, bool ErrorsTruncated);

/// <summary>
/// Turns a stream of <see cref="EventRecord"/>s into batches of events and a list of per-line errors; and
/// frames a batch as one bus message (each event as a 4-byte little-endian length and its UTF-8 JSON).
/// </summary>
public static class EventBatches
{
    /// <summary>Bus topic of ingested event batches.</summary>
    public const string Topic = "events.ingested";

    /// <summary>Reads records, hands full batches to <paramref name="onBatch"/> and counts and lists errors.</summary>
    public static async Task<IngestResult> ReadAsync(IEnumerable<EventRecord> records, int batchSize, int maxErrors,
        Func<IReadOnlyList<ReadOnlyMemory<byte>>, CancellationToken, Task> onBatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(onBatch);
        batchSize = Math.Max(1, batchSize);
        var batch = new List<ReadOnlyMemory<byte>>(batchSize);
        var errors = new List<IngestError>();
        int accepted = 0, rejected = 0;
        foreach (var record in records)
        {
            if (record.IsError)
            {
                rejected++;
                if (errors.Count < maxErrors)
                {
                    errors.Add(new IngestError(record.Line, record.Error!));
                }

                continue;
            }

            accepted++;
            batch.Add(record.Payload);
            if (batch.Count == batchSize)
            {
                await onBatch(batch, cancellationToken).ConfigureAwait(false);
                batch = new List<ReadOnlyMemory<byte>>(batchSize);
            }
        }

        if (batch.Count > 0)
        {
            await onBatch(batch, cancellationToken).ConfigureAwait(false);
        }

        return new IngestResult(accepted, rejected, errors, rejected > errors.Count);
    }

    /// <summary>Frames a batch as one message body.</summary>
    public static byte[] Encode(IReadOnlyList<ReadOnlyMemory<byte>> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        long size = 0;
        for (var i = 0; i < events.Count; i++)
        {
            size += 4 + events[i].Length;
        }

        var body = new byte[checked((int)size)];
        var pos = 0;
        for (var i = 0; i < events.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(pos), events[i].Length);
            events[i].Span.CopyTo(body.AsSpan(pos + 4));
            pos += 4 + events[i].Length;
        }

        return body;
    }

    /// <summary>Splits a message body into its events (slices of <paramref name="body"/>, no copies).</summary>
    /// <exception cref="InvalidDataException">The body is not a framed batch.</exception>
    public static List<ReadOnlyMemory<byte>> Decode(ReadOnlyMemory<byte> body)
    {
        var events = new List<ReadOnlyMemory<byte>>();
        var pos = 0;
        var span = body.Span;
        while (pos < span.Length)
        {
            if (span.Length - pos < 4)
            {
                throw new InvalidDataException($"Event batch is cut off at byte {pos}: a 4-byte length was expected.");
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(span[pos..]);
            if (length < 0 || length > span.Length - pos - 4)
            {
                throw new InvalidDataException($"Event batch has a bad event length {length} at byte {pos}.");
            }

            events.Add(body.Slice(pos + 4, length));
            pos += 4 + length;
        }

        return events;
    }
}

/// <summary>A request body (or what it expands to) is larger than a configured limit; maps to HTTP 413 with this message.</summary>
public sealed class RequestTooLargeException(string message) : Exception(message);
