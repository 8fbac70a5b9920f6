using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Benchmarks.Events;

/// <summary>
/// Reads NDJSON built from the real CloudTrail records in ../shared/data/events/cloudtrail (repeated to
/// the event count given), and the concatenated pretty-printed evtx-JSON of the Sigma regression cases.
/// For NDJSON one operation is one event (time and allocation are per event); the evtx-JSON figure is for
/// the whole regression set.
/// </summary>
[MemoryDiagnoser]
public class JsonEventReaderBenchmarks
{
    private const int Events = 10_000;

    private byte[] _ndjson = [];
    private byte[] _evtxJson = [];
    private int _evtxEvents;

    [GlobalSetup]
    public void Setup()
    {
        var records = new List<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(EventData.Root(), "events", "cloudtrail"), "*.json", SearchOption.AllDirectories))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                records.Add(JsonSerializer.Serialize(e));
            }
        }

        var sb = new StringBuilder();
        for (var i = 0; i < Events; i++)
        {
            sb.Append(records[i % records.Count]).Append('\n');
        }

        _ndjson = Encoding.UTF8.GetBytes(sb.ToString());

        using var evtx = new MemoryStream();
        foreach (var dir in Directory.GetDirectories(Path.Combine(EventData.Root(), "sigma", "regression")))
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, "events.json"));
            evtx.Write(bytes);
            evtx.WriteByte((byte)'\n');
        }

        _evtxJson = evtx.ToArray();
        _evtxEvents = 0;
        foreach (var r in JsonEventReader.Read(_evtxJson))
        {
            _evtxEvents += r.IsError ? 0 : 1;
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public long Ndjson()
    {
        long bytes = 0;
        foreach (var r in JsonEventReader.Read(_ndjson))
        {
            bytes += r.Payload.Length;
        }

        return bytes;
    }

    [Benchmark]
    public long EvtxJsonConcatenated()
    {
        long bytes = 0;
        foreach (var r in JsonEventReader.Read(_evtxJson))
        {
            bytes += r.Payload.Length;
        }

        return bytes + _evtxEvents;
    }
}

/// <summary>Finds ../shared/data for the event benchmarks.</summary>
internal static class EventData
{
    public static string Root()
    {
        var env = Environment.GetEnvironmentVariable("MCPSEC_TEST_DATA");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "..", "shared", "data") })
            {
                if (File.Exists(Path.Combine(candidate, "README.md")))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        throw new DirectoryNotFoundException("The shared test data folder was not found; set MCPSEC_TEST_DATA.");
    }
}
