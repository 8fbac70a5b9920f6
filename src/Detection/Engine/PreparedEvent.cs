using McpSecurity.Detection.Engine;

namespace McpSecurity.Detection;

/// <summary>
/// An event parsed into an engine's field index and routed to its log sources once, by
/// <see cref="SigmaEngine.Prepare"/>; evaluating it again costs matching only. Immutable, bound to the engine
/// that prepared it.
/// </summary>
public sealed class PreparedEvent
{
    internal PreparedEvent(SigmaEngine engine, EventIndex index, int[] sources)
    {
        Engine = engine;
        Index = index;
        Sources = sources;
    }

    internal SigmaEngine Engine { get; }

    internal EventIndex Index { get; }

    internal int[] Sources { get; }

    /// <summary>Number of decoded field values the index holds.</summary>
    public int ValueCount => Index.ValueCount;
}
