using System.Globalization;
using System.Text.Json;

namespace McpSecurity.Intel.Indicators;

/// <summary>
/// Collects indicators from STIX 2.1 bundles, MISP events and single values, then builds an
/// <see cref="IndicatorSet"/>. Not thread-safe; the built set is.
/// </summary>
/// <remarks>
/// Lenient: a value that cannot be used (a bad address, a domain with a space, an unsupported STIX pattern)
/// is recorded in <see cref="Issues"/> and loading goes on. The first indicator for a value wins.
/// STIX: <c>indicator</c> objects with <c>pattern_type</c> <c>stix</c> (or none), not revoked, whose pattern is
/// an OR of <c>=</c> comparisons on <c>ipv4-addr:value</c>, <c>ipv6-addr:value</c>, <c>domain-name:value</c>,
/// <c>url:value</c> or <c>file:hashes.(MD5|'SHA-1'|'SHA-256')</c>.
/// MISP: attributes of the event and of its objects with <c>to_ids</c> true and not deleted, of types
/// ip-src, ip-dst (also <c>|port</c>), domain, hostname, domain|ip, url, md5, sha1, sha256 and filename|hash.
/// </remarks>
public sealed class IndicatorSetBuilder
{
    private const int MaxIssues = 10_000;

    private readonly Dictionary<UInt128, Indicator> _addresses = [];
    private readonly Dictionary<string, Indicator> _domains = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Indicator> _urls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Indicator> _hashes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<(UInt128, UInt128), Indicator> _ranges = [];
    private readonly List<IndicatorIssue> _issues = [];

    /// <summary>The largest feed document read, in bytes. Default 256 MiB.</summary>
    public long MaxDocumentBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>What was skipped and why (at most 10,000 entries are kept).</summary>
    public IReadOnlyList<IndicatorIssue> Issues => _issues;

    /// <summary>Adds one value, detecting its kind (address, CIDR range, hash, URL or domain).</summary>
    /// <param name="value">The value.</param>
    /// <param name="source">Where it came from.</param>
    /// <param name="label">A human-readable label; may be null.</param>
    /// <returns>True when the value was usable (added now or already present).</returns>
    public bool Add(string value, string source, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(source);
        var text = value.Trim();
        if (text.Contains('/', StringComparison.Ordinal) && IndicatorValues.TryRange(text, out _, out _, out _))
        {
            return AddIp(text, source, label);
        }

        if (IndicatorValues.TryAddress(text, out _, out _))
        {
            return AddIp(text, source, label);
        }

        if (IndicatorValues.HashType(text, out _) is { } hashType)
        {
            return AddHash(hashType, text, source, label);
        }

        return text.Contains("://", StringComparison.Ordinal) || text.Contains('/', StringComparison.Ordinal)
            ? AddUrl(text, source, label)
            : AddDomain(text, source, label);
    }

    /// <summary>Adds an address or a CIDR range.</summary>
    /// <param name="value">The address (<c>198.51.100.7</c>, <c>2001:db8::1</c>) or range (<c>10.0.0.0/8</c>).</param>
    /// <param name="source">Where it came from.</param>
    /// <param name="label">A label; may be null.</param>
    /// <returns>True when usable.</returns>
    public bool AddIp(string value, string source, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!IndicatorValues.TryRange(value, out var start, out var end, out var canonical))
        {
            return Issue(source, $"'{value}' is not an IP address or CIDR range.");
        }

        if (start == end)
        {
            _addresses.TryAdd(start, new Indicator(IndicatorType.IpAddress, canonical[..canonical.LastIndexOf('/')], source, label));
        }
        else
        {
            _ranges.TryAdd((start, end), new Indicator(IndicatorType.IpRange, canonical, source, label));
        }

