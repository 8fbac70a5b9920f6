using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpSecurity.Detection.Engine;
using McpSecurity.Detection.Mapping;
using McpSecurity.Detection.Runner;
using McpSecurity.Testing;

namespace McpSecurity.Detection.Tests;

/// <summary>
/// The event index against a plain reference: the event parsed into a <see cref="JsonDocument"/>, every leaf
/// addressed by its full dotted path (array elements by the path of their array) and resolved by the mapping
/// without any cache. Every value and every slot chain must come out the same, whatever the path table and the
/// property-order hints have learnt from earlier events.
/// </summary>
public sealed class EventIndexTests
{
    private const string ImageRule = "sel:\n  Image|endswith: '\\whoami.exe'\ncondition: sel";

    /// <summary>Events whose paths stress the resolution: flatten depth, spaces, escapes, arrays, other formats.</summary>
    private static readonly string[] Tricky =
    [
        // Nested flatten paths: EventData flattens two levels, System one, UserData eight; '#attributes' never.
        """{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Provider":{"#attributes":{"Name":"P","Guid":"G"}},"Execution":{"#attributes":{"ProcessID":4}}},"EventData":{"Image":"C:\\a.exe","Inner":{"Image":"nested","Deeper":{"Image":"too deep"}},"#attributes":{"Image":"attr"}}}}""",
        """{"Event":{"System":{"EventID":4,"Channel":"Security"},"UserData":{"A":{"B":{"C":{"D":{"E":{"F":{"G":{"CommandLine":"eight"},"CommandLine":"seven"}}}}}}}}}""",
        // Keys with spaces and a space-only key.
        """{"Event":{"System":{"EventID":1116,"Channel":"Microsoft-Windows-Windows Defender/Operational"},"EventData":{"Threat Name":"Trojan","Process Name":"C:\\x.exe"," ":"blank","Command Line":"a b"}}}""",
        // Escaped property names, escaped first property, escaped values of every kind.
        """{"\u0045vent":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Command\u004cine":"whoami \/all \"x\" \\\\srv\\share \t\n \u00e9\u00C9 \u0130 \ud83d\ude00 \u0000end","Im\u0061ge":"C:\\Windows\\System32\\WHOAMI.exe"}}}""",
        // Arrays of objects, arrays of scalars, nested arrays, empty containers, nulls, numbers, booleans.
        """{"Event":{"System":{"EventID":[1,2],"Channel":["a","Microsoft-Windows-Sysmon/Operational"]},"EventData":{"Data":[{"Name":"first","Image":"x.exe"},{"Name":"second","Value":[[1,{"Image":"deep"}],null]}],"Empty":{},"None":[],"Null":null,"Yes":true,"No":false,"Num":-1.5e3}}}""",
        """{"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":[{"CommandLine":"inside"},"after an object",["nested",{"User":"u"}],"last"],"User":"v"}}}""",
        // Repeated fields and non-ASCII text (raw UTF-8, two, three and four bytes).
        """{"Event":{"System":{"EventID":1,"EventID":2},"EventData":{"Image":"Ünïcödé ÀÉÎ","Image":"日本語 ΣΑΣ","Description":"😀 Microsoft® Windows®"}}}""",
        // Other formats: ECS, OCSF, flat dotted keys, winlog flattening, and an evtx-like body in the json format.
        """{"@timestamp":"2024-01-01","process":{"command_line":"whoami /all","executable":"C:\\whoami.exe","parent":{"executable":"cmd.exe","pid":7}},"user":{"name":"Bob"},"winlog":{"channel":"Security","event_data":{"TargetUserName":"alice","Nested":{"TargetUserName":"too deep"}}}}""",
        """{"class_uid":1007,"process":{"cmd_line":"x","file":{"path":"C:\\a.exe"}},"actor":{"user":{"name":"root"}},"dst_endpoint":{"ip":"10.0.0.1","port":443}}""",
        """{"user.name":"flat","cs-uri-query":"a=b","Event":{"EventData":{"Image":"C:\\whoami.exe"}},"EventID":4688}""",
        // Keys that look like paths and a leaf at the root.
        """{"Event":{"System.Channel":"dots","System":{"Channel":"Security"},"EventData":{"a.b":"dotted key","":"empty key"}},"Extra":1}""",
    ];

