using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace McpSecurity.Vulnerabilities.Purl;

/// <summary>Span-based purl parser following the purl specification's parsing steps.</summary>
internal static class PurlParser
{
    private const int MaxLength = 64 * 1024;

    public static bool IsValidType(ReadOnlySpan<char> type)
    {
        if (type.IsEmpty || !char.IsAsciiLetter(type[0]))
        {
            return false;
        }

        foreach (var c in type)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '.' and not '+' and not '-')
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidQualifierKey(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty || char.IsAsciiDigit(key[0]))
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '.' and not '-' and not '_')
            {
                return false;
            }
        }

        return true;
    }

    public static bool TryParse(string input, bool lenientKeys, [NotNullWhen(true)] out PackageUrl? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        var label = input.Length <= 200 ? $"purl '{input}'" : $"purl '{input[..200]}...'";
        if (input.Length > MaxLength)
        {
            error = $"{label}: longer than {MaxLength} characters";
            return false;
        }

        var span = input.AsSpan().Trim();
        if (!span.StartsWith("pkg:", StringComparison.OrdinalIgnoreCase))
        {
            error = $"{label}: scheme 'pkg:' is required at the start";
            return false;
        }

        span = span[4..];

        // Subpath: everything after the first '#'.
        string? subpath = null;
        var hash = span.IndexOf('#');
        if (hash >= 0)
        {
            if (!TryParseSegments(span[(hash + 1)..], dropDots: true, out subpath))
            {
                error = $"{label}: subpath has an invalid percent-encoding or a segment containing '/'";
                return false;
            }

            span = span[..hash];
        }

        // Qualifiers: everything after the first '?'.
        var qualifiers = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        var question = span.IndexOf('?');
        if (question >= 0)
        {
            if (!TryParseQualifiers(label, span[(question + 1)..], lenientKeys, out qualifiers, out error))
            {
                return false;
            }

            span = span[..question];
        }

        // Type: slashes after the scheme are not significant.
        span = span.TrimStart('/');
        var slash = span.IndexOf('/');
        var typeSpan = slash < 0 ? span : span[..slash];
        if (typeSpan.IsEmpty)
        {
            error = $"{label}: type is required";
            return false;
        }

        if (!IsValidType(typeSpan))
        {
            error = $"{label}: type '{typeSpan}' is invalid; it must start with an ASCII letter and use only letters, digits, '.', '+' and '-'";
            return false;
        }

        var type = typeSpan.ToString().ToLowerInvariant();
        span = slash < 0 ? [] : span[(slash + 1)..];
        span = span.TrimEnd('/');

        // Version: after the last '@' that does not start a path segment (npm scopes such as '@babel').
        string? version = null;
        var at = span.LastIndexOf('@');
        var startsSegment = at == 0 || (at > 0 && span[at - 1] == '/');
        if (at >= 0 && !(startsSegment && span[(at + 1)..].Contains('/')))
        {
            if (!PurlEncoding.TryDecode(span[(at + 1)..], out var decodedVersion))
            {
                error = $"{label}: version has an invalid percent-encoding";
                return false;
            }

            version = decodedVersion.Length == 0 ? null : decodedVersion;
            span = span[..at];
        }

        // Name: the last segment (or, for host-namespaced types, all but the first); namespace: the rest.
        var rules = PurlTypeRules.For(type);
        if (rules.HostNamespace)
        {
            span = span.TrimStart('/');
            var firstSlash = span.IndexOf('/');
            if (firstSlash > 0 && TryParseSegments(span[(firstSlash + 1)..], dropDots: false, out var path) && path is not null)
            {
                if (!PurlEncoding.TryDecode(span[..firstSlash], out var host))
                {
                    error = $"{label}: namespace has an invalid percent-encoding";
                    return false;
                }

                return TryBuild(label, type, host, path, version, qualifiers, subpath, out result, out error);
            }
        }

        var lastSlash = span.LastIndexOf('/');
        var nameSpan = lastSlash < 0 ? span : span[(lastSlash + 1)..];
        if (nameSpan.IsEmpty)
        {
            error = $"{label}: name is required";
            return false;
        }

        if (!PurlEncoding.TryDecode(nameSpan, out var name))
        {
            error = $"{label}: name has an invalid percent-encoding";
            return false;
        }

        string? ns = null;
        if (lastSlash > 0 && !TryParseSegments(span[..lastSlash], dropDots: false, out ns))
        {
            error = $"{label}: namespace has an invalid percent-encoding or a segment containing '/'";
            return false;
        }

        return TryBuild(label, type, ns, name, version, qualifiers, subpath, out result, out error);
    }

    /// <summary>Applies the type rules to decoded components and creates the package URL.</summary>
    public static bool TryBuild(string label, string type, string? ns, string? name, string? version, ImmutableSortedDictionary<string, string> qualifiers, string? subpath, [NotNullWhen(true)] out PackageUrl? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (string.IsNullOrEmpty(name))
        {
            error = $"{label}: name is required";
            return false;
        }

        var rules = PurlTypeRules.For(type);
        switch (rules.Namespace)
        {
            case NamespaceRule.Required when ns is null:
                error = $"{label}: namespace is required for type {type}";
                return false;
            case NamespaceRule.Prohibited when ns is not null:
                error = $"{label}: namespace is not allowed for type {type}";
                return false;
        }

        if (rules.VersionRequired && version is null)
        {
            error = $"{label}: version is required for type {type}";
            return false;
        }

        if (rules.RequiredQualifier is { } required && !qualifiers.ContainsKey(required))
        {
            error = $"{label}: qualifier '{required}' is required for type {type}";
            return false;
        }

        if (rules.LowerNamespace && ns is not null)
        {
            ns = ns.ToLowerInvariant();
        }

        if (rules.LowerName)
        {
            name = name.ToLowerInvariant();
        }

        if (rules.LowerVersion && version is not null)
        {
            version = version.ToLowerInvariant();
        }

        if (rules.Normalize is not null)
        {
            name = rules.Normalize(name, qualifiers);
        }

        if (rules.Validate?.Invoke(ns, name, version) is { } reason)
        {
            error = $"{label}: {reason} for type {type}";
            return false;
        }

        result = PackageUrl.CreateUnchecked(type, ns, name, version, qualifiers, subpath);
        error = null;
        return true;
    }

    private static bool TryParseQualifiers(string label, ReadOnlySpan<char> text, bool lenientKeys, out ImmutableSortedDictionary<string, string> qualifiers, [NotNullWhen(false)] out string? error)
    {
        var builder = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        qualifiers = ImmutableSortedDictionary<string, string>.Empty;
        foreach (var range in text.Split('&'))
        {
            var pair = text[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            var eq = pair.IndexOf('=');
            var keySpan = eq < 0 ? pair : pair[..eq];
            if (!IsValidQualifierKey(keySpan))
            {
                error = $"{label}: qualifier key '{keySpan}' is invalid; keys use only ASCII letters, digits, '.', '-' and '_' and do not start with a digit";
                return false;
            }

            if (!lenientKeys && char.IsAsciiLetterUpper(keySpan[0]))
            {
                error = $"{label}: qualifier key '{keySpan}' must be lower case";
                return false;
            }

            var key = keySpan.ToString().ToLowerInvariant();
            var valueSpan = eq < 0 ? [] : pair[(eq + 1)..];
            if (!PurlEncoding.TryDecode(valueSpan, out var value))
            {
                error = $"{label}: qualifier '{key}' has an invalid percent-encoding";
                return false;
            }

            if (value.Length == 0)
            {
                continue;
            }

            if (!builder.TryAdd(key, value))
            {
                error = $"{label}: qualifier '{key}' appears more than once";
                return false;
            }
        }

        qualifiers = builder.ToImmutable();
        error = null;
        return true;
    }

    private static bool TryParseSegments(ReadOnlySpan<char> text, bool dropDots, out string? joined)
    {
        joined = null;
        StringBuilder? sb = null;
        foreach (var range in text.Split('/'))
        {
            var segment = text[range];
            if (segment.IsEmpty || (dropDots && (segment is "." or "..")))
            {
                continue;
            }

            if (!PurlEncoding.TryDecode(segment, out var decoded) || decoded.Contains('/', StringComparison.Ordinal))
            {
                return false;
            }

            if (dropDots && decoded is "." or "..")
            {
                continue;
            }

            sb ??= new StringBuilder(text.Length);
            if (sb.Length > 0)
            {
                sb.Append('/');
            }

            sb.Append(decoded);
        }

        joined = sb?.ToString();
        return true;
    }
}
