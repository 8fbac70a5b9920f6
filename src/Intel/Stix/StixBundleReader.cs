using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace McpSecurity.Intel.Stix;

/// <summary>
/// Streams the elements of a STIX bundle's <c>objects</c> array one at a time, so that a large bundle
/// (ATT&amp;CK is about 30 MB) never has to be held as one document. Each object is limited in size.
/// </summary>
internal static class StixBundleReader
{
    private const int InitialBufferSize = 64 * 1024;

    /// <summary>Calls <paramref name="onObject"/> for each object of the bundle, in order.</summary>
    /// <returns>True when the input was a bundle (had an <c>objects</c> array at the top level).</returns>
    /// <exception cref="InvalidDataException">The input is not well-formed JSON or breaks a limit.</exception>
    public static bool ReadObjects(Stream stream, int maxObjectBytes, int maxDepth, Action<JsonElement> onObject)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        var length = 0;
        var final = false;
        var state = new JsonReaderState(new JsonReaderOptions { MaxDepth = maxDepth });
        var inObjects = false;
        var awaitingArray = false;
        var sawObjects = false;
        long offset = 0;
        try
        {
            while (true)
            {
                if (!final)
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= maxObjectBytes + InitialBufferSize)
                        {
                            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                                $"A STIX object near byte {offset} is larger than the limit of {maxObjectBytes} bytes."));
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        Buffer.BlockCopy(buffer, 0, bigger, 0, length);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var n = stream.Read(buffer, length, buffer.Length - length);
                    if (n == 0)
                    {
                        final = true;
                    }

                    length += n;
                }

                var reader = new Utf8JsonReader(buffer.AsSpan(0, length), final, state);
                long consumed;
                try
                {
                    consumed = Scan(ref reader, ref inObjects, ref awaitingArray, ref sawObjects, onObject, out state);
                }
                catch (JsonException ex)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"The STIX bundle is not well-formed JSON near byte {offset + reader.BytesConsumed}: {ex.Message}"), ex);
                }

                offset += consumed;
                Buffer.BlockCopy(buffer, (int)consumed, buffer, 0, length - (int)consumed);
                length -= (int)consumed;
                if (final)
                {
                    if (length > 0 && !IsWhitespace(buffer.AsSpan(0, length)))
                    {
                        throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                            $"The STIX bundle ends early, near byte {offset}: the JSON is truncated."));
                    }

                    return sawObjects;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static long Scan(ref Utf8JsonReader reader, ref bool inObjects, ref bool awaitingArray, ref bool sawObjects, Action<JsonElement> onObject, out JsonReaderState state)
    {
        while (true)
        {
            var beforeState = reader.CurrentState;
            var beforeConsumed = reader.BytesConsumed;
            if (!reader.Read())
            {
                state = reader.CurrentState;
                return reader.BytesConsumed;
            }

            if (!inObjects)
            {
                if (awaitingArray)
                {
                    awaitingArray = false;
                    inObjects = reader.TokenType == JsonTokenType.StartArray;
                    sawObjects |= inObjects;
                }
                else if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("objects"u8))
                {
                    awaitingArray = true;
                }

                continue;
            }

            if (reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == 1)
            {
                inObjects = false;
                continue;
            }

            if (reader.TokenType == JsonTokenType.StartObject && reader.CurrentDepth == 2)
            {
                var start = reader;
                if (!reader.TrySkip())
                {
                    // The object is not complete in the buffer: give it back and read more.
                    state = beforeState;
                    return beforeConsumed;
                }

                using var doc = JsonDocument.ParseValue(ref start);
                onObject(doc.RootElement);
            }
            else if (reader.TokenType is JsonTokenType.StartArray && reader.CurrentDepth == 2 && !reader.TrySkip())
            {
                state = beforeState;
                return beforeConsumed;
            }
        }
    }

    private static bool IsWhitespace(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }
}
