namespace McpSecurity.Detection;

/// <summary>
/// A read-only view of one event as UTF-8 JSON (evtx-JSON, ECS, OCSF or flat JSON). The engine builds its
/// flat field index lazily, once per evaluation, into reusable per-thread buffers; the view itself is a
/// thin wrapper that costs nothing to create.
/// </summary>
public readonly struct SecurityEventView
{
    /// <summary>Wraps the UTF-8 JSON bytes of one event.</summary>
    public SecurityEventView(ReadOnlyMemory<byte> utf8Json) => Utf8Json = utf8Json;

    /// <summary>The event document.</summary>
    public ReadOnlyMemory<byte> Utf8Json { get; }
}
