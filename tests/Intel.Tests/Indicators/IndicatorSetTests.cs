using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using McpSecurity.Intel.Indicators;
using McpSecurity.Testing;

namespace McpSecurity.Intel.Tests.Indicators;

public sealed partial class IndicatorSetTests
{
    private static string[] StixFiles() =>
        Directory.GetFiles(TestData.Path("intel", "stix", "cti-documentation"), "*.json", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(TestData.Path("intel", "stix", "cti-stix2-json-schemas", "examples"), "*.json", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static string[] MispFiles() =>
        Directory.GetFiles(TestData.Path("intel", "misp", "pymisp"), "*.json", SearchOption.AllDirectories)
            .Append(TestData.Path("intel", "misp", "misp", "tests", "event.json"))
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static (IndicatorSet Set, IndicatorSetBuilder Builder) LoadStix()
    {
        var builder = new IndicatorSetBuilder();
        foreach (var file in StixFiles())
        {
            using var stream = File.OpenRead(file);
            builder.AddStixBundle(stream);
        }

        return (builder.Build(), builder);
    }

    [Fact]
    public void StixBundles_EveryPlainEqualityValueMatches()
    {
        var (set, builder) = LoadStix();
        var checkedValues = 0;
        foreach (var file in StixFiles())
        {
            foreach (var pattern in PatternsOf(file))
            {
                if (pattern.Contains(" AND ", StringComparison.Ordinal) || pattern.Contains("MATCHES", StringComparison.Ordinal) || pattern.Contains("FOLLOWEDBY", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (Match m in Comparison().Matches(pattern))
                {
                    var path = m.Groups[1].Value;
                    var value = m.Groups[2].Value;
                    Indicator? hit = path switch
                    {
                        "ipv4-addr:value" or "ipv6-addr:value" => value.Contains('/', StringComparison.Ordinal)
                            ? set.MatchIp(value.AsSpan(0, value.IndexOf('/', StringComparison.Ordinal)))
                            : set.MatchIp(value),
                        "domain-name:value" when !value.Contains(' ', StringComparison.Ordinal) => set.MatchDomain(value.ToUpperInvariant()),
                        "url:value" => set.MatchUrl(value),
                        _ when path.StartsWith("file:hashes", StringComparison.Ordinal) => set.MatchHash(value.ToUpperInvariant()),
                        _ => null,
                    };
                    if (path == "domain-name:value" && value.Contains(' ', StringComparison.Ordinal))
                    {
                        Assert.Contains(builder.Issues, i => i.Reason.Contains(value, StringComparison.Ordinal));
                        continue;
                    }

                    if (path is "ipv4-addr:value" or "ipv6-addr:value" or "domain-name:value" or "url:value" || path.StartsWith("file:hashes", StringComparison.Ordinal))
                    {
                        Assert.True(hit is not null, $"{Path.GetFileName(file)}: {path} = {value} does not match");
                        Assert.StartsWith("stix:indicator--", hit.Source, StringComparison.Ordinal);
                        checkedValues++;
                    }
                }
            }
        }

        Assert.True(checkedValues > 0);
        Assert.Contains(builder.Issues, i => i.Reason.Contains("MATCHES", StringComparison.Ordinal));
        Assert.Contains(builder.Issues, i => i.Reason.Contains("'AND'", StringComparison.Ordinal));
        Console.WriteLine($"STIX: {set.Count} indicators, {checkedValues} pattern values checked, {builder.Issues.Count} issues");
    }

    [Fact]
    public void StixCidrIndicators_MatchTheirWholeRangeOnly()
    {
        var (set, _) = LoadStix();
        var cidrs = StixFiles().SelectMany(PatternsOf).SelectMany(p => Comparison().Matches(p))
            .Where(m => m.Groups[1].Value == "ipv4-addr:value" && m.Groups[2].Value.Contains('/', StringComparison.Ordinal))
            .Select(m => m.Groups[2].Value).ToList();

        Assert.NotEmpty(cidrs);
        foreach (var cidr in cidrs)
        {
            var parts = cidr.Split('/');
            var prefix = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            var network = BitConverter.ToUInt32(IPAddress.Parse(parts[0]).GetAddressBytes().Reverse().ToArray());
            var last = network | (uint)((1UL << (32 - prefix)) - 1);
            Assert.Equal(IndicatorType.IpRange, set.MatchIp(ToIp(last))!.Type);
            Assert.Equal(IndicatorType.IpRange, set.MatchIp(ToIp(network + 1))!.Type);
            var after = set.MatchIp(ToIp(last + 1));
            Assert.True(after is null || after.Value != cidr, $"{ToIp(last + 1)} must not match {cidr}");
        }
    }

    [Fact]
    public void Domains_MatchSubdomainsButNotLookalikes()
    {
        var (set, _) = LoadStix();
        var domains = StixFiles().SelectMany(PatternsOf).SelectMany(p => Comparison().Matches(p))
            .Where(m => m.Groups[1].Value == "domain-name:value" && !m.Groups[2].Value.Contains(' ', StringComparison.Ordinal))
            .Select(m => m.Groups[2].Value.ToLowerInvariant()).Distinct().ToList();

        Assert.NotEmpty(domains);
        foreach (var domain in domains)
        {
            Assert.Equal(domain, set.MatchDomain("deep.sub." + domain + ".")!.Value);
            var lookalike = set.MatchDomain("x" + domain);
            Assert.True(lookalike is null || lookalike.Value != domain);
        }
    }

    [Fact]
    public void MispEvents_EveryToIdsAttributeOfASupportedTypeMatches()
    {
        var builder = new IndicatorSetBuilder();
        foreach (var file in MispFiles())
        {
            using var stream = File.OpenRead(file);
            builder.AddMispEvents(stream);
        }

        var set = builder.Build();
        var checkedValues = 0;
        foreach (var file in MispFiles())
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var (type, value) in ToIdsAttributes(doc.RootElement))
            {
                var second = value.Contains('|', StringComparison.Ordinal) ? value[(value.IndexOf('|', StringComparison.Ordinal) + 1)..] : value;
                var first = value.Contains('|', StringComparison.Ordinal) ? value[..value.IndexOf('|', StringComparison.Ordinal)] : value;
                Indicator? hit = type switch
                {
                    "ip-src" or "ip-dst" => set.MatchIp(value),
                    "ip-src|port" or "ip-dst|port" => set.MatchIp(first),
                    "domain" or "hostname" => set.MatchDomain(value),
                    "url" => set.MatchUrl(value),
                    "md5" or "sha1" or "sha256" => set.MatchHash(value),
                    "filename|md5" or "filename|sha1" or "filename|sha256" => set.MatchHash(second),
                    _ => null,
                };
                if (type is "ip-src" or "ip-dst" or "ip-src|port" or "ip-dst|port" or "domain" or "hostname" or "url" or "md5" or "sha1" or "sha256" or "filename|md5" or "filename|sha1" or "filename|sha256")
                {
                    var reported = builder.Issues.Any(i => i.Reason.Contains(type.Contains('|', StringComparison.Ordinal) ? (type.StartsWith("filename", StringComparison.Ordinal) ? second : first) : value, StringComparison.Ordinal));
                    Assert.True(hit is not null || reported, $"{Path.GetFileName(file)}: {type} {value} neither matches nor is reported");
                    if (hit is not null)
                    {
                        Assert.StartsWith("misp:", hit.Source, StringComparison.Ordinal);
                        checkedValues++;
                    }
                }
            }
        }

        Assert.True(checkedValues > 0);
        Console.WriteLine($"MISP: {set.Count} indicators, {checkedValues} attributes checked, {builder.Issues.Count} issues");
    }

    [Fact]
    public void MispEvents_AttributesNotForDetectionAreLeftOut()
    {
        var builder = new IndicatorSetBuilder();
        var file = TestData.Path("intel", "misp", "pymisp", "mispevent_testfiles", "existing_event.json");
        using (var stream = File.OpenRead(file))
        {
            builder.AddMispEvents(stream);
        }

        var set = builder.Build();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var detection = ToIdsAttributes(doc.RootElement).Select(a => a.Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (type, value, _) in AllAttributes(doc.RootElement).Where(a => !a.ToIds && !detection.Contains(a.Value)))
        {
            if (type is "md5" or "sha1" or "sha256")
            {
                Assert.Null(set.MatchHash(value));
            }
            else if (type is "ip-dst" or "ip-src")
            {
                Assert.Null(set.MatchIp(value));
            }
        }
    }

    [Theory]
    [InlineData("[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '198.51.100.2']", 2)]
    [InlineData("[domain-name:value = 'a.example'] OR [url:value = 'http://b.example/x']", 2)]
    [InlineData("[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']", 1)]
    [InlineData("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", 1)]
    [InlineData("[ url:value = 'http://b.example/it\\'s' ]", 1)]
    public void StixPatterns_PlainEqualitiesAreRead(string pattern, int expected)
    {
        var builder = new IndicatorSetBuilder();
        var bundle = JsonSerializer.Serialize(new { type = "bundle", objects = new[] { new { type = "indicator", id = "indicator--1", pattern, pattern_type = "stix" } } });

        var added = builder.AddStixBundle(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(bundle)));

        Assert.Equal(expected, added);
        Assert.Empty(builder.Issues);
    }

    [Theory]
    [InlineData("[ipv4-addr:value = '198.51.100.1' AND ipv4-addr:value = '198.51.100.2']", "'AND'")]
    [InlineData("[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.2']", "FOLLOWEDBY")]
    [InlineData("[ipv4-addr:value != '198.51.100.1']", "'!='")]
    [InlineData("[ipv4-addr:value = '198.51.100.1'] WITHIN 5 SECONDS", "WITHIN")]
    [InlineData("[ipv4-addr:value = '198.51.100.1'", "not closed")]
    [InlineData("ipv4-addr:value = '1.2.3.4'", "Expected '['")]
    public void StixPatterns_OtherFormsAreReportedNotThrown(string pattern, string reason)
    {
        var builder = new IndicatorSetBuilder();
        var bundle = JsonSerializer.Serialize(new { type = "bundle", objects = new[] { new { type = "indicator", id = "indicator--1", pattern, pattern_type = "stix" } } });

        var added = builder.AddStixBundle(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(bundle)));

        Assert.Equal(0, added);
        Assert.Contains(reason, Assert.Single(builder.Issues).Reason, StringComparison.Ordinal);
        Assert.Equal(0, builder.Build().Count);
    }

