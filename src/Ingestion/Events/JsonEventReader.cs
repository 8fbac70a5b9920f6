using System.IO.Compression;
using McpSecurity.Ingestion.Events.Internal;

namespace McpSecurity.Ingestion.Events;

/// <summary>
/// Reads JSON events from NDJSON (one object per line), JSON arrays of objects, and streams of
/// concatenated pretty-printed objects (the evtx-JSON layout of <c>evtx_dump -o json</c>). Gzip input is
/// recognised by its magic bytes and decompressed on the fly.
/// </summary>
/// <remarks>
/// Lenient by design: a line or value that is not a well-formed JSON object is reported as an
/// <see cref="EventRecord"/> with <see cref="EventRecord.IsError"/> set, its line number and the reason,
/// and reading continues with the next value. Good events are returned byte for byte as they appeared.
/// Memory is bounded by <see cref="EventReaderOptions.MaxEventBytes"/>: a larger event is skipped without
/// being buffered. A value that never closes is cut off when a new object starts at the beginning of a
/// line (or at a raw line break inside a string, which JSON forbids). A syntax error inside a top-level
/// array cannot be resynchronised reliably; the bad element is reported and the scan goes on from the
/// next element boundary it can find.
/// </remarks>
public static class JsonEventReader
{
    /// <summary>Reads events from a stream (plain or gzip-compressed UTF-8 JSON).</summary>
    /// <param name="stream">The input. It is read to the end but not disposed.</param>
    /// <param name="options">Limits; <see cref="EventReaderOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the enumeration between events.</param>
    /// <returns>Events and errors, in input order. The sequence can be enumerated once.</returns>
    public static IEnumerable<EventRecord> Read(Stream stream, EventReaderOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= EventReaderOptions.Default;
        options.Validate();
        return ReadIterator(stream, options, cancellationToken);
    }

    /// <summary>Reads events held in memory (plain or gzip-compressed UTF-8 JSON).</summary>
    /// <param name="content">The input bytes.</param>
    /// <param name="options">Limits; <see cref="EventReaderOptions.Default"/> when null.</param>
    /// <returns>Events and errors, in input order.</returns>
    public static IEnumerable<EventRecord> Read(ReadOnlyMemory<byte> content, EventReaderOptions? options = null)
    {
        options ??= EventReaderOptions.Default;
        options.Validate();
        return ReadIterator(new ReadOnlyMemoryStream(content), options, CancellationToken.None);
    }

    /// <summary>Reads events from a file (plain or gzip-compressed UTF-8 JSON).</summary>
    /// <param name="path">The file path.</param>
    /// <param name="options">Limits; <see cref="EventReaderOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the enumeration between events.</param>
    /// <returns>Events and errors, in input order.</returns>
    public static IEnumerable<EventRecord> ReadFile(string path, EventReaderOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= EventReaderOptions.Default;
        options.Validate();
        return ReadFileIterator(path, options, cancellationToken);
    }

    private static IEnumerable<EventRecord> ReadFileIterator(string path, EventReaderOptions options, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        foreach (var record in ReadIterator(stream, options, cancellationToken))
        {
            yield return record;
        }
    }

    private static IEnumerable<EventRecord> ReadIterator(Stream stream, EventReaderOptions options, CancellationToken cancellationToken)
    {
        var head = new byte[2];
        var headLength = ReadAtLeast(stream, head);
        Stream source = new PrefixedStream(head.AsMemory(0, headLength), stream);
        GZipStream? gzip = null;
        if (headLength == 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            gzip = new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
            source = gzip;
        }

        using var scanner = new JsonValueScanner(source, options);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                EventRecord record;
                try
                {
                    if (!scanner.TryNext(out record))
                    {
                        yield break;
                    }
                }
                catch (InvalidDataException ex)
                {
                    record = EventRecord.ForError(scanner.Line, "The gzip stream is corrupt: " + ex.Message);
                    scanner.Stop();
                }

                yield return record;
            }
        }
        finally
        {
            gzip?.Dispose();
        }
    }

    private static int ReadAtLeast(Stream stream, byte[] buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = stream.Read(buffer, total, buffer.Length - total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
