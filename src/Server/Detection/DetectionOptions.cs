using McpSecurity.Core.Alerts;

namespace McpSecurity.Server.Detection;

/// <summary>
/// Settings of event ingestion and detection, bound from the configuration section <c>Detection</c>
/// (environment <c>MCPSEC__DETECTION__*</c>, e.g. <c>MCPSEC__DETECTION__RULEDIRECTORIES__0=/etc/mcpsec/rules</c>).
/// </summary>
public sealed class DetectionOptions
{
    /// <summary>Directories of Sigma rules every tenant runs (recursively, <c>*.yml</c>/<c>*.yaml</c>). Tenants add uploaded rules and disable rules on top.</summary>
    public List<string> RuleDirectories { get; set; } = [];

    /// <summary>Watch the rule directories and reload on change (a broken edit is reported and the previous version keeps running).</summary>
    public bool WatchRules { get; set; } = true;

    /// <summary>Seconds between checkpoints of the correlation windows to the store (they are also saved on shutdown).</summary>
    public int CheckpointSeconds { get; set; } = 30;

    /// <summary>Seconds between advances of quiet tenants' correlation clocks, so absence deadlines pass without new events.</summary>
    public int ClockSeconds { get; set; } = 5;

    /// <summary>Group-by keys held per correlation rule; beyond it the oldest key is evicted and a health event raised.</summary>
    public int MaxCorrelationKeys { get; set; } = 100_000;

    /// <summary>Seconds an event may arrive behind the newest event time seen and still count in correlation windows.</summary>
    public int AllowedLatenessSeconds { get; set; } = 300;

    /// <summary>Optional field-mapping YAML replacing the built-in mapping (see docs/detection.md).</summary>
    public string? MappingFile { get; set; }

    /// <summary>Seconds within which a repeat match of a rule on the same entities merges into the existing alert.</summary>
    public int DedupeSeconds { get; set; } = 3600;

    /// <summary>Seconds after an alert is closed during which repeat matches are counted on it and raise nothing.</summary>
    public int SuppressionSeconds { get; set; } = 3600;

    /// <summary>Seconds within which alerts on the same entity join one incident.</summary>
    public int IncidentWindowSeconds { get; set; } = 86400;

    /// <summary>Matching events kept per alert.</summary>
    public int MaxSamples { get; set; } = 5;

    /// <summary>Largest event kept as an alert sample, in bytes.</summary>
    public int MaxSampleBytes { get; set; } = 16 * 1024;

    /// <summary>Largest single event accepted, in bytes; larger ones are rejected with their line number.</summary>
    public int MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>Deepest JSON nesting accepted in an event.</summary>
    public int MaxEventDepth { get; set; } = 64;

    /// <summary>Largest request body of <c>POST /api/v1/events</c>, as sent (compressed or not), in bytes (413 beyond).</summary>
    public long MaxRequestBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Largest body after gzip decompression, in bytes (413 beyond): the guard against decompression bombs.</summary>
    public long MaxDecompressedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Per-line errors listed in an ingest reply (the counts always cover every line).</summary>
    public int MaxReportedErrors { get; set; } = 100;

    /// <summary>Events per bus message.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Seconds between checks whether a tenant's rule settings changed (another process may change them).</summary>
    public int RuleRefreshSeconds { get; set; } = 5;

    /// <summary>Optional syslog listener feeding the same pipeline.</summary>
    public SyslogSourceOptions Syslog { get; set; } = new();

    /// <summary>Optional file-tail source feeding the same pipeline.</summary>
    public FileTailOptions FileTail { get; set; } = new();

    /// <summary>The dedupe, suppression and incident windows as a store policy.</summary>
    public AlertPolicy ToPolicy() => new(
        TimeSpan.FromSeconds(Math.Max(0, DedupeSeconds)),
        TimeSpan.FromSeconds(Math.Max(0, SuppressionSeconds)),
        TimeSpan.FromSeconds(Math.Max(0, IncidentWindowSeconds)),
        Math.Max(0, MaxSamples),
        Math.Max(0, MaxSampleBytes));
}

/// <summary>The syslog source: RFC 5424 and RFC 3164 over UDP and TCP, into one tenant.</summary>
public sealed class SyslogSourceOptions
{
    /// <summary>Start the listener.</summary>
    public bool Enabled { get; set; }

    /// <summary>Address to bind (default loopback; use 0.0.0.0 to accept from the network).</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Port for both UDP and TCP (0 picks a free one).</summary>
    public int Port { get; set; } = 5514;

    /// <summary>Listen on UDP.</summary>
    public bool Udp { get; set; } = true;

    /// <summary>Listen on TCP.</summary>
    public bool Tcp { get; set; } = true;

    /// <summary>Tenant (name or id) the messages belong to; default: the operator tenant.</summary>
    public string? Tenant { get; set; }
}

/// <summary>The file-tail source: follows NDJSON files as they grow, into one tenant.</summary>
public sealed class FileTailOptions
{
    /// <summary>Files to follow; lines appended after start are read (existing content is skipped).</summary>
    public List<string> Paths { get; set; } = [];

    /// <summary>Tenant (name or id) the events belong to; default: the operator tenant.</summary>
    public string? Tenant { get; set; }

    /// <summary>How often the files are checked for new lines, in milliseconds.</summary>
    public int PollMilliseconds { get; set; } = 500;
}