    [Fact]
    public void Ipv6_AddressesAndRanges()
    {
        var builder = new IndicatorSetBuilder();
        builder.AddIp("2001:db8::/32", "test");
        builder.AddIp("2001:db8:0:1::/64", "test-narrow");
        builder.AddIp("2001:db9::1", "test-exact");
        builder.AddIp("10.0.0.0/8", "test-v4");
        var set = builder.Build();

        Assert.Equal(IndicatorType.IpRange, set.MatchIp("2001:db8:ffff::1")!.Type);
        Assert.NotNull(set.MatchIp("[2001:db8:0:1::5]"));
        Assert.Equal("test-exact", set.MatchIp("2001:DB9:0::1")!.Source);
        Assert.Null(set.MatchIp("2001:dba::1"));
        Assert.Equal("test-v4", set.MatchIp("10.255.255.255")!.Source);
        Assert.Equal("test-v4", set.MatchIp("::ffff:10.1.2.3")!.Source);
        Assert.Null(set.MatchIp("11.0.0.0"));
        Assert.Null(set.MatchIp("not an ip"));
    }

    [Fact]
    public void Urls_AreNormalised()
    {
        var builder = new IndicatorSetBuilder();
        builder.AddUrl("HTTP://Evil.Example:80/a/./b/../c?q=1#frag", "test");
        builder.AddUrl("evil.example/no-scheme", "test2");
        var set = builder.Build();

        Assert.NotNull(set.MatchUrl("http://evil.example/a/c?q=1"));
        Assert.NotNull(set.MatchUrl("http://EVIL.example/no-scheme"));
        Assert.Null(set.MatchUrl("http://evil.example/a/c?q=2"));
        Assert.Null(set.MatchUrl("not a url at all"));
    }

