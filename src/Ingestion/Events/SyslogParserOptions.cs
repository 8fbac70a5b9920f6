namespace McpSecurity.Ingestion.Events;

/// <summary>Settings for <see cref="SyslogParser"/>.</summary>
public sealed class SyslogParserOptions
{
    /// <summary>The defaults: UTC for BSD timestamps, the current time as reference, 64 KiB per message.</summary>
    public static SyslogParserOptions Default { get; } = new();

    /// <summary>
    /// The time against which the year of a BSD timestamp (which has none) is inferred: the year of the
    /// reference, or the year before when that would put the message more than a week in the future.
    /// Null means the current time.
    /// </summary>
    public DateTimeOffset? ReferenceTime { get; init; }

    /// <summary>The UTC offset assumed for BSD timestamps, which carry none. Default UTC.</summary>
    public TimeSpan DefaultOffset { get; init; } = TimeSpan.Zero;

    /// <summary>The longest message accepted, in bytes. Default 64 KiB.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;
}
