using System.IO.Compression;
using System.Text;
using System.Text.Json;
using McpSecurity.Ingestion.Events;
using McpSecurity.Testing;

namespace McpSecurity.Ingestion.Tests.Events;

public sealed class JsonEventReaderTests
{
    public static TheoryData<string> RegressionCases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(TestData.Path("sigma", "regression")).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(dir));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RegressionCases))]
    public void EvtxJson_EveryRecordIsReadAsOneWindowsEvent(string caseId)
    {
        var dir = TestData.Path("sigma", "regression", caseId);
        using var caseJson = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "case.json")));
        var expected = caseJson.RootElement.GetProperty("event_count").GetInt32();
        var fileBytes = File.ReadAllBytes(Path.Combine(dir, "events.json"));

        var records = JsonEventReader.ReadFile(Path.Combine(dir, "events.json"), cancellationToken: TestContext.Current.CancellationToken).ToList();

        Assert.All(records, r => Assert.False(r.IsError, r.ToString()));
        Assert.Equal(expected, records.Count);
        var lastLine = 0L;
        foreach (var record in records)
        {
            using var doc = JsonDocument.Parse(record.Payload);
            Assert.True(doc.RootElement.GetProperty("Event").TryGetProperty("System", out _));
            Assert.True(record.Line > lastLine);
            lastLine = record.Line;
            Assert.True(fileBytes.AsSpan().IndexOf(record.Payload.Span) >= 0, "the payload must be the raw bytes of the input");
        }
    }

    [Fact]
    public void CloudTrailArrays_EveryElementIsAnEvent()
    {
        var files = Directory.GetFiles(TestData.Path("events", "cloudtrail"), "*.json", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            using var whole = JsonDocument.Parse(File.ReadAllBytes(file));
            var records = JsonEventReader.ReadFile(file, cancellationToken: TestContext.Current.CancellationToken).ToList();
            Assert.All(records, r => Assert.False(r.IsError, $"{file}: {r}"));
            Assert.Equal(whole.RootElement.GetArrayLength(), records.Count);
            var i = 0;
            foreach (var element in whole.RootElement.EnumerateArray())
            {
                using var doc = JsonDocument.Parse(records[i++].Payload);
                Assert.Equal(element.GetProperty("eventID").GetString(), doc.RootElement.GetProperty("eventID").GetString());
            }
        }
    }

    [Fact]
    public void Ndjson_BadLinesAreReportedWithTheirLineAndTheStreamContinues()
    {
        var (good, text) = NdjsonFromCloudTrail();
        var lines = text.Split('\n').ToList();
        lines.Insert(1, "this is not json");
        lines.Insert(3, "{\"truncated\": \"abc");
        lines.Insert(5, "{\"bad\": tru}");
        lines.Insert(7, "[1, 2]");
        lines.Insert(9, "");
        var input = Encoding.UTF8.GetBytes(string.Join('\n', lines));

        var records = JsonEventReader.Read(input).ToList();

        Assert.Equal(good.Count, records.Count(r => !r.IsError));
        var errors = records.Where(r => r.IsError).ToList();
        Assert.Equal(new long[] { 2, 4, 6, 8, 8 }, errors.Select(e => e.Line).ToArray());
        Assert.Contains("Expected a JSON object", errors[0].Error, StringComparison.Ordinal);
        Assert.Contains("not closed", errors[1].Error, StringComparison.Ordinal);
        Assert.Contains("Invalid JSON", errors[2].Error, StringComparison.Ordinal);
        var events = records.Where(r => !r.IsError).ToList();
        for (var i = 0; i < good.Count; i++)
        {
            Assert.Equal(good[i], Encoding.UTF8.GetString(events[i].Payload.Span));
        }
    }

    [Fact]
    public void Gzip_IsDetectedByMagicBytes()
    {
        var (good, text) = NdjsonFromCloudTrail();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        compressed.Position = 0;
        var records = JsonEventReader.Read(compressed, cancellationToken: TestContext.Current.CancellationToken).ToList();

        Assert.All(records, r => Assert.False(r.IsError, r.ToString()));
        Assert.Equal(good, records.Select(r => Encoding.UTF8.GetString(r.Payload.Span)).ToList());
    }

    [Fact]
    public void CorruptGzip_IsReportedNotThrown()
    {
        var (_, text) = NdjsonFromCloudTrail();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        var bytes = compressed.ToArray();
        for (var i = 20; i < bytes.Length; i += 7)
        {
            bytes[i] ^= 0x5A;
        }

        var records = JsonEventReader.Read(bytes).ToList();

        Assert.True(records.Count > 0);
        Assert.True(records[^1].IsError);
    }

    [Fact]
    public void HugeEvent_IsRejectedWithoutBufferingAndReadingGoesOn()
    {
        var options = new EventReaderOptions { MaxEventBytes = 64 * 1024 };
        using var stream = new ConcatStream(
            "{\"ok\":1}\n{\"big\":\""u8.ToArray(),
            new RepeatStream((byte)'a', 200L * 1024 * 1024),
            "\"}\n{\"ok\":2}\n"u8.ToArray());

        var records = JsonEventReader.Read(stream, options, TestContext.Current.CancellationToken).ToList();

        Assert.Equal(3, records.Count);
        Assert.Equal("{\"ok\":1}", Encoding.UTF8.GetString(records[0].Payload.Span));
        Assert.True(records[1].IsError);
        Assert.Equal(2, records[1].Line);
        Assert.Contains("MaxEventBytes", records[1].Error, StringComparison.Ordinal);
        Assert.Equal("{\"ok\":2}", Encoding.UTF8.GetString(records[2].Payload.Span));
    }

    [Fact]
    public void DeepNesting_IsRejectedAndReadingGoesOn()
    {
        var options = new EventReaderOptions { MaxDepth = 8 };
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 20)) + "1" + new string('}', 20);
        var input = Encoding.UTF8.GetBytes("{\"ok\":1}\n" + deep + "\n{\"ok\":[[[1]]]}\n");

        var records = JsonEventReader.Read(input, options).ToList();

        Assert.Equal(3, records.Count);
        Assert.True(records[1].IsError);
        Assert.Contains("MaxDepth", records[1].Error, StringComparison.Ordinal);
        Assert.False(records[2].IsError);
    }

    [Fact]
    public void UnclosedPrettyObject_IsCutAtTheNextObjectOnColumnZero()
    {
        var input = Encoding.UTF8.GetBytes("{\n  \"a\": {\n    \"b\": 1\n}\n{\n  \"c\": 2\n}\n");

        var records = JsonEventReader.Read(input).ToList();

        Assert.Equal(2, records.Count);
        Assert.True(records[0].IsError);
        Assert.Equal(1, records[0].Line);
        Assert.Equal(5, records[1].Line);
        Assert.Equal("{\n  \"c\": 2\n}", Encoding.UTF8.GetString(records[1].Payload.Span));
    }

    [Fact]
    public void ByteOrderMarkAndTruncatedEnd_AreHandled()
    {
        var input = "\uFEFF{\"a\":1}\n{\"b\":"u8.ToArray();
        var utf8 = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("{\"a\":1}\n{\"b\":")).ToArray();
        Assert.NotEmpty(input);

        var records = JsonEventReader.Read(utf8).ToList();

        Assert.Equal(2, records.Count);
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(records[0].Payload.Span));
        Assert.True(records[1].IsError);
        Assert.Equal(2, records[1].Line);
    }

    [Fact]
    public void InvalidUtf8InsideAString_IsReported()
    {
        byte[] input = [.. "{\"a\":\""u8, 0xC3, 0x28, .. "\"}\n{\"b\":1}"u8];

        var records = JsonEventReader.Read(input).ToList();

        Assert.True(records[0].IsError);
        Assert.False(records[1].IsError);
    }

    [Fact]
    public void Options_AreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => JsonEventReader.Read(ReadOnlyMemory<byte>.Empty, new EventReaderOptions { MaxDepth = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JsonEventReader.Read(ReadOnlyMemory<byte>.Empty, new EventReaderOptions { MaxEventBytes = 1 }));
    }

    [Fact]
    public void MaxInputBytes_StopsReading()
    {
        var (_, text) = NdjsonFromCloudTrail();
        var records = JsonEventReader.Read(Encoding.UTF8.GetBytes(text), new EventReaderOptions { MaxInputBytes = 100 }).ToList();
        Assert.True(records[^1].IsError);
        Assert.Contains("MaxInputBytes", records[^1].Error, StringComparison.Ordinal);
    }

    private static (List<string> Good, string Text) NdjsonFromCloudTrail()
    {
        var file = Directory.GetFiles(TestData.Path("events", "cloudtrail"), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var good = doc.RootElement.EnumerateArray().Select(e => JsonSerializer.Serialize(e)).ToList();
        return (good, string.Join('\n', good) + "\n");
    }
}