    [Fact]
    public void BadValues_AreReported()
    {
        var builder = new IndicatorSetBuilder();

        Assert.False(builder.AddIp("300.1.1.1", "a"));
        Assert.False(builder.AddIp("10.0.0.0/33", "b"));
        Assert.False(builder.AddDomain("bad domain.example", "c"));
        Assert.False(builder.AddHash(IndicatorType.Sha256, "abc", "d"));
        Assert.False(builder.AddHash(IndicatorType.Md5, new string('z', 32), "e"));
        Assert.Equal(5, builder.Issues.Count);
        Assert.Throws<InvalidDataException>(() => builder.AddMispEvents(new MemoryStream("{\"Event\":"u8.ToArray())));
    }

    private static IEnumerable<string> PatternsOf(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var list = new List<string>();
        Collect(doc.RootElement, list);
        return list;

        static void Collect(JsonElement e, List<string> list)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                {
                    Collect(item, list);
                }
            }
            else if (e.ValueKind == JsonValueKind.Object)
            {
                if (e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "indicator"
                    && e.TryGetProperty("pattern", out var p) && p.ValueKind == JsonValueKind.String)
                {
                    list.Add(p.GetString()!);
                }

                if (e.TryGetProperty("objects", out var objects))
                {
                    Collect(objects, list);
                }
            }
        }
    }

    private static IEnumerable<(string Type, string Value)> ToIdsAttributes(JsonElement root) =>
        AllAttributes(root).Where(a => a.ToIds).Select(a => (a.Type, a.Value));

    private static List<(string Type, string Value, bool ToIds)> AllAttributes(JsonElement root)
    {
        var list = new List<(string, string, bool)>();
        Walk(root, list, insideEvent: false);
        return list;

        static void Walk(JsonElement e, List<(string, string, bool)> list, bool insideEvent)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                {
                    Walk(item, list, insideEvent);
                }

                return;
            }

            if (e.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            foreach (var property in e.EnumerateObject())
            {
                if (property.Name == "Attribute" && property.Value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var a in property.Value.EnumerateArray())
                    {
                        if (a.ValueKind == JsonValueKind.Object && a.TryGetProperty("type", out var type) && a.TryGetProperty("value", out var value)
                            && type.ValueKind == JsonValueKind.String && value.ValueKind == JsonValueKind.String
                            && !(a.TryGetProperty("deleted", out var d) && d.ValueKind == JsonValueKind.True))
                        {
                            list.Add((type.GetString()!, value.GetString()!, a.TryGetProperty("to_ids", out var t) && t.ValueKind == JsonValueKind.True));
                        }
                    }
                }
                else if (property.Name is "Event" or "Object" or "response")
                {
                    Walk(property.Value, list, true);
                }
            }
        }
    }

    private static string ToIp(uint value) => new IPAddress(BitConverter.GetBytes(value).Reverse().ToArray()).ToString();

    [GeneratedRegex(@"([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'", RegexOptions.CultureInvariant)]
    private static partial Regex Comparison();
}
