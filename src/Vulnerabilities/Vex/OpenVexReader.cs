using System.Globalization;
using System.Text.Json;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Vulnerabilities.Vex;

/// <summary>
/// Reads OpenVEX JSON documents, spec v0.2.0 and the earlier <c>https://openvex.dev/ns</c> and v0.0.1 forms
/// (products and vulnerability as plain strings). Anything that does not follow the specification is
/// rejected with a <see cref="VexFormatException"/> naming the JSON path.
/// </summary>
public static class OpenVexReader
{
    /// <summary>Largest document accepted.</summary>
    public const int MaxDocumentBytes = 16 << 20;

    /// <summary>Most statements accepted in one document.</summary>
    public const int MaxStatements = 100_000;

    private static readonly string[] Justifications =
    [
        "component_not_present",
        "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist",
    ];

    /// <summary>True when the JSON looks like an OpenVEX document (an <c>@context</c> in the openvex.dev namespace).</summary>
    public static bool LooksLikeOpenVex(ReadOnlySpan<byte> json)
    {
        var head = json.Length > 4096 ? json[..4096] : json;
        return head.IndexOf("openvex.dev/ns"u8) >= 0;
    }

    /// <summary>Parses a document.</summary>
    /// <exception cref="VexFormatException">The document is not valid OpenVEX; the message names the JSON path.</exception>
    public static VexDocument Read(ReadOnlyMemory<byte> json)
    {
        if (json.Length > MaxDocumentBytes)
        {
            throw new VexFormatException("$", $"the document has {json.Length} bytes; at most {MaxDocumentBytes} are accepted.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw new VexFormatException($"$ (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", "not well-formed JSON: " + ex.Message);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new VexFormatException("$", "an OpenVEX document is a JSON object.");
            }

            var context = OptionalString(root, "@context", "$") ?? throw new VexFormatException("$.@context", "missing; an OpenVEX document names its context, e.g. https://openvex.dev/ns/v0.2.0.");
            if (!context.StartsWith("https://openvex.dev/ns", StringComparison.Ordinal))
            {
                throw new VexFormatException("$.@context", $"'{context}' is not an OpenVEX context (https://openvex.dev/ns…).");
            }

            var id = OptionalString(root, "@id", "$");
            var author = OptionalString(root, "author", "$");
            var timestamp = OptionalTime(root, "timestamp", "$");
            if (!root.TryGetProperty("statements", out var statements) || statements.ValueKind != JsonValueKind.Array)
            {
                throw new VexFormatException("$.statements", "missing or not an array.");
            }

            if (statements.GetArrayLength() > MaxStatements)
            {
                throw new VexFormatException("$.statements", $"{statements.GetArrayLength()} statements; at most {MaxStatements} are accepted.");
            }

            var list = new List<VexStatement>(statements.GetArrayLength());
            var i = 0;
            foreach (var s in statements.EnumerateArray())
            {
                list.Add(ReadStatement(s, string.Create(CultureInfo.InvariantCulture, $"$.statements[{i++}]"), timestamp));
            }

            return new VexDocument("OpenVEX", id, author, timestamp, list);
        }
    }

    private static VexStatement ReadStatement(JsonElement s, string path, DateTimeOffset? documentTime)
    {
        if (s.ValueKind != JsonValueKind.Object)
        {
            throw new VexFormatException(path, "a statement is a JSON object.");
        }

        string name;
        var aliases = new List<string>();
        if (!s.TryGetProperty("vulnerability", out var v))
        {
            throw new VexFormatException(path + ".vulnerability", "missing.");
        }

        if (v.ValueKind == JsonValueKind.String)
        {
            name = NonEmpty(v, path + ".vulnerability");
        }
        else if (v.ValueKind == JsonValueKind.Object)
        {
            // The schema requires a name; some producers (Trivy's own tests) give only an @id such as "CVE-2022-23628"
            // or https://pkg.go.dev/vuln/GO-2024-2575, whose last segment is then the name.
            name = OptionalString(v, "name", path + ".vulnerability")
                ?? IdName(OptionalString(v, "@id", path + ".vulnerability"))
                ?? throw new VexFormatException(path + ".vulnerability.name", "missing (and no @id to take it from).");
            if (name.Length == 0)
            {
                throw new VexFormatException(path + ".vulnerability.name", "empty.");
            }

            if (v.TryGetProperty("aliases", out var a))
            {
                if (a.ValueKind != JsonValueKind.Array)
                {
                    throw new VexFormatException(path + ".vulnerability.aliases", "not an array.");
                }

                var j = 0;
                foreach (var alias in a.EnumerateArray())
                {
                    aliases.Add(NonEmpty(alias, string.Create(CultureInfo.InvariantCulture, $"{path}.vulnerability.aliases[{j++}]")));
                }
            }
        }
        else
        {
            throw new VexFormatException(path + ".vulnerability", "must be a string or an object with a name.");
        }

        var products = new List<VexProduct>();
        if (s.TryGetProperty("products", out var p) && p.ValueKind != JsonValueKind.Null)
        {
            if (p.ValueKind != JsonValueKind.Array)
            {
                throw new VexFormatException(path + ".products", "not an array.");
            }

            var j = 0;
            foreach (var product in p.EnumerateArray())
            {
                products.Add(ReadProduct(product, string.Create(CultureInfo.InvariantCulture, $"{path}.products[{j++}]"), true));
            }
        }

        var statusText = OptionalString(s, "status", path) ?? throw new VexFormatException(path + ".status", "missing.");
        var status = statusText switch
        {
            "not_affected" => VexStatus.NotAffected,
            "affected" => VexStatus.Affected,
            "fixed" => VexStatus.Fixed,
            "under_investigation" => VexStatus.UnderInvestigation,
            _ => throw new VexFormatException(path + ".status", $"'{statusText}' is not one of not_affected, affected, fixed, under_investigation."),
        };
        var justification = OptionalString(s, "justification", path);
        if (justification is not null && Array.IndexOf(Justifications, justification) < 0)
        {
            throw new VexFormatException(path + ".justification", $"'{justification}' is not an OpenVEX justification ({string.Join(", ", Justifications)}).");
        }

        if (justification is not null && status != VexStatus.NotAffected)
        {
            throw new VexFormatException(path + ".justification", $"a justification belongs to a not_affected statement, not to '{statusText}'.");
        }

        var detail = OptionalString(s, "impact_statement", path) ?? OptionalString(s, "action_statement", path) ?? OptionalString(s, "status_notes", path);
        var time = OptionalTime(s, "timestamp", path) ?? documentTime;
        return new VexStatement(name, aliases, products, status, justification, detail, time, path);
    }

    private static VexProduct ReadProduct(JsonElement e, string path, bool allowSubcomponents)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            var text = NonEmpty(e, path);
            return new VexProduct(text, TryPurl(text), []);
        }

        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new VexFormatException(path, "a product is a string or an object with an @id or identifiers.");
        }

        var id = OptionalString(e, "@id", path);
        string? purlText = null;
        if (e.TryGetProperty("identifiers", out var identifiers))
        {
            if (identifiers.ValueKind != JsonValueKind.Object)
            {
                throw new VexFormatException(path + ".identifiers", "not an object.");
            }

            purlText = OptionalString(identifiers, "purl", path + ".identifiers");
            if (purlText is not null && TryPurl(purlText) is null)
            {
                throw new VexFormatException(path + ".identifiers.purl", $"'{purlText}' is not a valid package URL.");
            }
        }

        if (id is null && purlText is null)
        {
            throw new VexFormatException(path, "a product needs an @id or identifiers.purl.");
        }

        var subcomponents = new List<VexProduct>();
        if (e.TryGetProperty("subcomponents", out var subs) && subs.ValueKind != JsonValueKind.Null)
        {
            if (!allowSubcomponents)
            {
                throw new VexFormatException(path + ".subcomponents", "subcomponents cannot be nested.");
            }

            if (subs.ValueKind != JsonValueKind.Array)
            {
                throw new VexFormatException(path + ".subcomponents", "not an array.");
            }

            var j = 0;
            foreach (var sub in subs.EnumerateArray())
            {
                subcomponents.Add(ReadProduct(sub, string.Create(CultureInfo.InvariantCulture, $"{path}.subcomponents[{j++}]"), false));
            }
        }

        return new VexProduct(id ?? purlText!, TryPurl(purlText ?? id!) ?? (id is null ? null : TryPurl(id)), subcomponents);
    }

    private static string? IdName(string? id)
    {
        if (id is null || !Uri.TryCreate(id, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return id;
        }

        var last = uri.AbsolutePath.TrimEnd('/');
        last = last[(last.LastIndexOf('/') + 1)..];
        return last.Length == 0 ? null : Uri.UnescapeDataString(last);
    }

    private static PackageUrl? TryPurl(string text) =>
        text.StartsWith("pkg:", StringComparison.OrdinalIgnoreCase) && PackageUrl.TryParse(text, out var purl, out _) ? purl : null;

    private static string NonEmpty(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.String)
        {
            throw new VexFormatException(path, $"expected a string, found {e.ValueKind.ToString().ToLowerInvariant()}.");
        }

        var text = e.GetString()!;
        if (text.Length == 0)
        {
            throw new VexFormatException(path, "empty.");
        }

        if (text.Length > 4096)
        {
            throw new VexFormatException(path, $"{text.Length} characters; at most 4096 are accepted.");
        }

        return text;
    }

    private static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!obj.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            throw new VexFormatException(path + "." + name, $"expected a string, found {e.ValueKind.ToString().ToLowerInvariant()}.");
        }

        var text = e.GetString()!;
        return text.Length > 65536 ? throw new VexFormatException(path + "." + name, $"{text.Length} characters; at most 65536 are accepted.") : text;
    }

    private static DateTimeOffset? OptionalTime(JsonElement obj, string name, string path)
    {
        var text = OptionalString(obj, name, path);
        if (text is null)
        {
            return null;
        }

        return Timestamps.TryParse(text, out var value) ? value : throw new VexFormatException(path + "." + name, $"'{text}' is not an RFC 3339 timestamp.");
    }
}
