using System.Globalization;

namespace McpSecurity.Ingestion.Sbom.Internal;

/// <summary>Span-based checks for the string formats the SBOM schemas use.</summary>
internal static class SbomText
{
    /// <summary>Checks the CycloneDX serial number pattern <c>urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx</c>.</summary>
    public static bool IsUrnUuid(ReadOnlySpan<char> value)
    {
        const string Prefix = "urn:uuid:";
        return value.StartsWith(Prefix, StringComparison.Ordinal) && IsUuid(value[Prefix.Length..]);
    }

    /// <summary>Checks the 8-4-4-4-12 hexadecimal UUID layout.</summary>
    public static bool IsUuid(ReadOnlySpan<char> value)
    {
        if (value.Length != 36)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var dash = i is 8 or 13 or 18 or 23;
            if (dash ? value[i] != '-' : !char.IsAsciiHexDigit(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether every character is a hexadecimal digit.</summary>
    public static bool IsHex(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Parses an RFC 3339 / xs:dateTime timestamp: a date, 'T', a time with optional fraction and an
    /// optional offset (no offset means UTC). A bare date is rejected.
    /// </summary>
    public static bool TryParseDateTime(string value, out DateTimeOffset result)
    {
        result = default;
        var s = value.AsSpan().Trim();
        if (s.Length < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        {
            return false;
        }

        return DateTimeOffset.TryParse(
            s,
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
            out result);
    }

    /// <summary>Returns <paramref name="value"/> trimmed, or <see langword="null"/> when it is null or blank.</summary>
    public static string? NullIfBlank(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var trimmed = value.Trim();
        return trimmed.Length == 0 ? null : trimmed;
    }

    /// <summary>Parses a BOM-Link <c>urn:cdx:&lt;uuid&gt;/&lt;version&gt;[#&lt;bom-ref&gt;]</c>.</summary>
    public static SbomBomLink? TryParseBomLink(string value)
    {
        const string Prefix = "urn:cdx:";
        var s = value.AsSpan();
        if (!s.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        s = s[Prefix.Length..];
        var slash = s.IndexOf('/');
        if (slash != 36 || !IsUuid(s[..slash]))
        {
            return null;
        }

        var rest = s[(slash + 1)..];
        var hash = rest.IndexOf('#');
        var versionText = hash < 0 ? rest : rest[..hash];
        if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
        {
            return null;
        }

        string? bomRef = null;
        if (hash >= 0)
        {
            var encoded = rest[(hash + 1)..].ToString();
            try
            {
                bomRef = Uri.UnescapeDataString(encoded);
            }
            catch (UriFormatException)
            {
                bomRef = encoded;
            }
        }

        return new SbomBomLink(s[..slash].ToString(), version, bomRef);
    }
}
