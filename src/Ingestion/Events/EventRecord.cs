namespace McpSecurity.Ingestion.Events;

/// <summary>
/// One item of an event stream: either a well-formed event (its raw UTF-8 JSON bytes) or the reason
/// why the input at a line could not be read as an event.
/// </summary>
public readonly struct EventRecord
{
    private EventRecord(ReadOnlyMemory<byte> payload, long line, string? error)
    {
        Payload = payload;
        Line = line;
        Error = error;
    }

    /// <summary>
    /// The event exactly as it appeared in the input: one JSON object, UTF-8, owned by the caller.
    /// Empty when <see cref="IsError"/> is true.
    /// </summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The 1-based line of the input on which the event (or the bad input) starts.</summary>
    public long Line { get; }

    /// <summary>Why the input at <see cref="Line"/> was not accepted; null for an event.</summary>
    public string? Error { get; }

    /// <summary>True when this record reports bad input rather than carrying an event.</summary>
    public bool IsError => Error is not null;

    /// <summary>Creates a record carrying an event.</summary>
    /// <param name="payload">The raw UTF-8 JSON object.</param>
    /// <param name="line">The 1-based line on which it starts.</param>
    /// <returns>The record.</returns>
    public static EventRecord ForEvent(ReadOnlyMemory<byte> payload, long line) => new(payload, line, null);

    /// <summary>Creates a record reporting bad input.</summary>
    /// <param name="line">The 1-based line on which the bad input starts.</param>
    /// <param name="error">What is wrong, in plain words.</param>
    /// <returns>The record.</returns>
    public static EventRecord ForError(long line, string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(error);
        return new(ReadOnlyMemory<byte>.Empty, line, error);
    }

    /// <inheritdoc />
    public override string ToString() => IsError ? $"line {Line}: {Error}" : $"line {Line}: event of {Payload.Length} bytes";
}
