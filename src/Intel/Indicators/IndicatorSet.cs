using System.Net;

namespace McpSecurity.Intel.Indicators;

/// <summary>
/// An immutable, thread-safe set of indicators with fast lookups: hash tables for addresses, domains,
/// URLs and hashes, and a sorted range table for CIDR blocks. Build one with <see cref="IndicatorSetBuilder"/>.
/// </summary>
/// <remarks>
/// Lookups normalise their input the same way loading does, and allocate nothing for domains and hashes.
/// A domain indicator matches the domain and all its subdomains (<c>evil.example</c> matches
/// <c>a.b.evil.example</c>). IPv4 and IPv6 share one address space (IPv4 is mapped into ::ffff:0:0/96).
/// </remarks>
public sealed class IndicatorSet
{
    private readonly Dictionary<UInt128, Indicator> _addresses;
    private readonly Dictionary<string, Indicator>.AlternateLookup<ReadOnlySpan<char>> _domains;
    private readonly Dictionary<string, Indicator> _urls;
    private readonly Dictionary<string, Indicator>.AlternateLookup<ReadOnlySpan<char>> _hashes;
    private readonly UInt128[] _rangeStarts;
    private readonly UInt128[] _rangeEnds;
    private readonly UInt128[] _rangeMaxEnd;
    private readonly Indicator[] _rangeIndicators;

    internal IndicatorSet(
        Dictionary<UInt128, Indicator> addresses,
        Dictionary<string, Indicator> domains,
        Dictionary<string, Indicator> urls,
        Dictionary<string, Indicator> hashes,
        List<(UInt128 Start, UInt128 End, Indicator Indicator)> ranges)
    {
        _addresses = addresses;
        _domains = domains.GetAlternateLookup<ReadOnlySpan<char>>();
        _urls = urls;
        _hashes = hashes.GetAlternateLookup<ReadOnlySpan<char>>();
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        _rangeStarts = new UInt128[ranges.Count];
        _rangeEnds = new UInt128[ranges.Count];
        _rangeMaxEnd = new UInt128[ranges.Count];
        _rangeIndicators = new Indicator[ranges.Count];
        UInt128 maxEnd = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            _rangeStarts[i] = ranges[i].Start;
            _rangeEnds[i] = ranges[i].End;
            _rangeIndicators[i] = ranges[i].Indicator;
            maxEnd = i == 0 || ranges[i].End > maxEnd ? ranges[i].End : maxEnd;
            _rangeMaxEnd[i] = maxEnd;
        }

        Count = addresses.Count + domains.Count + urls.Count + hashes.Count + ranges.Count;
    }

    /// <summary>The number of distinct indicators.</summary>
    public int Count { get; }

    /// <summary>An empty set.</summary>
    public static IndicatorSet Empty { get; } = new IndicatorSetBuilder().Build();

    /// <summary>Matches an IPv4 or IPv6 address against single-address and CIDR indicators.</summary>
    /// <param name="address">The address as text (brackets around IPv6 are accepted).</param>
    /// <returns>The matching indicator (an exact address before a range), or null.</returns>
    public Indicator? MatchIp(ReadOnlySpan<char> address) =>
        IndicatorValues.TryAddress(address, out var value, out _) ? MatchIp(value) : null;

    /// <summary>Matches an address against single-address and CIDR indicators.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The matching indicator (an exact address before a range), or null.</returns>
    public Indicator? MatchIp(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return MatchIp(IndicatorValues.ToUInt128(address, out _));
    }

    /// <summary>Matches a host name against domain indicators, including parent domains.</summary>
    /// <param name="domain">The host name (any case; a trailing dot is ignored).</param>
    /// <returns>The indicator of the closest matching domain, or null.</returns>
    public Indicator? MatchDomain(ReadOnlySpan<char> domain)
    {
        domain = domain.Trim();
        if (domain.EndsWith('.'))
        {
            domain = domain[..^1];
        }

        while (!domain.IsEmpty)
        {
            if (_domains.TryGetValue(domain, out var indicator))
            {
                return indicator;
            }

            var dot = domain.IndexOf('.');
            if (dot < 0)
            {
                return null;
            }

            domain = domain[(dot + 1)..];
        }

        return null;
    }

    /// <summary>Matches a URL after normalisation (see <see cref="IndicatorSetBuilder"/>); its host is not checked against domains.</summary>
    /// <param name="url">The URL.</param>
    /// <returns>The indicator, or null.</returns>
    public Indicator? MatchUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return _urls.Count > 0 && IndicatorValues.NormaliseUrl(url) is { } normalised && _urls.TryGetValue(normalised, out var indicator) ? indicator : null;
    }

    /// <summary>Matches an MD5, SHA-1 or SHA-256 hash (hex, any case).</summary>
    /// <param name="hash">The hash.</param>
    /// <returns>The indicator, or null.</returns>
    public Indicator? MatchHash(ReadOnlySpan<char> hash) =>
        _hashes.TryGetValue(hash.Trim(), out var indicator) ? indicator : null;

    private Indicator? MatchIp(UInt128 value)
    {
        if (_addresses.TryGetValue(value, out var exact))
        {
            return exact;
        }

        // The last range starting at or before the value, then back while an earlier range could still reach it.
        var lo = 0;
        var hi = _rangeStarts.Length - 1;
        var last = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_rangeStarts[mid] <= value)
            {
                last = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        for (var i = last; i >= 0 && _rangeMaxEnd[i] >= value; i--)
        {
            if (_rangeEnds[i] >= value)
            {
                return _rangeIndicators[i];
            }
        }

        return null;
    }
}
