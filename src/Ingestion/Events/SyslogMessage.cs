using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace McpSecurity.Ingestion.Events;

/// <summary>The header layout a syslog message was parsed with.</summary>
public enum SyslogFormat
{
    /// <summary>The BSD layout of RFC 3164 (and the many variants seen in practice).</summary>
    Rfc3164,

    /// <summary>The structured layout of RFC 5424 (<c>&lt;PRI&gt;1 TIMESTAMP HOST APP PROCID MSGID SD MSG</c>).</summary>
    Rfc5424,
}

/// <summary>One RFC 5424 structured-data element: <c>[id name="value" ...]</c>.</summary>
/// <param name="Id">The SD-ID, such as <c>exampleSDID@32473</c> or <c>timeQuality</c>.</param>
/// <param name="Parameters">The parameters in order, values unescaped; a name may repeat.</param>
public sealed record SyslogStructuredDataElement(string Id, IReadOnlyList<KeyValuePair<string, string>> Parameters);

/// <summary>A parsed syslog message (RFC 3164 or RFC 5424).</summary>
public sealed class SyslogMessage
{
    private static readonly string[] FacilityNames =
    [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
        "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];

    private static readonly string[] SeverityNames = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The header layout the message was parsed with.</summary>
    public required SyslogFormat Format { get; init; }

    /// <summary>The PRI value (facility * 8 + severity), 0-191; 13 (user.notice) when the message had none.</summary>
    public required int Priority { get; init; }

    /// <summary>True when the message carried a PRI part; false when the default 13 was applied.</summary>
    public required bool HasPriority { get; init; }

    /// <summary>The facility code, 0-23.</summary>
    public int Facility => Priority >> 3;

    /// <summary>The severity code, 0 (emergency) to 7 (debug).</summary>
    public int Severity => Priority & 7;

    /// <summary>The facility keyword as syslog daemons print it (<c>kern</c>, <c>auth</c>, <c>local4</c>...).</summary>
    public string FacilityName => FacilityNames[Facility];

    /// <summary>The severity keyword (<c>emerg</c>, <c>alert</c>, <c>crit</c>, <c>err</c>, <c>warning</c>, <c>notice</c>, <c>info</c>, <c>debug</c>).</summary>
    public string SeverityName => SeverityNames[Severity];

    /// <summary>
    /// The time the message states, with the offset it states (RFC 3339), or with
    /// <see cref="SyslogParserOptions.DefaultOffset"/> for BSD timestamps. Null when the message had none.
    /// </summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>
    /// False when the timestamp was a BSD one without a year, whose year was inferred from
    /// <see cref="SyslogParserOptions.ReferenceTime"/>.
    /// </summary>
    public bool TimestampHasYear { get; init; }

    /// <summary>The originating host name or address; null when the message had none.</summary>
    public string? Hostname { get; init; }

    /// <summary>The application (RFC 5424 APP-NAME; the program name of an RFC 3164 tag); null when absent.</summary>
    public string? AppName { get; init; }

    /// <summary>The process id (RFC 5424 PROCID; the <c>[pid]</c> of an RFC 3164 tag); null when absent.</summary>
    public string? ProcId { get; init; }

    /// <summary>The RFC 5424 MSGID; null when absent or for RFC 3164.</summary>
    public string? MsgId { get; init; }

    /// <summary>
    /// The tag as syslog daemons show it: the RFC 3164 TAG field as written (<c>sshd[123]:</c>), or for
    /// RFC 5424 the APP-NAME followed by <c>[PROCID]</c> when there is one. Empty when absent.
    /// </summary>
    public required string Tag { get; init; }

    /// <summary>The RFC 5424 structured data, in order; empty when there is none.</summary>
    public IReadOnlyList<SyslogStructuredDataElement> StructuredData { get; init; } = [];

    /// <summary>
    /// The free-form message. For RFC 3164 it is everything after the tag, including the leading space
    /// (as syslog daemons keep it); for RFC 5424 a leading UTF-8 byte order mark is removed.
    /// </summary>
    public required string Message { get; init; }

    /// <summary>Writes the message as one flat JSON object with dotted, ECS-style field names.</summary>
    /// <param name="writer">Where to write.</param>
    /// <remarks>
    /// Fields: <c>@timestamp</c>, <c>log.syslog.format</c>, <c>log.syslog.version</c>, <c>log.syslog.priority</c>,
    /// <c>log.syslog.facility.code</c>/<c>.name</c>, <c>log.syslog.severity.code</c>/<c>.name</c>,
    /// <c>host.hostname</c>, <c>log.syslog.appname</c>, <c>process.name</c>, <c>log.syslog.procid</c>,
    /// <c>process.pid</c> (when numeric), <c>log.syslog.msgid</c>, <c>log.syslog.tag</c>,
    /// <c>log.syslog.structured_data.&lt;SD-ID&gt;.&lt;name&gt;</c> (an array when a name repeats) and
    /// <c>message</c>. Absent values are left out.
    /// </remarks>
    public void WriteJson(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        if (Timestamp is { } ts)
        {
            writer.WriteString("@timestamp", ts.ToString(ts.Offset == TimeSpan.Zero ? "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture));
        }

        writer.WriteString("log.syslog.format", Format == SyslogFormat.Rfc5424 ? "rfc5424" : "rfc3164");
        if (Format == SyslogFormat.Rfc5424)
        {
            writer.WriteNumber("log.syslog.version", 1);
        }

        writer.WriteNumber("log.syslog.priority", Priority);
        writer.WriteNumber("log.syslog.facility.code", Facility);
        writer.WriteString("log.syslog.facility.name", FacilityName);
        writer.WriteNumber("log.syslog.severity.code", Severity);
        writer.WriteString("log.syslog.severity.name", SeverityName);
        WriteIfPresent(writer, "host.hostname", Hostname);
        WriteIfPresent(writer, "log.syslog.appname", AppName);
        WriteIfPresent(writer, "process.name", AppName);
        WriteIfPresent(writer, "log.syslog.procid", ProcId);
        if (ProcId is not null && int.TryParse(ProcId, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            writer.WriteNumber("process.pid", pid);
        }

        WriteIfPresent(writer, "log.syslog.msgid", MsgId);
        if (Tag.Length > 0)
        {
            writer.WriteString("log.syslog.tag", Tag);
        }

        foreach (var element in StructuredData)
        {
            var parameters = element.Parameters;
            for (var i = 0; i < parameters.Count; i++)
            {
                var name = parameters[i].Key;
                if (IndexOfName(parameters, name) != i)
                {
                    continue; // written with its first occurrence
                }

                var key = "log.syslog.structured_data." + element.Id + "." + name;
                if (IndexOfName(parameters, name, i + 1) < 0)
                {
                    writer.WriteString(key, parameters[i].Value);
                    continue;
                }

                writer.WriteStartArray(key);
                for (var j = i; j < parameters.Count; j++)
                {
                    if (string.Equals(parameters[j].Key, name, StringComparison.Ordinal))
                    {
                        writer.WriteStringValue(parameters[j].Value);
                    }
                }

                writer.WriteEndArray();
            }

            if (parameters.Count == 0)
            {
                writer.WriteStartObject("log.syslog.structured_data." + element.Id);
                writer.WriteEndObject();
            }
        }

        writer.WriteString("message", Message);
        writer.WriteEndObject();
    }

    /// <summary>Returns the message as one flat UTF-8 JSON object (see <see cref="WriteJson(Utf8JsonWriter)"/>).</summary>
    /// <returns>The JSON bytes.</returns>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (Message.Length * 2));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteJson(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteIfPresent(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static int IndexOfName(IReadOnlyList<KeyValuePair<string, string>> parameters, string name, int from = 0)
    {
        for (var i = from; i < parameters.Count; i++)
        {
            if (string.Equals(parameters[i].Key, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
