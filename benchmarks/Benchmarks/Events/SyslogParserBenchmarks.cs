using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Benchmarks.Events;

/// <summary>
/// Parses every input of rsyslog's parser tests (../shared/data/events/syslog) per invocation: RFC 3164
/// variants and RFC 5424 with structured data. Parsing alone is the baseline; the second method also
/// writes the flat JSON event. Divide the time by the message count (printed as Messages) for per-event cost.
/// </summary>
[MemoryDiagnoser]
public class SyslogParserBenchmarks
{
    private static readonly SyslogParserOptions Options = new() { ReferenceTime = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) };

    private byte[][] _messages = [];

    [Params("rfc3164", "rfc5424")]
    public string Kind { get; set; } = "rfc3164";

    [GlobalSetup]
    public void Setup()
    {
        var messages = new List<byte[]>();
        foreach (var file in Directory.GetFiles(Path.Combine(EventData.Root(), "events", "syslog", "rsyslog-parsertests"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            {
                var input = c.GetProperty("input").GetString()!;
                var is5424 = input.StartsWith('<') && input.Contains(">1 ", StringComparison.Ordinal);
                if (is5424 == (Kind == "rfc5424"))
                {
                    messages.Add(Encoding.UTF8.GetBytes(input));
                }
            }
        }

        _messages = [.. messages];
    }

    [Benchmark(Baseline = true)]
    public int Parse()
    {
        var n = 0;
        foreach (var m in _messages)
        {
            n += SyslogParser.Parse(m, Options).Message.Length;
        }

        return n;
    }

    [Benchmark]
    public int ParseToJson()
    {
        var n = 0;
        foreach (var m in _messages)
        {
            n += SyslogParser.Parse(m, Options).ToJson().Length;
        }

        return n;
    }

    [Benchmark]
    public int ParseCef()
    {
        var n = 0;
        foreach (var _ in _messages)
        {
            n += CefParser.Parse("CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 msg=a value with spaces act=blocked").Extensions.Count;
        }

        return n;
    }
}
