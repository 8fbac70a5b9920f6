using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using McpSecurity.Detection.Evtx;
using McpSecurity.Detection.Runner;

namespace McpSecurity.Detection.Tests;

/// <summary>
/// The native <c>.evtx</c> reader against the real recordings of SigmaHQ's regression data (each case holds
/// an <c>.evtx</c> file and the evtx-JSON rendering of the same records), and against damaged copies of them.
/// </summary>
public sealed class EvtxReaderTests(SigmaHqFixture fixture)
{
    private static string EvtxOf(RegressionCase c) => Path.Combine(Path.GetDirectoryName(c.EventsFile)!, "events.evtx");

    private IEnumerable<RegressionCase> WithEvtx => fixture.Cases.Where(c => File.Exists(EvtxOf(c)));

    [Fact]
    public void Every_record_reads_to_the_same_json_as_the_reference_rendering()
    {
        var cases = 0;
        var records = 0;
        var mismatches = new List<string>();
        foreach (var c in WithEvtx)
        {
            cases++;
            var expected = EventStreamReader.Split(File.ReadAllBytes(c.EventsFile));
            var actual = EvtxReader.ReadFile(EvtxOf(c)).ToList();
            Assert.All(actual, r => Assert.Null(r.Error));
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < actual.Count; i++)
            {
                records++;
                // The reference renderings come from more than one converter version: one prints FILETIMEs with
                // nanoseconds, the others (and this reader) with microseconds.
                var want = JsonNode.Parse(Regex.Replace(Encoding.UTF8.GetString(expected[i].Span), @"(T\d\d:\d\d:\d\d\.\d{6})\d{1,3}Z", "$1Z"))!;
                var got = JsonNode.Parse(actual[i].Json)!;
                Assert.True(JsonNode.DeepEquals(want["Event"]!["System"], got["Event"]!["System"]), $"{c.RuleId} record {i}: {Difference(want, got, "$")}");
                if (!JsonNode.DeepEquals(want, got))
                {
                    mismatches.Add($"{c.RuleId} record {i}: {Difference(want, got, "$")}");
                }
            }
        }