        return true;
    }

    /// <summary>Adds a domain; it will also match its subdomains.</summary>
    /// <param name="value">The domain.</param>
    /// <param name="source">Where it came from.</param>
    /// <param name="label">A label; may be null.</param>
    /// <returns>True when usable.</returns>
    public bool AddDomain(string value, string source, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        var domain = IndicatorValues.NormaliseDomain(value);
        if (domain is null)
        {
            return Issue(source, $"'{value}' is not a domain name (letters, digits, '-' and '_' in dot-separated labels).");
        }

        _domains.TryAdd(domain, new Indicator(IndicatorType.Domain, domain, source, label));
        return true;
    }

    /// <summary>Adds a URL (normalised; a URL without a scheme is read as http).</summary>
    /// <param name="value">The URL.</param>
    /// <param name="source">Where it came from.</param>
    /// <param name="label">A label; may be null.</param>
    /// <returns>True when usable.</returns>
    public bool AddUrl(string value, string source, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        var url = IndicatorValues.NormaliseUrl(value);
        if (url is null)
        {
            return Issue(source, $"'{value}' is not an absolute URL.");
        }

        _urls.TryAdd(url, new Indicator(IndicatorType.Url, url, source, label));
        return true;
    }

    /// <summary>Adds a file hash; its length must fit the type (32, 40 or 64 hex digits).</summary>
    /// <param name="type"><see cref="IndicatorType.Md5"/>, <see cref="IndicatorType.Sha1"/> or <see cref="IndicatorType.Sha256"/>.</param>
    /// <param name="value">The hex hash.</param>
    /// <param name="source">Where it came from.</param>
    /// <param name="label">A label; may be null.</param>
    /// <returns>True when usable.</returns>
    public bool AddHash(IndicatorType type, string value, string source, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        var detected = IndicatorValues.HashType(value, out var hash);
        if (detected is null || detected != type)
        {
            return Issue(source, $"'{value}' is not a valid {type} hash ({type switch { IndicatorType.Md5 => 32, IndicatorType.Sha1 => 40, _ => 64 }} hex digits).");
        }

        _hashes.TryAdd(hash!, new Indicator(type, hash!, source, label));
        return true;
    }

    /// <summary>Adds the indicators of a STIX 2.1 bundle (a bare indicator object is accepted too).</summary>
    /// <param name="stream">The JSON document; read to the end, not disposed.</param>
    /// <returns>The number of usable comparisons found.</returns>
    /// <exception cref="InvalidDataException">The document is not well-formed JSON.</exception>
    public int AddStixBundle(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var added = 0;
        using var doc = Parse(stream);
        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("objects", out var objects) && objects.ValueKind == JsonValueKind.Array)
        {
            foreach (var o in objects.EnumerateArray())
            {
                added += AddStixObject(o);
            }
        }
        else
        {
            added += AddStixObject(root);
        }

        return added;
    }

    /// <summary>
    /// Adds the attributes of MISP events: <c>{"Event": {...}}</c>, a bare event, a list of those, or an API
    /// response <c>{"response": [...]}</c>. Documents that hold no event add nothing.
    /// </summary>
    /// <param name="stream">The JSON document; read to the end, not disposed.</param>
    /// <returns>The number of usable attributes found.</returns>
    /// <exception cref="InvalidDataException">The document is not well-formed JSON.</exception>
    public int AddMispEvents(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var doc = Parse(stream);
        return AddMispNode(doc.RootElement, 0);
    }

    /// <summary>Builds the immutable set. The builder can be used again afterwards.</summary>
    /// <returns>The set.</returns>
    public IndicatorSet Build()
    {
        var ranges = new List<(UInt128, UInt128, Indicator)>(_ranges.Count);
        foreach (var ((start, end), indicator) in _ranges)
        {
            ranges.Add((start, end, indicator));
        }

        return new IndicatorSet(new(_addresses), new(_domains, StringComparer.OrdinalIgnoreCase), new(_urls, StringComparer.Ordinal), new(_hashes, StringComparer.OrdinalIgnoreCase), ranges);
    }

    private JsonDocument Parse(Stream stream)
    {
        using var limited = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (limited.Length + n > MaxDocumentBytes)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"The feed document is larger than {MaxDocumentBytes} bytes (IndicatorSetBuilder.MaxDocumentBytes)."));
            }

            limited.Write(buffer, 0, n);
        }

        try
        {
            return JsonDocument.Parse(limited.GetBuffer().AsMemory(0, (int)limited.Length), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("The feed document is not well-formed JSON: " + ex.Message, ex);
        }
    }

    private int AddStixObject(JsonElement o)
    {
        if (o.ValueKind != JsonValueKind.Object || Str(o, "type") != "indicator")
        {
            return 0;
        }

        var source = "stix:" + (Str(o, "id") ?? "indicator");
        if (o.TryGetProperty("revoked", out var revoked) && revoked.ValueKind == JsonValueKind.True)
        {
            Issue(source, "The indicator is revoked.");
            return 0;
        }

        var patternType = Str(o, "pattern_type");
        if (patternType is not null and not "stix")
        {
            Issue(source, $"Pattern type '{patternType}' is not supported (only 'stix').");
            return 0;
        }

        var pattern = Str(o, "pattern");
        if (pattern is null)
        {
            Issue(source, "The indicator has no pattern.");
            return 0;
        }

        var comparisons = StixPattern.TryParse(pattern, out var reason);
        if (comparisons is null)
        {
            Issue(source, reason ?? "The pattern could not be read.");
            return 0;
        }

        var label = Str(o, "name");
        var added = 0;
        foreach (var (path, value) in comparisons)
        {
            var ok = NormalisePath(path) switch
            {
                "ipv4-addr:value" or "ipv6-addr:value" => AddIp(value, source, label),
                "domain-name:value" => AddDomain(value, source, label),
                "url:value" => AddUrl(value, source, label),
                "file:hashes.md5" => AddHash(IndicatorType.Md5, value, source, label),
                "file:hashes.sha-1" or "file:hashes.sha1" => AddHash(IndicatorType.Sha1, value, source, label),
                "file:hashes.sha-256" or "file:hashes.sha256" => AddHash(IndicatorType.Sha256, value, source, label),
                _ => Issue(source, $"The object path '{path}' is not an indicator type this set matches."),
            };
            added += ok ? 1 : 0;
        }

        return added;
    }

    private static string NormalisePath(string path) => path.Replace("'", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private int AddMispNode(JsonElement node, int depth)
    {
        if (depth > 4)
        {
            return 0;
        }

        switch (node.ValueKind)
        {
            case JsonValueKind.Array:
                var sum = 0;
                foreach (var item in node.EnumerateArray())
                {
                    sum += AddMispNode(item, depth + 1);
                }

                return sum;
            case JsonValueKind.Object:
                if (node.TryGetProperty("Event", out var ev) && ev.ValueKind == JsonValueKind.Object)
                {
                    return AddMispEvent(ev);
                }

                if (node.TryGetProperty("response", out var response))
                {
                    return AddMispNode(response, depth + 1);
                }

                return node.TryGetProperty("Attribute", out _) || node.TryGetProperty("Object", out _) ? AddMispEvent(node) : 0;
            default:
                return 0;
        }
    }

    private int AddMispEvent(JsonElement ev)
    {
        var eventId = Str(ev, "uuid") ?? Str(ev, "id") ?? "event";
        var label = Str(ev, "info");
        var added = AddMispAttributes(ev, eventId, label);
        if (ev.TryGetProperty("Object", out var objects) && objects.ValueKind == JsonValueKind.Array)
        {
            foreach (var o in objects.EnumerateArray())
            {
                if (o.ValueKind == JsonValueKind.Object && !(o.TryGetProperty("deleted", out var d) && d.ValueKind == JsonValueKind.True))
                {
                    added += AddMispAttributes(o, eventId, label);
                }
            }
        }

        return added;
    }

    private int AddMispAttributes(JsonElement owner, string eventId, string? label)
    {
        if (!owner.TryGetProperty("Attribute", out var attributes) || attributes.ValueKind != JsonValueKind.Array)
        {
            return 0;
        }

        var added = 0;
        foreach (var a in attributes.EnumerateArray())
        {
            if (a.ValueKind != JsonValueKind.Object
                || !(a.TryGetProperty("to_ids", out var toIds) && toIds.ValueKind == JsonValueKind.True)
                || (a.TryGetProperty("deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True))
            {
                continue;
            }

            var type = Str(a, "type");
            var value = Str(a, "value");
            if (type is null || value is null)
            {
                continue;
            }

            var source = "misp:" + eventId + "/" + (Str(a, "uuid") ?? Str(a, "id") ?? "attribute");
            var bar = value.IndexOf('|', StringComparison.Ordinal);
            var first = bar < 0 ? value : value[..bar];
            var second = bar < 0 ? value : value[(bar + 1)..];
            bool? ok = type switch
            {
                "ip-src" or "ip-dst" => AddIp(value, source, label),
                "ip-src|port" or "ip-dst|port" => AddIp(first, source, label),
                "domain" or "hostname" => AddDomain(value, source, label),
                "domain|ip" => AddDomain(first, source, label) & AddIp(second, source, label),
                "hostname|port" => AddDomain(first, source, label),
                "url" => AddUrl(value, source, label),
                "md5" => AddHash(IndicatorType.Md5, value, source, label),
                "sha1" => AddHash(IndicatorType.Sha1, value, source, label),
                "sha256" => AddHash(IndicatorType.Sha256, value, source, label),
                "filename|md5" => AddHash(IndicatorType.Md5, second, source, label),
                "filename|sha1" => AddHash(IndicatorType.Sha1, second, source, label),
                "filename|sha256" => AddHash(IndicatorType.Sha256, second, source, label),
                _ => null,
            };
            added += ok == true ? 1 : 0;
        }

        return added;
    }

    private bool Issue(string source, string reason)
    {
        if (_issues.Count < MaxIssues)
        {
            _issues.Add(new IndicatorIssue(source, reason));
        }

        return false;
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
