using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpSecurity.Ingestion.Events;
using TestData = McpSecurity.Testing.TestData;

namespace McpSecurity.Ingestion.Tests.Events;

public sealed class SyslogParserTests
{
    private static readonly SyslogParserOptions Options = new() { ReferenceTime = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero) };

    private static readonly Lazy<byte[][]> Seeds = new(() =>
    {
        var seeds = Directory.GetFiles(TestData.Path("events", "syslog", "rsyslog-fuzz-corpus")).Select(File.ReadAllBytes).ToList();
        foreach (var file in Directory.GetFiles(TestData.Path("events", "syslog", "rsyslog-parsertests"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            seeds.AddRange(doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => Encoding.UTF8.GetBytes(c.GetProperty("input").GetString()!)));
        }

        return [.. seeds];
    });

    private static readonly byte[] Interesting = "<>[]\"\\= -:0123456789T.Z+\n\r\u00ff"u8.ToArray();

    public static TheoryData<string> FuzzCorpus()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(TestData.Path("events", "syslog", "rsyslog-fuzz-corpus")).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FuzzCorpus))]
    public void FuzzCorpusSeed_ParsesToValidJsonWithTheWholeMessage(string name)
    {
        var bytes = File.ReadAllBytes(TestData.Path("events", "syslog", "rsyslog-fuzz-corpus", name));

        var message = SyslogParser.Parse(bytes, Options);

        using var json = JsonDocument.Parse(message.ToJson());
        Assert.Equal(message.Message, json.RootElement.GetProperty("message").GetString());
        Assert.InRange(message.Priority, 0, 191);
        Assert.DoesNotContain('\n', message.Message);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.EndsWith(message.Message, text.TrimEnd('\n'), StringComparison.Ordinal);
        if (text.StartsWith('<') && text.Contains(">1 ", StringComparison.Ordinal))
        {
            Assert.Equal(SyslogFormat.Rfc5424, message.Format);
        }
    }

    [Fact]
    public void Rfc5424_AllFieldsAndEscapedStructuredData()
    {
        var m = SyslogParser.Parse("<34>1 2026-07-23T09:30:45.5+02:00 host.example app 123 ID7 [meta@32473 value=\"escaped\\]bracket\" quote=\"\\\"\" path=\"C:\\\\temp\\x\"][other k=\"1\" k=\"2\"] \uFEFFpayload text", Options);

        Assert.Equal(SyslogFormat.Rfc5424, m.Format);
        Assert.Equal(4, m.Facility);
        Assert.Equal(2, m.Severity);
        Assert.Equal("auth", m.FacilityName);
        Assert.Equal("crit", m.SeverityName);
        Assert.Equal(new DateTimeOffset(2026, 7, 23, 9, 30, 45, 500, TimeSpan.FromHours(2)), m.Timestamp);
        Assert.Equal("host.example", m.Hostname);
        Assert.Equal("app", m.AppName);
        Assert.Equal("123", m.ProcId);
        Assert.Equal("ID7", m.MsgId);
        Assert.Equal("app[123]", m.Tag);
        Assert.Equal("payload text", m.Message);
        Assert.Equal(2, m.StructuredData.Count);
        Assert.Equal("meta@32473", m.StructuredData[0].Id);
        Assert.Equal("escaped]bracket", m.StructuredData[0].Parameters[0].Value);
        Assert.Equal("\"", m.StructuredData[0].Parameters[1].Value);
        Assert.Equal("C:\\temp\\x", m.StructuredData[0].Parameters[2].Value);

        using var json = JsonDocument.Parse(m.ToJson());
        var root = json.RootElement;
        Assert.Equal("2026-07-23T09:30:45.5+02:00", root.GetProperty("@timestamp").GetString());
        Assert.Equal("rfc5424", root.GetProperty("log.syslog.format").GetString());
        Assert.Equal(34, root.GetProperty("log.syslog.priority").GetInt32());
        Assert.Equal("auth", root.GetProperty("log.syslog.facility.name").GetString());
        Assert.Equal("host.example", root.GetProperty("host.hostname").GetString());
        Assert.Equal(123, root.GetProperty("process.pid").GetInt32());
        Assert.Equal("escaped]bracket", root.GetProperty("log.syslog.structured_data.meta@32473.value").GetString());
        Assert.Equal(2, root.GetProperty("log.syslog.structured_data.other.k").GetArrayLength());
    }

    [Fact]
    public void Rfc5424_AllNil()
    {
        var m = SyslogParser.Parse("<13>1 - - - - - - minimal", Options);

        Assert.Equal(SyslogFormat.Rfc5424, m.Format);
        Assert.Null(m.Timestamp);
        Assert.Null(m.Hostname);
        Assert.Null(m.AppName);
        Assert.Null(m.ProcId);
        Assert.Null(m.MsgId);
        Assert.Empty(m.StructuredData);
        Assert.Equal("minimal", m.Message);
    }

    [Theory]
    [InlineData("<34>1 2026-07-23T09:30:45Z host app - - [unclosed a=\"b\" rest")]
    [InlineData("<34>1 2026-13-23T09:30:45Z host app - - - month 13")]
    [InlineData("<34>1 host-only")]
    public void Rfc5424_MalformedHeaderFallsBackToRfc3164(string input)
    {
        var m = SyslogParser.Parse(input, Options);

        Assert.Equal(SyslogFormat.Rfc3164, m.Format);
        Assert.Equal(34, m.Priority);
    }

    [Fact]
    public void Rfc3164_BsdTimestampGetsItsYearFromTheReferenceTime()
    {
        var m = SyslogParser.Parse("<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed", Options);
        var december = SyslogParser.Parse("<34>Feb 28 22:14:15 mymachine su: x", Options);

        Assert.Equal(new DateTimeOffset(2025, 10, 11, 22, 14, 15, TimeSpan.Zero), m.Timestamp);
        Assert.False(m.TimestampHasYear);
        Assert.Equal(2026, december.Timestamp!.Value.Year);
        Assert.Equal("mymachine", m.Hostname);
        Assert.Equal("su", m.AppName);
        Assert.Equal("42", m.ProcId);
        Assert.Equal("su[42]:", m.Tag);
        Assert.Equal(" 'su root' failed", m.Message);
    }

    [Fact]
    public void Rfc3164_LeapDayWithoutYearUsesTheLastLeapYear()
    {
        var m = SyslogParser.Parse("<34>Feb 29 01:02:03 host tag: x", Options);

        Assert.Equal(new DateTime(2024, 2, 29, 1, 2, 3, DateTimeKind.Unspecified), m.Timestamp!.Value.DateTime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    public void EmptyInput_ThrowsTheDocumentedException(string input)
    {
        Assert.Throws<SyslogFormatException>(() => SyslogParser.Parse(input, Options));
        Assert.False(SyslogParser.TryParse(Encoding.UTF8.GetBytes(input), out _, Options));
    }

    [Fact]
    public void OversizedInput_ThrowsTheDocumentedException()
    {
        var ex = Assert.Throws<SyslogFormatException>(() => SyslogParser.Parse(new string('a', 100), new SyslogParserOptions { MaxMessageBytes = 50 }));
        Assert.Contains("MaxMessageBytes", ex.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 2000)]
    public Property MutatedSeeds_ParseOrThrowOnlyTheDocumentedException(NonNegativeInt seedIndex, int[] positions, byte[] values, bool truncate, NonNegativeInt cut)
    {
        var seeds = Seeds.Value;
        var bytes = (byte[])seeds[seedIndex.Get % seeds.Length].Clone();
        for (var i = 0; i < positions.Length && bytes.Length > 0; i++)
        {
            var at = (int)((uint)positions[i] % (uint)bytes.Length);
            var value = values.Length > i ? values[i] : (byte)0;
            bytes[at] = (value & 1) == 0 ? value : Interesting[value % Interesting.Length];
        }

        var length = truncate && bytes.Length > 0 ? cut.Get % bytes.Length : bytes.Length;
        return ParsesOrRejects(bytes.AsSpan(0, length)).ToProperty();
    }

    [Property(MaxTest = 1000)]
    public Property RandomBytes_ParseOrThrowOnlyTheDocumentedException(byte[] bytes) => ParsesOrRejects(bytes).ToProperty();

    private static bool ParsesOrRejects(ReadOnlySpan<byte> input)
    {
        try
        {
            var m = SyslogParser.Parse(input, Options);
            using var json = JsonDocument.Parse(m.ToJson());
            return json.RootElement.TryGetProperty("message", out _) && m.Priority is >= 0 and <= 191;
        }
        catch (SyslogFormatException)
        {
            return true;
        }
    }
}