        Assert.True(cases > 0, "no regression case has an .evtx recording");
        // A few reference renderings were made from another capture of the same event (e.g. a parent command line
        // in other letter case): System must agree everywhere, the whole event almost everywhere.
        TestContext.Current.SendDiagnosticMessage($"{records} records of {cases} .evtx files read; {mismatches.Count} differ from the reference JSON:\n{string.Join("\n", mismatches)}");
        Assert.True(mismatches.Count * 50 <= records, string.Join("\n", mismatches.Take(5)));
    }

    /// <summary>The first path where two JSON trees differ, with both sides.</summary>
    private static string Difference(JsonNode? want, JsonNode? got, string path)
    {
        if (want is JsonObject wo && got is JsonObject go)
        {
            foreach (var (key, value) in wo)
            {
                if (!go.ContainsKey(key))
                {
                    return $"{path}.{key} missing (expected {value?.ToJsonString()})";
                }

                if (!JsonNode.DeepEquals(value, go[key]))
                {
                    return Difference(value, go[key], path + "." + key);
                }
            }

            return $"{path}: unexpected keys {string.Join(", ", go.Select(p => p.Key).Where(k => !wo.ContainsKey(k)))}";
        }

        return $"{path}: expected {want?.ToJsonString() ?? "null"}, got {got?.ToJsonString() ?? "null"}";
    }

    [Fact]
    public void Rules_match_the_records_read_from_evtx_as_they_match_the_reference_json()
    {
        foreach (var c in WithEvtx)
        {
            if (fixture.Rule(c.RuleId) is null)
            {
                continue;
            }

            var fromJson = Matches(EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)), c.RuleId);
            var fromEvtx = Matches(EvtxReader.ReadFile(EvtxOf(c)).Select(r => (ReadOnlyMemory<byte>)r.Json!).ToList(), c.RuleId);
            Assert.True(fromJson == fromEvtx, $"{c.RuleId}: {fromJson} matches from the JSON, {fromEvtx} from the .evtx");
        }
    }

    private int Matches(IReadOnlyList<ReadOnlyMemory<byte>> events, string ruleId)
    {
        var sink = new CollectingMatchSink();
        foreach (var e in events)
        {
            fixture.Engine.Evaluate(new SecurityEventView(e), sink);
        }

        return sink.Matches.Count(m => m.Rule.Id == ruleId);
    }

    [Fact]
    public void Event_stream_reader_recognises_evtx_files()
    {
        var c = WithEvtx.First();
        var events = EventStreamReader.Split(File.ReadAllBytes(EvtxOf(c)));
        Assert.Equal(EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)).Count, events.Count);
        Assert.All(events, e => Assert.StartsWith("{\"Event\":", System.Text.Encoding.UTF8.GetString(e.Span), StringComparison.Ordinal));
    }

    [Fact]
    public void A_file_that_is_not_evtx_is_refused_with_the_offset()
    {
        var ex = Assert.Throws<InvalidDataException>(() => EvtxReader.Read(new byte[4096]).ToList());
        Assert.Contains("offset 0", ex.Message, StringComparison.Ordinal);

        var bytes = File.ReadAllBytes(EvtxOf(WithEvtx.First()));
        bytes[38] = 9; // major version
        Assert.Contains("offset 32", Assert.Throws<InvalidDataException>(() => EvtxReader.Read(bytes).ToList()).Message, StringComparison.Ordinal);

        bytes = File.ReadAllBytes(EvtxOf(WithEvtx.First()));
        bytes[20] ^= 0xFF; // inside the checksummed header
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => EvtxReader.Read(bytes).ToList()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_chunk_is_reported_with_its_offset_and_skipped()
    {
        var bytes = File.ReadAllBytes(EvtxOf(WithEvtx.First()));
        bytes[EvtxReader.FileHeaderSize + 700] ^= 0x5A; // inside the records: the records checksum no longer holds
        var records = EvtxReader.Read(bytes).ToList();
        var error = Assert.Single(records);
        Assert.Null(error.Json);
        Assert.Contains($"offset {EvtxReader.FileHeaderSize + 52}", error.Error, StringComparison.Ordinal);
        Assert.Contains("checksum", error.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Bounded fuzzing: damaged copies of real recordings, with the chunk checksums recomputed so the damage
    /// reaches the Binary XML parser. Every outcome is a record or a reported error naming an offset inside the
    /// file; nothing else is thrown and nothing loops.
    /// </summary>
    [Fact]
    public void Corrupted_records_are_reported_with_offsets_and_never_throw()
    {
        var random = new Random(20260302);
        var files = WithEvtx.Take(25).Select(c => File.ReadAllBytes(EvtxOf(c))).ToList();
        var reported = 0;
        for (var round = 0; round < 1500; round++)
        {
            var bytes = (byte[])files[round % files.Count].Clone();
            var free = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(EvtxReader.FileHeaderSize + 48));
            var flips = 1 + random.Next(8);
            for (var i = 0; i < flips; i++)
            {
                var at = EvtxReader.FileHeaderSize + EvtxReader.ChunkHeaderSize + random.Next(free - EvtxReader.ChunkHeaderSize);
                bytes[at] = round % 3 == 0 ? (byte)random.Next(256) : (byte)(bytes[at] ^ (1 << random.Next(8)));
            }

            Rechecksum(bytes, free);
            var records = EvtxReader.Read(bytes).ToList();
            Assert.NotEmpty(records);
            foreach (var r in records)
            {
                if (r.Error is { } error)
                {
                    reported++;
                    Assert.Null(r.Json);
                    Assert.StartsWith("offset ", error, StringComparison.Ordinal);
                    var offset = long.Parse(error.AsSpan(7, error.IndexOf(':', StringComparison.Ordinal) - 7), System.Globalization.CultureInfo.InvariantCulture);
                    Assert.InRange(offset, 0, bytes.Length);
                }
                else
                {
                    Assert.NotNull(JsonNode.Parse(r.Json!));
                }
            }
        }

        Assert.True(reported > 100, $"only {reported} damaged records were reported");

        // Truncated files: every cut yields what is readable and errors, never an exception past the header.
        var whole = files[0];
        for (var cut = EvtxReader.FileHeaderSize; cut < whole.Length; cut += 997)
        {
            var records = EvtxReader.Read(whole.AsMemory(0, cut)).ToList();
            Assert.All(records, r => Assert.True(r.Json is not null || r.Error!.Contains("truncated", StringComparison.Ordinal), r.Error));
        }
    }

    private static void Rechecksum(byte[] bytes, int free)
    {
        var chunk = bytes.AsSpan(EvtxReader.FileHeaderSize, EvtxReader.ChunkSize);
        BinaryPrimitives.WriteUInt32LittleEndian(chunk[52..], EvtxReader.Crc32(chunk[EvtxReader.ChunkHeaderSize..free]));
        var header = new byte[120 + 384];
        chunk[..120].CopyTo(header);
        chunk[128..512].CopyTo(header.AsSpan(120));
        BinaryPrimitives.WriteUInt32LittleEndian(chunk[124..], EvtxReader.Crc32(header));
    }
}
