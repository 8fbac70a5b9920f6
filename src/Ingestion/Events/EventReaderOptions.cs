namespace McpSecurity.Ingestion.Events;

/// <summary>Limits applied by <see cref="JsonEventReader"/> to untrusted event streams.</summary>
public sealed class EventReaderOptions
{
    /// <summary>The defaults: 1 MiB per event, nesting depth 64, no limit on the whole input.</summary>
    public static EventReaderOptions Default { get; } = new();

    /// <summary>
    /// The largest event, in bytes of UTF-8 JSON, that is kept. A larger event is reported as an error
    /// and skipped without being buffered. Default 1 MiB.
    /// </summary>
    public int MaxEventBytes { get; init; } = 1024 * 1024;

    /// <summary>The deepest nesting of objects and arrays allowed inside one event. Default 64.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>
    /// The most bytes read from the input (after gzip decompression). Reading stops with an error
    /// once this is exceeded. Default: no limit, since memory is bounded per event anyway.
    /// </summary>
    public long MaxInputBytes { get; init; } = long.MaxValue;

    internal void Validate()
    {
        if (MaxEventBytes < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEventBytes), MaxEventBytes, "MaxEventBytes must be at least 2 (the size of '{}').");
        }

        if (MaxDepth < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDepth), MaxDepth, "MaxDepth must be at least 1.");
        }

        if (MaxInputBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInputBytes), MaxInputBytes, "MaxInputBytes must not be negative.");
        }
    }
}
