using System.Buffers;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace McpSecurity.Vulnerabilities.Purl;

/// <summary>
/// An immutable Package URL (purl), normalised with the rules of its type.
/// Create one with <see cref="Parse(string)"/>, <see cref="TryParse(string, out PackageUrl?, out string?)"/>
/// or <see cref="Create"/>; <see cref="ToString"/> gives the canonical form.
/// </summary>
/// <remarks>
/// Parsing is strict about structure (scheme, type syntax, percent-encoding, required components) and
/// normalises case where the type says names are case-insensitive. Qualifier keys are case-insensitive,
/// but <see cref="Parse(string)"/> rejects a key whose first character is an upper-case letter, as the
/// purl conformance suite requires; <see cref="ParseLenient"/> folds such keys to lower case instead.
/// </remarks>
public sealed class PackageUrl : IEquatable<PackageUrl>
{
    private readonly string _canonical;

    private PackageUrl(string type, string? ns, string name, string? version, ImmutableSortedDictionary<string, string> qualifiers, string? subpath)
    {
        Type = type;
        Namespace = ns;
        Name = name;
        Version = version;
        Qualifiers = qualifiers;
        Subpath = subpath;
        _canonical = Format();
    }

    /// <summary>The package type, lower case (for example <c>npm</c>, <c>maven</c>).</summary>
    public string Type { get; }

    /// <summary>The decoded namespace with segments joined by '/', or null.</summary>
    public string? Namespace { get; }

    /// <summary>The decoded package name.</summary>
    public string Name { get; }

    /// <summary>The decoded version, or null.</summary>
    public string? Version { get; }

    /// <summary>The decoded qualifiers, keys lower case and sorted ordinally. Empty values are dropped.</summary>
    public ImmutableSortedDictionary<string, string> Qualifiers { get; }

    /// <summary>The decoded subpath with segments joined by '/', or null.</summary>
    public string? Subpath { get; }

    /// <summary>Parses a purl string, throwing <see cref="PackageUrlFormatException"/> when it is invalid.</summary>
    /// <param name="purl">The purl, for example <c>pkg:npm/%40angular/core@12.0.0</c>.</param>
    /// <returns>The normalised package URL.</returns>
    /// <exception cref="PackageUrlFormatException">The string is not a valid purl; the message says which component and why.</exception>
    public static PackageUrl Parse(string purl)
    {
        ArgumentNullException.ThrowIfNull(purl);
        return PurlParser.TryParse(purl, lenientKeys: false, out var result, out var error)
            ? result
            : throw new PackageUrlFormatException(error);
    }

    /// <summary>
    /// Parses a purl string like <see cref="Parse(string)"/>, but folds qualifier keys of any case to
    /// lower case. Use it to canonicalise hand-written purls.
    /// </summary>
    /// <param name="purl">The purl string.</param>
    /// <returns>The normalised package URL.</returns>
    /// <exception cref="PackageUrlFormatException">The string is not a valid purl.</exception>
    public static PackageUrl ParseLenient(string purl)
    {
        ArgumentNullException.ThrowIfNull(purl);
        return PurlParser.TryParse(purl, lenientKeys: true, out var result, out var error)
            ? result
            : throw new PackageUrlFormatException(error);
    }

    /// <summary>Parses a purl string without throwing.</summary>
    /// <param name="purl">The purl string; null gives an error.</param>
    /// <param name="result">The package URL, or null on failure.</param>
    /// <param name="error">Why parsing failed, or null on success.</param>
    /// <returns>True when <paramref name="purl"/> is a valid purl.</returns>
    public static bool TryParse([NotNullWhen(true)] string? purl, [NotNullWhen(true)] out PackageUrl? result, [NotNullWhen(false)] out string? error)
    {
        if (purl is null)
        {
            result = null;
            error = "purl: input is null";
            return false;
        }

        if (PurlParser.TryParse(purl, lenientKeys: false, out var parsed, out var message))
        {
            result = parsed;
            error = null;
            return true;
        }

        result = null;
        error = message;
        return false;
    }

