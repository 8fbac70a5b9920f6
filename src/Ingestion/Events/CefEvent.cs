using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace McpSecurity.Ingestion.Events;

/// <summary>An ArcSight Common Event Format (CEF) event: the seven header fields and the extension.</summary>
public sealed class CefEvent
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The CEF format version (the number after <c>CEF:</c>).</summary>
    public required int Version { get; init; }

    /// <summary>Device Vendor.</summary>
    public required string DeviceVendor { get; init; }

    /// <summary>Device Product.</summary>
    public required string DeviceProduct { get; init; }

    /// <summary>Device Version.</summary>
    public required string DeviceVersion { get; init; }

    /// <summary>Device Event Class ID (signature id).</summary>
    public required string DeviceEventClassId { get; init; }

    /// <summary>Name: a human-readable description of the event.</summary>
    public required string Name { get; init; }

    /// <summary>Severity as written: an integer 0-10 or one of Unknown, Low, Medium, High, Very-High.</summary>
    public required string Severity { get; init; }

    /// <summary>
    /// Severity on the 0-10 scale: the number, or Low=3, Medium=6, High=8, Very-High=10 for the words;
    /// null when it is neither.
    /// </summary>
    public int? SeverityLevel { get; init; }

    /// <summary>The extension key-value pairs in order, values unescaped.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Extensions { get; init; }

    /// <summary>Text before <c>CEF:</c>, such as a syslog header; null when the event starts with <c>CEF:</c>.</summary>
    public string? Prefix { get; init; }

    /// <summary>Returns the value of the first extension with this key (case-sensitive, as CEF keys are), or null.</summary>
    /// <param name="key">The extension key, such as <c>src</c> or <c>suser</c>.</param>
    /// <returns>The value or null.</returns>
    public string? GetExtension(string key)
    {
        for (var i = 0; i < Extensions.Count; i++)
        {
            if (string.Equals(Extensions[i].Key, key, StringComparison.Ordinal))
            {
                return Extensions[i].Value;
            }
        }

        return null;
    }

    /// <summary>Writes the event as one flat JSON object.</summary>
    /// <param name="writer">Where to write.</param>
    /// <remarks>
    /// Fields: <c>cef.version</c>, <c>cef.device.vendor</c>, <c>cef.device.product</c>, <c>cef.device.version</c>,
    /// <c>cef.device.event_class_id</c>, <c>cef.name</c>, <c>cef.severity</c>, <c>event.severity</c> (0-10, when known)
    /// and <c>cef.extensions.&lt;key&gt;</c> for every extension (the last value wins when a key repeats). A custom
    /// field with a label (<c>cs1Label=Policy cs1=x</c>) is also written as <c>cef.labels.&lt;label&gt;</c>.
    /// </remarks>
    public void WriteJson(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteNumber("cef.version", Version);
        writer.WriteString("cef.device.vendor", DeviceVendor);
        writer.WriteString("cef.device.product", DeviceProduct);
        writer.WriteString("cef.device.version", DeviceVersion);
        writer.WriteString("cef.device.event_class_id", DeviceEventClassId);
        writer.WriteString("cef.name", Name);
        writer.WriteString("cef.severity", Severity);
        if (SeverityLevel is { } level)
        {
            writer.WriteNumber("event.severity", level);
        }

        for (var i = 0; i < Extensions.Count; i++)
        {
            var key = Extensions[i].Key;
            if (LastIndexOf(key) == i)
            {
                writer.WriteString("cef.extensions." + key, Extensions[i].Value);
            }
        }

        for (var i = 0; i < Extensions.Count; i++)
        {
            var key = Extensions[i].Key;
            if (key.EndsWith("Label", StringComparison.Ordinal) && key.Length > 5 && LastIndexOf(key) == i)
            {
                var value = GetExtension(key[..^5]);
                if (value is not null && Extensions[i].Value.Length > 0)
                {
                    writer.WriteString("cef.labels." + Extensions[i].Value, value);
                }
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>Returns the event as one flat UTF-8 JSON object (see <see cref="WriteJson(Utf8JsonWriter)"/>).</summary>
    /// <returns>The JSON bytes.</returns>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteJson(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static int? LevelOf(string severity)
    {
        if (int.TryParse(severity, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return n <= 10 ? n : null;
        }

        return severity.ToUpperInvariant() switch
        {
            "LOW" => 3,
            "MEDIUM" => 6,
            "HIGH" => 8,
            "VERY-HIGH" or "VERY HIGH" => 10,
            _ => null,
        };
    }

    private int LastIndexOf(string key)
    {
        for (var i = Extensions.Count - 1; i >= 0; i--)
        {
            if (string.Equals(Extensions[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