    [Fact]
    public void Index_matches_the_reference_on_regression_and_tricky_events()
    {
        var events = RegressionEvents();
        foreach (var text in Tricky)
        {
            events.Add(Encoding.UTF8.GetBytes(text));
        }

        var mapping = Mapping(events);
        var index = new EventIndex();
        foreach (var indexAll in new[] { false, true })
        {
            // Twice in a row and interleaved, so the table and the order hints are both cold and warm.
            for (var round = 0; round < 2; round++)
            {
                foreach (var ev in events)
                {
                    AssertSameAsReference(index, ev, mapping, indexAll);
                }
            }
        }

        Assert.InRange(mapping.Formats[0].KnownPathCount, 10, CompiledFormat.MaxCachedPaths);
    }

    [Fact]
    public void Index_matches_the_reference_when_built_concurrently_on_a_cold_mapping()
    {
        var events = RegressionEvents();
        foreach (var text in Tricky)
        {
            events.Add(Encoding.UTF8.GetBytes(text));
        }

        var mapping = Mapping(events);
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var index = new EventIndex();
            try
            {
                for (var i = 0; i < events.Count; i++)
                {
                    AssertSameAsReference(index, events[(i + (worker * 37)) % events.Count], mapping, worker % 2 == 0);
                }
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Routing_conditions_decide_like_a_scan_of_the_values_before_and_after_renames()
    {
        var events = RegressionEvents();
        foreach (var text in Tricky)
        {
            events.Add(Encoding.UTF8.GetBytes(text));
        }

        // A channel and an event id of every entry, in every combination the mapping routes on.
        foreach (var ls in FieldMappingConfig.Default.LogSources)
        {
            if (ls.When.TryGetValue("Channel", out var channels) && ls.When.TryGetValue("EventID", out var ids))
            {
                events.Add(Some.EvtxEvent(channels[0].ToUpperInvariant(), int.Parse(ids[^1], System.Globalization.CultureInfo.InvariantCulture), new { EventType = "DeleteKey", NewProcessName = "x" }));
            }
        }

        var mapping = Mapping(events);
        var index = new EventIndex();
        var matched = 0;
        foreach (var ev in events)
        {
            Assert.True(index.Build(ev, mapping, false, 64));
            foreach (var ls in mapping.LogSources)
            {
                var expected = ls.Format < 0 || ls.Format == index.Format;
                foreach (var (slot, values) in ls.When)
                {
                    var any = false;
                    for (var n = index.Head(slot); n >= 0; n = index.Next(n))
                    {
                        var v = index.ValueOf(n);
                        any |= !index.IsNull(v) && values.Contains(index.Lower(v).ToString());
                    }

                    expected &= any;
                }

                Assert.Equal(expected, ls.Matches(index));
                if (expected)
                {
                    matched++;
                    foreach (var (from, to) in ls.Renames)
                    {
                        index.Alias(from, to);
                    }
                }
            }
        }

        Assert.True(matched > events.Count / 2, $"{matched} entries matched");
    }

    [Fact]
    public void Paths_past_the_table_bound_still_resolve()
    {
        var events = RegressionEvents();
        var mapping = Mapping(events);
        var index = new EventIndex();
        var random = new Random(7);

        // Hostile events: thousands of distinct keys, flat and nested, until the table is full.
        for (var e = 0; e < 6; e++)
        {
            var data = new JsonObject();
            for (var k = 0; k < 1000; k++)
            {
                var key = "k" + random.NextInt64().ToString("x", System.Globalization.CultureInfo.InvariantCulture);
                data[key] = k % 3 == 0 ? new JsonObject { ["Image"] = "under " + key } : key;
            }

            var ev = Encoding.UTF8.GetBytes(new JsonObject { ["Event"] = new JsonObject { ["EventData"] = data } }.ToJsonString());
            AssertSameAsReference(index, ev, mapping, false);
        }

        Assert.Equal(CompiledFormat.MaxCachedPaths, mapping.Formats[0].KnownPathCount);

        // The real events, never seen before by this mapping, resolve by their path text, containers included.
        foreach (var ev in events)
        {
            AssertSameAsReference(index, ev, mapping, false);
            AssertSameAsReference(index, ev, mapping, true);
        }

        foreach (var text in Tricky)
        {
            AssertSameAsReference(index, Encoding.UTF8.GetBytes(text), mapping, false);
        }

        Assert.Equal(CompiledFormat.MaxCachedPaths, mapping.Formats[0].KnownPathCount);
    }

    [Fact]
    public void Escaped_property_names_resolve_like_plain_ones()
    {
        var engine = Some.Engine(Some.ProcessRule(ImageRule));
        var plain = Some.SysmonEvent(1, new { Image = @"C:\Windows\System32\whoami.exe" });
        var escaped = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(plain).Replace("\"Image\"", "\"Im\\u0061ge\"", StringComparison.Ordinal));
        Assert.NotEqual(plain, escaped);
        Assert.Single(Some.Matches(engine, escaped));
        Assert.Single(Some.Matches(engine, plain));
        Assert.Single(Some.Matches(engine, escaped));
        var other = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(plain).Replace("\"Image\"", "\"Im\\u0061ges\"", StringComparison.Ordinal));
        Assert.Empty(Some.Matches(engine, other));
    }

