using System.Globalization;
using System.Text.Json;
using McpSecurity.Core.Alerts;

namespace McpSecurity.Server.Detection;

/// <summary>
/// Reads an event's time and entities (host, user, process, source and destination IP) from the shapes the
/// platform ingests: Windows evtx-JSON (<c>Event.System.*</c>, <c>Event.EventData.*</c>), Elastic Common
/// Schema (nested or dotted keys), OCSF and flat JSON. Used on matching events only, not per event.
/// </summary>
public static class EventFacts
{
    private static readonly string[][] TimePaths =
    [
        ["Event", "System", "TimeCreated", "#attributes", "SystemTime"],
        ["Event", "System", "TimeCreated", "SystemTime"],
        ["@timestamp"], ["timestamp"], ["time"], ["TimeCreated"], ["EventTime"], ["event", "created"],
    ];

    private static readonly string[][] HostPaths = [["Event", "System", "Computer"], ["host", "name"], ["host", "hostname"], ["device", "hostname"], ["Computer"], ["hostname"], ["host"]];

    private static readonly string[][] UserPaths =
    [
        ["Event", "EventData", "User"], ["Event", "EventData", "TargetUserName"], ["Event", "EventData", "SubjectUserName"], ["Event", "EventData", "AccountName"],
        ["user", "name"], ["actor", "user", "name"], ["User"], ["user"], ["username"], ["TargetUserName"], ["SubjectUserName"],
    ];

    private static readonly string[][] ProcessPaths =
    [
        ["Event", "EventData", "Image"], ["Event", "EventData", "NewProcessName"], ["Event", "EventData", "ProcessName"], ["Event", "EventData", "SourceImage"],
        ["process", "executable"], ["process", "name"], ["actor", "process", "file", "path"], ["process", "file", "path"], ["Image"], ["process"],
    ];

    private static readonly string[][] SourceIpPaths =
    [
        ["Event", "EventData", "SourceIp"], ["Event", "EventData", "IpAddress"], ["Event", "EventData", "SourceAddress"], ["source", "ip"], ["src_endpoint", "ip"],
        ["SourceIp"], ["src_ip"], ["src"],
    ];

    private static readonly string[][] DestinationIpPaths =
    [
        ["Event", "EventData", "DestinationIp"], ["Event", "EventData", "DestAddress"], ["destination", "ip"], ["dst_endpoint", "ip"], ["DestinationIp"], ["dst_ip"], ["dst"],
    ];

    /// <summary>The event's time, or null when it names none that parses.</summary>
    public static DateTimeOffset? ReadTime(JsonElement root)
    {
        foreach (var path in TimePaths)
        {
            if (Find(root, path) is not { } value)
            {
                continue;
            }

            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var epoch))
            {
                // OCSF and many JSON logs use epoch milliseconds; seconds are told apart by size.
                return epoch > 100_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds(epoch) : DateTimeOffset.FromUnixTimeSeconds(epoch);
            }

            if (value.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>The time of a UTF-8 JSON event, or null (also for input that is not JSON).</summary>
    public static DateTimeOffset? ReadTime(ReadOnlyMemory<byte> utf8Json)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = 64 });
            return ReadTime(doc.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The event's entities.</summary>
    public static AlertEntities ReadEntities(JsonElement root) => new(
        First(root, HostPaths, 255),
        First(root, UserPaths, 255),
        First(root, ProcessPaths, 1024),
        First(root, SourceIpPaths, 64),
        First(root, DestinationIpPaths, 64));

    /// <summary>Entities from correlation group-by values, by the names of the group-by fields.</summary>
    public static AlertEntities FromGroupBy(IReadOnlyList<string> fields, IReadOnlyList<string?> values)
    {
        string? host = null, user = null, process = null, src = null, dst = null;
        for (var i = 0; i < fields.Count && i < values.Count; i++)
        {
            if (Clean(values[i], 1024) is not { } v)
            {
                continue;
            }

            switch (fields[i].ToLowerInvariant())
            {
                case "computer" or "computername" or "hostname" or "host" or "host.name" or "workstationname":
                    host ??= v;
                    break;
                case "user" or "username" or "targetusername" or "subjectusername" or "user.name" or "accountname":
                    user ??= v;
                    break;
                case "image" or "process" or "process.executable" or "newprocessname" or "processname":
                    process ??= v;
                    break;
                case "sourceip" or "ipaddress" or "src_ip" or "source.ip" or "sourceaddress":
                    src ??= v;
                    break;
                case "destinationip" or "dst_ip" or "destination.ip" or "destaddress":
                    dst ??= v;
                    break;
                default:
                    break;
            }
        }

        return new AlertEntities(host, user, process, src, dst);
    }

    private static string? First(JsonElement root, string[][] paths, int maxLength)
    {
        foreach (var path in paths)
        {
            if (Find(root, path) is { } value && Clean(value, maxLength) is { } text)
            {
                return text;
            }
        }

        return null;
    }

    private static string? Clean(JsonElement value, int maxLength) => value.ValueKind switch
    {
        JsonValueKind.String => Clean(value.GetString(), maxLength),
        JsonValueKind.Number => Clean(value.GetRawText(), maxLength),
        _ => null,
    };

    private static string? Clean(string? value, int maxLength)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text) || text is "-" or "::" or "N/A")
        {
            return null;
        }

        return text.Length > maxLength ? text[..maxLength] : text;
    }

    /// <summary>Follows a path through nested objects; at each level a dotted key holding the rest of the path also counts (ECS).</summary>
    private static JsonElement? Find(JsonElement element, string[] path, int start = 0)
    {
        if (start == path.Length)
        {
            return element;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (element.TryGetProperty(path[start], out var child) && Find(child, path, start + 1) is { } found)
        {
            return found;
        }

        if (path.Length - start > 1 && element.TryGetProperty(string.Join('.', path, start, path.Length - start), out var dotted))
        {
            return dotted;
        }

        return null;
    }
}
