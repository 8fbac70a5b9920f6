using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace McpSecurity.Intel.Indicators;

/// <summary>Normalisation of indicator values; shared by loading and lookup so both sides agree.</summary>
internal static class IndicatorValues
{
    private static readonly IdnMapping Idn = new();

    /// <summary>Maps an address to 128 bits; IPv4 goes to the IPv4-mapped IPv6 range (::ffff:0:0/96).</summary>
    public static bool TryAddress(ReadOnlySpan<char> text, out UInt128 value, out bool isV4)
    {
        value = default;
        isV4 = false;
        text = text.Trim();
        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            text = text[1..^1];
        }

        if (!IPAddress.TryParse(text, out var address))
        {
            return false;
        }

        value = ToUInt128(address, out isV4);
        return true;
    }

    public static UInt128 ToUInt128(IPAddress address, out bool isV4)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            isV4 = true;
            var v4 = ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
            return ((UInt128)0xFFFF << 32) | v4;
        }

        address.TryWriteBytes(bytes, out _);
        UInt128 value = 0;
        for (var i = 0; i < 16; i++)
        {
            value = (value << 8) | bytes[i];
        }

        isV4 = value >> 32 == 0xFFFF;
        return value;
    }

    /// <summary>Parses <c>address/prefix</c> (or a bare address) into an inclusive range.</summary>
    public static bool TryRange(ReadOnlySpan<char> text, out UInt128 start, out UInt128 end, out string canonical)
    {
        start = end = default;
        canonical = string.Empty;
        text = text.Trim();
        var slash = text.IndexOf('/');
        var addressPart = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressPart, out var address))
        {
            return false;
        }

        var value = ToUInt128(address, out _);
        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            return false;
        }

        var hostBits = maxPrefix - prefix;
        var mask = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        start = value & ~mask;
        end = start | mask;
        canonical = FormatAddress(start, address.AddressFamily == AddressFamily.InterNetwork) + "/" + prefix.ToString(CultureInfo.InvariantCulture);
        return true;
    }

    public static string FormatAddress(UInt128 value, bool isV4)
    {
        if (isV4)
        {
            var v4 = (uint)(value & 0xFFFFFFFF);
            return new IPAddress([(byte)(v4 >> 24), (byte)(v4 >> 16), (byte)(v4 >> 8), (byte)v4]).ToString();
        }

        var bytes = new byte[16];
        for (var i = 15; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xFF);
            value >>= 8;
        }

        return new IPAddress(bytes).ToString();
    }

    /// <summary>Lower-case ASCII (punycode) domain without a trailing dot; null when it is not a domain name.</summary>
    public static string? NormaliseDomain(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        if (text.EndsWith('.'))
        {
            text = text[..^1];
        }

        if (text.IsEmpty || text.Length > 253)
        {
            return null;
        }

        string ascii;
        if (!System.Text.Ascii.IsValid(text))
        {
            try
            {
                ascii = Idn.GetAscii(text.ToString());
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
        else
        {
            ascii = text.ToString();
        }

        var labelLength = 0;
        var dots = 0;
        foreach (var c in ascii)
        {
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    return null;
                }

                labelLength = 0;
                dots++;
                continue;
            }

            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
            {
                return null;
            }

            if (++labelLength > 63)
            {
                return null;
            }
        }

        return labelLength == 0 || dots == 0 || IPAddress.TryParse(ascii, out _) ? null : ascii.ToLowerInvariant();
    }

    /// <summary>
    /// Normalises a URL: scheme and host lower case, default port dropped, dot segments resolved, fragment
    /// dropped, empty path becomes <c>/</c>. A URL without a scheme is read as <c>http://</c>. Null when not a URL.
    /// </summary>
    public static string? NormaliseUrl(string text)
    {
        text = text.Trim();
        if (text.Length == 0 || text.Length > 8192)
        {
            return null;
        }

        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return null;
        }

        return uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.PathAndQuery, UriFormat.UriEscaped);
    }

    /// <summary>The hash type by length of a hex string (32 MD5, 40 SHA-1, 64 SHA-256), and its lower-case form.</summary>
    public static IndicatorType? HashType(ReadOnlySpan<char> text, out string? normalised)
    {
        normalised = null;
        text = text.Trim();
        IndicatorType? type = text.Length switch
        {
            32 => IndicatorType.Md5,
            40 => IndicatorType.Sha1,
            64 => IndicatorType.Sha256,
            _ => null,
        };
        if (type is null)
        {
            return null;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return null;
            }
        }

        normalised = text.ToString().ToLowerInvariant();
        return type;
    }
}
