namespace McpSecurity.Intel.Indicators;

/// <summary>The kinds of indicator an <see cref="IndicatorSet"/> matches.</summary>
public enum IndicatorType
{
    /// <summary>One IPv4 or IPv6 address.</summary>
    IpAddress,

    /// <summary>An IPv4 or IPv6 CIDR range (<c>10.0.0.0/8</c>).</summary>
    IpRange,

    /// <summary>A domain name; it also matches its subdomains.</summary>
    Domain,

    /// <summary>A URL, compared after normalisation.</summary>
    Url,

    /// <summary>An MD5 file hash.</summary>
    Md5,

    /// <summary>A SHA-1 file hash.</summary>
    Sha1,

    /// <summary>A SHA-256 file hash.</summary>
    Sha256,
}

/// <summary>One indicator of compromise.</summary>
/// <param name="Type">What kind of value it is.</param>
/// <param name="Value">The normalised value (lower-case domain and hash, canonical address or range, normalised URL).</param>
/// <param name="Source">Where it came from, such as <c>stix:indicator--...</c> or <c>misp:&lt;event uuid&gt;/&lt;attribute uuid&gt;</c>.</param>
/// <param name="Label">A human-readable label (the STIX indicator name, the MISP event info); may be null.</param>
public sealed record Indicator(IndicatorType Type, string Value, string Source, string? Label);

/// <summary>Something in a feed that was not turned into an indicator, and why.</summary>
/// <param name="Source">The feed object concerned.</param>
/// <param name="Reason">Why it was skipped.</param>
public sealed record IndicatorIssue(string Source, string Reason);
