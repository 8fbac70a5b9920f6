using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpSecurity.Detection.Runner;

/// <summary>
/// A benchmark stream built from SigmaHQ's regression events: every event of every case, each followed by
/// benign variants of the same shape and log source whose event data is replaced by ordinary values (paths,
/// command lines, registry keys, users, hashes). A variant that any rule of the checking engine still matches
/// is dropped, so the benign part really does not match.
/// </summary>
public sealed class DetectionCorpus
{
    private static readonly string[] Images =
    [
        @"C:\Windows\System32\notepad.exe",
        @"C:\Program Files\Contoso\Reports\reportviewer.exe",
        @"C:\Windows\System32\calc.exe",
        @"C:\Program Files\Contoso\Sync\contososync.exe",
        @"C:\Windows\System32\mspaint.exe",
    ];

    private DetectionCorpus(IReadOnlyList<byte[]> events, int attack, int benign, int dropped, int cases)
    {
        Events = events;
        AttackEvents = attack;
        BenignEvents = benign;
        DroppedBenign = dropped;
        Cases = cases;
    }

    /// <summary>The events, regression events each followed by its benign variants.</summary>
    public IReadOnlyList<byte[]> Events { get; }

    /// <summary>Regression (attack) events.</summary>
    public int AttackEvents { get; }

    /// <summary>Benign variants kept.</summary>
    public int BenignEvents { get; }

    /// <summary>Benign variants dropped because a rule matched them.</summary>
    public int DroppedBenign { get; }

    /// <summary>Regression cases read.</summary>
    public int Cases { get; }

    /// <summary>Reads every <c>events.json</c> under <paramref name="regressionDirectory"/> (one folder per case).</summary>
    /// <param name="regressionDirectory">SigmaHQ regression folder.</param>
    /// <param name="benignPerEvent">Benign variants made per regression event.</param>
    /// <param name="check">Engine that must not match any benign variant.</param>
    public static DetectionCorpus Build(string regressionDirectory, int benignPerEvent, SigmaEngine check)
    {
        ArgumentException.ThrowIfNullOrEmpty(regressionDirectory);
        ArgumentNullException.ThrowIfNull(check);
        if (!Directory.Exists(regressionDirectory))
        {
            throw new DirectoryNotFoundException($"Regression directory '{regressionDirectory}' does not exist.");
        }

        var dirs = Directory.GetDirectories(regressionDirectory);
        Array.Sort(dirs, StringComparer.Ordinal);
        var events = new List<byte[]>();
        int attack = 0, benign = 0, dropped = 0, cases = 0;
        var sink = new CountingMatchSink();
        foreach (var dir in dirs)
        {
            var file = Path.Combine(dir, "events.json");
            if (!File.Exists(file))
            {
                continue;
            }

            cases++;
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(file)))
            {
                events.Add(ev.ToArray());
                attack++;
                for (var i = 0; i < benignPerEvent; i++)
                {
                    var variant = Benign(ev, attack * 31 + i);
                    if (variant is null)
                    {
                        continue;
                    }

                    var before = sink.Count;
                    check.Evaluate(new SecurityEventView(variant), sink);
                    if (sink.Count != before)
                    {
                        dropped++;
                        continue;
                    }

                    events.Add(variant);
                    benign++;
                }
            }
        }

        return new DetectionCorpus(events, attack, benign, dropped, cases);
    }

    /// <summary>The events as NDJSON (one compact JSON object per line).</summary>
    public byte[] ToNdjson()
    {
        using var stream = new MemoryStream();
        foreach (var ev in Events)
        {
            using var doc = JsonDocument.Parse(ev);
            using (var writer = new Utf8JsonWriter(stream))
            {
                doc.WriteTo(writer);
            }

            stream.WriteByte((byte)'\n');
        }

        return stream.ToArray();
    }

    /// <summary>A benign variant of an evtx-JSON event (same shape and System block), or null when it has no event data.</summary>
    public static byte[]? Benign(ReadOnlyMemory<byte> ev, int variant)
    {
        var node = JsonNode.Parse(ev.Span);
        var data = node?["Event"]?["EventData"] as JsonObject ?? node?["Event"]?["UserData"] as JsonObject;
        if (data is null)
        {
            return null;
        }

        var image = Images[variant % Images.Length];
        Rewrite(data, image, variant);
        return Encoding.UTF8.GetBytes(node!.ToJsonString());
    }

    private static void Rewrite(JsonObject data, string image, int variant)
    {
        foreach (var key in data.Select(p => p.Key).ToArray())
        {
            var value = data[key];
            if (value is JsonObject nested)
            {
                Rewrite(nested, image, variant);
                continue;
            }

            if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String || key.StartsWith('#'))
            {
                continue;
            }

            var replacement = BenignValue(key, image, variant);
            if (replacement is not null)
            {
                data[key] = replacement;
            }
        }
    }

    private static string? BenignValue(string key, string image, int n)
    {
        var k = key.ToLowerInvariant();
        if (k.Contains("commandline", StringComparison.Ordinal))
        {
            return $"\"{image}\" /open \"C:\\Users\\alice\\Documents\\report{n}.txt\"";
        }

        if (k.EndsWith("image", StringComparison.Ordinal) || k is "imageloaded" or "newprocessname" or "parentprocessname" or "processname" or "application" or "sourceimage" or "targetimage")
        {
            return image;
        }

        if (k is "originalfilename")
        {
            return Path.GetFileName(image);
        }

        if (k is "targetobject" or "objectname" or "keyname")
        {
            return $@"HKU\S-1-5-21-1000\Software\Contoso\Reports\Setting{n}";
        }

        if (k.Contains("filename", StringComparison.Ordinal) || k.EndsWith("path", StringComparison.Ordinal) || k is "targetfilename" or "file")
        {
            return $@"C:\Users\alice\Documents\report{n}.docx";
        }

        if (k is "details" or "newvalue")
        {
            return "DWORD (0x00000001)";
        }

        if (k is "queryname" or "destinationhostname" or "sourcehostname" or "hostname" or "workstationname")
        {
            return $"intranet{n % 7}.contoso.example";
        }

        if (k is "scriptblocktext" or "payload" or "contextinfo" or "hostapplication" or "message")
        {
            return $"Get-Date -Format o # report {n}";
        }

        if (k.Contains("user", StringComparison.Ordinal) && !k.Contains("sid", StringComparison.Ordinal))
        {
            return "alice";
        }

        if (k.Contains("hash", StringComparison.Ordinal))
        {
            return "SHA256=4A1F0D7C2B9E8F6A5D4C3B2A1908F7E6D5C4B3A29180F7E6D5C4B3A291807F6E";
        }

        if (k is "description" or "product" or "company" or "fileversion")
        {
            return "Contoso Reports";
        }

        if (k is "pipename")
        {
            return $@"\contoso_reports_{n}";
        }

        if (k is "servicename" or "servicefilename" or "taskname" or "sharename" or "relativetargetname")
        {
            return $"ContosoReports{n % 5}";
        }

        return null;
    }
}