    [Fact]
    public void Fields_in_arrays_of_objects_and_nested_flatten_paths_match()
    {
        var engine = Some.Engine(Some.ProcessRule(ImageRule));
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { Data = new object[] { new { Name = "a" }, new { Image = @"C:\whoami.exe" } } })));
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { Wrapper = new { Image = @"C:\whoami.exe" } })));

        // Three levels below EventData is beyond its flatten depth of two.
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new { A = new { B = new { Image = @"C:\whoami.exe" } } })));
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new Dictionary<string, object> { ["#attributes"] = new { Image = @"C:\whoami.exe" } })));
    }

    [Fact]
    public void Two_formats_in_one_engine_keep_their_own_paths()
    {
        var engine = Some.Engine(Some.ProcessRule(ImageRule));
        var evtx = Some.SysmonEvent(1, new { Image = @"C:\whoami.exe" });
        const string Ecs = """ "event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"windows"}}""";
        var ecs = Encoding.UTF8.GetBytes("{" + Ecs + ""","process":{"executable":"C:\\whoami.exe"}}""");

        // An evtx body inside an event of the json format (its first property is not "Event"): no flattening applies.
        var lookalike = Encoding.UTF8.GetBytes("{" + Ecs + ""","Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\whoami.exe"}}}""");
        for (var round = 0; round < 3; round++)
        {
            Assert.Single(Some.Matches(engine, evtx));
            Assert.Single(Some.Matches(engine, ecs));
            Assert.Empty(Some.Matches(engine, lookalike));
        }
    }

    [Fact]
    public void Events_with_comments_are_read_and_broken_ones_stay_malformed()
    {
        var engine = Some.Engine(Some.ProcessRule(ImageRule));
        var commented = """
            // exported by a tool that writes comments
            {"Event":{"System":{"EventID":1, /* Sysmon */ "Channel":"Microsoft-Windows-Sysmon/Operational"},
             "EventData":{"Image":"C:\\Windows\\whoami.exe" // the process
            }}}
            """;
        Assert.Single(Some.Matches(engine, Encoding.UTF8.GetBytes(commented)));
        Assert.Equal(0, engine.Statistics.MalformedEvents);

        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes("""{"Event": /* unterminated""")));
        Assert.Equal(1, engine.Statistics.MalformedEvents);
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes("""{"Event":{"EventData":{"Image":"C:/whoami.exe"}}""")));
        Assert.Equal(2, engine.Statistics.MalformedEvents);
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes("""{"Event":{"EventData":{"Image":"C:\\whoami.exe"}}""")));
        Assert.Equal(3, engine.Statistics.MalformedEvents);
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { Image = @"C:\whoami.exe" })));
    }

    [Fact]
    public void Every_basic_plane_character_decodes_and_lower_cases_like_the_reader()
    {
        var raw = new char[64];
        var lower = new char[64];
        for (var c = 0; c <= 0xFFFF; c++)
        {
            if (char.IsSurrogate((char)c))
            {
                continue;
            }

            var text = "Ab" + (char)c + "\\z";
            var escaped = Encoding.UTF8.GetBytes($"\"Ab\\u{c:X4}\\\\z\"");
            var utf8 = JsonSerializer.SerializeToUtf8Bytes(text, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            foreach (var json in new[] { escaped, utf8 })
            {
                var reader = new Utf8JsonReader(json);
                Assert.True(reader.Read());
                var expected = reader.GetString()!;
                Assert.Equal(text, expected);
                var n = EventIndex.DecodeBmp(reader.ValueSpan, raw, lower);
                Assert.Equal(expected, new string(raw, 0, n));
                Assert.Equal(expected.ToLowerInvariant(), new string(lower, 0, n));
            }
        }
    }

    [Fact]
    public void Long_values_decode_across_vector_boundaries()
    {
        var random = new Random(11);
        const string Alphabet = "aZ09 \\\"/\b\f\n\r\té€𝄞日\u0001";
        var raw = new char[512];
        var lower = new char[512];
        for (var i = 0; i < 2000; i++)
        {
            var sb = new StringBuilder();
            var length = random.Next(0, 80);
            while (sb.Length < length)
            {
                var pick = Alphabet[random.Next(Alphabet.Length)];
                sb.Append(char.IsHighSurrogate(pick) ? "𝄞" : char.IsLowSurrogate(pick) ? "Q" : pick.ToString());
            }

            var text = sb.ToString();
            var json = JsonSerializer.SerializeToUtf8Bytes(text, new JsonSerializerOptions { Encoder = i % 2 == 0 ? System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping : System.Text.Encodings.Web.JavaScriptEncoder.Default });
            var reader = new Utf8JsonReader(json);
            Assert.True(reader.Read());
            var n = EventIndex.DecodeBmp(reader.ValueSpan, raw, lower);

            // Read through a window running on into bytes that must be ignored: escapes, non-ASCII, capitals.
            var window = json.Concat("\\u00C9\"ÉZZZZZZZZZZZZZZZZZZZZZ"u8.ToArray()).ToArray();
            var windowed = EventIndex.DecodeBmp(window.AsSpan(1), reader.ValueSpan.Length, raw.AsSpan(256), lower.AsSpan(256));
            if (text.Contains("𝄞", StringComparison.Ordinal))
            {
                Assert.Equal(-1, n);
                Assert.Equal(-1, windowed);
                continue;
            }

            Assert.Equal(text, new string(raw, 0, n));
            Assert.Equal(text.ToLowerInvariant(), new string(lower, 0, n));
            Assert.Equal(text, new string(raw, 256, windowed));
            Assert.Equal(text.ToLowerInvariant(), new string(lower, 256, windowed));
        }
    }

    private static List<byte[]> RegressionEvents()
    {
        var events = new List<byte[]>();
        foreach (var dir in Directory.GetDirectories(TestData.Path("sigma", "regression")).Order(StringComparer.Ordinal))
        {
            foreach (var ev in EventStreamReader.Split(File.ReadAllBytes(Path.Combine(dir, "events.json"))))
            {
                events.Add(ev.ToArray());
                events.Add(Encoding.UTF8.GetBytes(JsonNode.Parse(ev.Span)!.ToJsonString()));
            }
        }

        Assert.NotEmpty(events);
        return events;
    }

    /// <summary>
    /// The default mapping over a registry that knows its own fields plus about half of the leaf names and
    /// dotted paths of the events (chosen by a stable hash), so that leaves both resolve and do not.
    /// </summary>
    private static CompiledMapping Mapping(List<byte[]> events)
    {
        var config = FieldMappingConfig.Default;
        var registry = new FieldRegistry();
        CompiledMapping.RegisterFields(config, registry);
        foreach (var format in config.Formats)
        {
            foreach (var names in format.Fields.Values)
            {
                foreach (var n in names)
                {
                    registry.GetOrAdd(n);
                }
            }
        }

        foreach (var ev in events)
        {
            using var doc = JsonDocument.Parse(ev, Options);
            foreach (var (path, _) in Leaves(doc.RootElement, string.Empty))
            {
                var leaf = path[(path.LastIndexOf('.') + 1)..].Replace(" ", string.Empty, StringComparison.Ordinal);
                foreach (var name in new[] { leaf, path })
                {
                    if (name.Length > 0 && StableHash(name) % 2 == 0)
                    {
                        registry.GetOrAdd(name);
                    }
                }
            }
        }

        registry.GetOrAdd("CommandLine");
        registry.GetOrAdd("Image");
        registry.Freeze();
        return new CompiledMapping(config, registry);
    }

    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 };

    private static int StableHash(string s)
    {
        var h = 0;
        foreach (var c in s)
        {
            h = unchecked((h * 31) + char.ToLowerInvariant(c));
        }

        return h & int.MaxValue;
    }

    /// <summary>Leaves in document order with their dotted path; array elements take the path of the array.</summary>
    private static IEnumerable<(string Path, JsonElement Value)> Leaves(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    foreach (var leaf in Leaves(p.Value, path.Length == 0 ? p.Name : path + "." + p.Name))
                    {
                        yield return leaf;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var leaf in Leaves(item, path))
                    {
                        yield return leaf;
                    }
                }

                break;
            default:
                yield return (path, element);
                break;
        }
    }

    private static void AssertSameAsReference(EventIndex index, byte[] ev, CompiledMapping mapping, bool indexAll)
    {
        using var doc = JsonDocument.Parse(ev, Options);
        var root = doc.RootElement;
        var format = mapping.Formats.Length - 1;
        foreach (var first in root.EnumerateObject())
        {
            format = Array.FindIndex(mapping.Formats, f => f.Detect == "*" || f.Detect == first.Name);
            break;
        }

        var values = new List<(string Raw, bool Null)>();
        var chains = new Dictionary<int, List<int>>();
        Span<int> slots = stackalloc int[CompiledFormat.MaxSlotsPerLeaf];
        foreach (var (path, value) in Leaves(root, string.Empty))
        {
            var count = mapping.Formats[format].ResolveUncached(path, mapping.Registry, slots);
            if (count == 0 && !indexAll)
            {
                continue;
            }

            values.Add(value.ValueKind switch
            {
                JsonValueKind.String => (value.GetString()!, false),
                JsonValueKind.Null => (string.Empty, true),
                _ => (value.GetRawText(), false),
            });
            foreach (var slot in slots[..count])
            {
                if (!chains.TryGetValue(slot, out var chain))
                {
                    chains[slot] = chain = [];
                }

                chain.Add(values.Count - 1);
            }
        }

        Assert.True(index.Build(ev, mapping, indexAll, 64));
        var text = Encoding.UTF8.GetString(ev);
        var context = text[..Math.Min(text.Length, 200)];
        Assert.True(format == index.Format, context);
        Assert.True(values.Count == index.ValueCount, context);
        for (var v = 0; v < values.Count; v++)
        {
            Assert.Equal(values[v].Raw, index.Raw(v).ToString());
            Assert.Equal(values[v].Raw.ToLowerInvariant(), index.Lower(v).ToString());
            Assert.Equal(values[v].Null, index.IsNull(v));
        }

        for (var slot = 0; slot < mapping.Registry.Count; slot++)
        {
            var actual = new List<int>();
            for (var n = index.Head(slot); n >= 0; n = index.Next(n))
            {
                actual.Add(index.ValueOf(n));
            }

            var expected = chains.TryGetValue(slot, out var chain) ? chain : [];
            Assert.True(expected.SequenceEqual(actual), $"slot {mapping.Registry.Names[slot]} of {context}: expected [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
        }
    }
}