    /// <summary>Builds a package URL from decoded components, applying the type's normalisation.</summary>
    /// <param name="type">The type; required.</param>
    /// <param name="ns">The namespace, segments separated by '/', or null.</param>
    /// <param name="name">The name; required.</param>
    /// <param name="version">The version, or null.</param>
    /// <param name="qualifiers">Qualifiers, or null. Keys are folded to lower case; empty values are dropped.</param>
    /// <param name="subpath">The subpath, segments separated by '/', or null.</param>
    /// <returns>The package URL.</returns>
    /// <exception cref="PackageUrlFormatException">The components do not form a valid purl.</exception>
    public static PackageUrl Create(string? type, string? ns, string? name, string? version, IEnumerable<KeyValuePair<string, string?>>? qualifiers, string? subpath)
    {
        const string Label = "purl components";
        if (string.IsNullOrEmpty(type))
        {
            throw new PackageUrlFormatException($"{Label}: type is required");
        }

        if (!PurlParser.IsValidType(type))
        {
            throw new PackageUrlFormatException($"{Label}: type '{type}' is invalid; it must start with an ASCII letter and use only letters, digits, '.', '+' and '-'");
        }

        var builder = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (qualifiers is not null)
        {
            foreach (var (rawKey, value) in qualifiers)
            {
                var key = rawKey.ToLowerInvariant();
                if (!PurlParser.IsValidQualifierKey(key))
                {
                    throw new PackageUrlFormatException($"{Label}: qualifier key '{rawKey}' is invalid; keys use only ASCII letters, digits, '.', '-' and '_' and do not start with a digit");
                }

                if (string.IsNullOrEmpty(value))
                {
                    continue;
                }

                if (!builder.TryAdd(key, value))
                {
                    throw new PackageUrlFormatException($"{Label}: qualifier '{key}' appears more than once");
                }
            }
        }

        var normalizedNs = JoinSegments(ns, dropDots: false);
        return PurlParser.TryBuild(Label, type.ToLowerInvariant(), normalizedNs, name, string.IsNullOrEmpty(version) ? null : version, builder.ToImmutable(), JoinSegments(subpath, dropDots: true), out var result, out var error)
            ? result
            : throw new PackageUrlFormatException(error);
    }

    /// <summary>The canonical purl string.</summary>
    /// <returns>The canonical form, for example <c>pkg:maven/org.apache.commons/io@1.3.4</c>.</returns>
    public override string ToString() => _canonical;

    /// <summary>
    /// Serialises the purl for command-line output: one JSON object with <c>purl</c> (canonical form),
    /// <c>type</c>, <c>namespace</c>, <c>name</c>, <c>version</c>, <c>qualifiers</c> (an object) and <c>subpath</c>.
    /// </summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteJson(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the object described in <see cref="ToJson"/> to <paramref name="writer"/>.</summary>
    /// <param name="writer">The destination writer.</param>
    public void WriteJson(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("purl", _canonical);
        writer.WriteString("type", Type);
        writer.WriteString("namespace", Namespace);
        writer.WriteString("name", Name);
        writer.WriteString("version", Version);
        writer.WriteStartObject("qualifiers");
        foreach (var (key, value) in Qualifiers)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
        writer.WriteString("subpath", Subpath);
        writer.WriteEndObject();
    }

    /// <summary>Two package URLs are equal when their canonical forms are equal.</summary>
    /// <param name="other">The other package URL.</param>
    /// <returns>True when equal.</returns>
    public bool Equals(PackageUrl? other) => other is not null && string.Equals(_canonical, other._canonical, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PackageUrl other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_canonical);

    internal static PackageUrl CreateUnchecked(string type, string? ns, string name, string? version, ImmutableSortedDictionary<string, string> qualifiers, string? subpath) =>
        new(type, ns, name, version, qualifiers, subpath);

    private static string? JoinSegments(string? value, bool dropDots)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var sb = new StringBuilder(value.Length);
        foreach (var range in value.AsSpan().Split('/'))
        {
            var segment = value.AsSpan()[range];
            if (segment.IsEmpty || (dropDots && (segment is "." or "..")))
            {
                continue;
            }

            if (sb.Length > 0)
            {
                sb.Append('/');
            }

            sb.Append(segment);
        }

        return sb.Length == 0 ? null : sb.ToString();
    }

    private string Format()
    {
        var sb = new StringBuilder(64);
        sb.Append("pkg:").Append(Type).Append('/');
        if (Namespace is not null)
        {
            AppendSegments(sb, Namespace);
            sb.Append('/');
        }

        if (PurlTypeRules.For(Type).HostNamespace)
        {
            AppendSegments(sb, Name);
        }
        else
        {
            PurlEncoding.Append(sb, Name);
        }

        if (Version is not null)
        {
            sb.Append('@');
            PurlEncoding.Append(sb, Version);
        }

        if (Qualifiers.Count > 0)
        {
            var first = true;
            foreach (var (key, value) in Qualifiers)
            {
                sb.Append(first ? '?' : '&').Append(key).Append('=');
                PurlEncoding.Append(sb, value);
                first = false;
            }
        }

        if (Subpath is not null)
        {
            sb.Append('#');
            AppendSegments(sb, Subpath);
        }

        return sb.ToString();
    }

    private static void AppendSegments(StringBuilder sb, string value)
    {
        var first = true;
        foreach (var segment in value.Split('/'))
        {
            if (!first)
            {
                sb.Append('/');
            }

            PurlEncoding.Append(sb, segment);
            first = false;
        }
    }
}
