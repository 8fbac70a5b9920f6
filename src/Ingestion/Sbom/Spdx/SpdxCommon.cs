using McpSecurity.Ingestion.Sbom.Internal;

namespace McpSecurity.Ingestion.Sbom.Spdx;

/// <summary>A package or file while an SPDX document is being read.</summary>
internal sealed class SpdxElementDraft
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string Type { get; set; } = "library";

    public string? Version { get; set; }

    public string? Purl { get; set; }

    public string? Cpe { get; set; }

    public string? Supplier { get; set; }

    public string? Description { get; set; }

    public string? Summary { get; set; }

    public List<SbomLicense> Licenses { get; } = [];

    public List<SbomHash> Hashes { get; } = [];

    public List<SbomExternalReference> References { get; } = [];

    public string Location { get; set; } = string.Empty;

    public SbomComponent ToComponent() => new()
    {
        BomRef = Id,
        Type = Type,
        Name = Name ?? string.Empty,
        Version = Version,
        Purl = Purl,
        Cpe = Cpe,
        Supplier = Supplier,
        Description = Description ?? Summary,
        Licenses = Licenses,
        Hashes = Hashes,
        ExternalReferences = References,
    };
}

/// <summary>Value conversions shared by the SPDX readers.</summary>
internal static class SpdxCommon
{
    /// <summary>Whether an SPDX value means "no information".</summary>
    public static bool IsNoValue(string? value) =>
        string.IsNullOrWhiteSpace(value) || value is "NOASSERTION" or "NONE";

    /// <summary>Strips the "Organization: " / "Person: " / "Tool: " prefix of an SPDX agent.</summary>
    public static string? AgentName(string? value)
    {
        if (IsNoValue(value))
        {
            return null;
        }

        var colon = value!.IndexOf(':', StringComparison.Ordinal);
        var name = colon > 0 && colon < 14 ? value[(colon + 1)..] : value;
        var email = name.IndexOf(" (", StringComparison.Ordinal);
        return (email > 0 ? name[..email] : name).Trim();
    }

    /// <summary>Converts an SPDX license field into a license entry, or null for NOASSERTION/NONE.</summary>
    public static SbomLicense? License(string? value, string acknowledgement)
    {
        if (IsNoValue(value))
        {
            return null;
        }

        var text = value!.Trim();
        var simple = text.AsSpan().IndexOfAny(" ()") < 0;
        return simple
            ? new SbomLicense(text, null, null, acknowledgement, null)
            : new SbomLicense(null, null, text, acknowledgement, null);
    }

    /// <summary>Maps SPDX checksum algorithm names (SHA256, sha3_256, blake2b256, ...) to CycloneDX spelling.</summary>
    public static string HashAlgorithm(string algorithm)
    {
        var a = algorithm.Trim().ToUpperInvariant().Replace("_", "-", StringComparison.Ordinal);
        return a switch
        {
            "SHA1" => "SHA-1",
            "SHA224" => "SHA-224",
            "SHA256" => "SHA-256",
            "SHA384" => "SHA-384",
            "SHA512" => "SHA-512",
            "SHA3-256" or "SHA3256" => "SHA3-256",
            "SHA3-384" or "SHA3384" => "SHA3-384",
            "SHA3-512" or "SHA3512" => "SHA3-512",
            "BLAKE2B-256" or "BLAKE2B256" => "BLAKE2b-256",
            "BLAKE2B-384" or "BLAKE2B384" => "BLAKE2b-384",
            "BLAKE2B-512" or "BLAKE2B512" => "BLAKE2b-512",
            "BLAKE3" => "BLAKE3",
            "MD2" or "MD4" or "MD5" or "MD6" => a,
            _ => algorithm.Trim(),
        };
    }

    /// <summary>Checks a hash value: hexadecimal and, for the common algorithms, the right length.</summary>
    public static string? CheckHash(string algorithm, string value)
    {
        if (!SbomText.IsHex(value) || value.Length == 0)
        {
            return $"{algorithm} checksum '{CycloneDx.CycloneDxRules.Shorten(value)}' must be hexadecimal";
        }

        var expected = algorithm switch
        {
            "MD5" => 32,
            "SHA-1" => 40,
            "SHA-224" => 56,
            "SHA-256" or "SHA3-256" or "BLAKE2b-256" => 64,
            "SHA-384" or "SHA3-384" or "BLAKE2b-384" => 96,
            "SHA-512" or "SHA3-512" or "BLAKE2b-512" => 128,
            _ => 0,
        };
        return expected != 0 && value.Length != expected
            ? $"{algorithm} checksum must have {expected} hex digits, not {value.Length}"
            : null;
    }

    /// <summary>Maps an SPDX 2 primaryPackagePurpose or SPDX 3 software_primaryPurpose to a CycloneDX-style type.</summary>
    public static string ComponentType(string? purpose, string fallback)
    {
        if (string.IsNullOrWhiteSpace(purpose))
        {
            return fallback;
        }

        var p = purpose.Trim().Replace('_', '-').ToLowerInvariant();
        return p switch
        {
            "operatingsystem" => "operating-system",
            "devicedriver" => "device-driver",
            _ => p,
        };
    }

    /// <summary>Maps an SPDX relationship to an edge, reversing the "_OF"/"_BY" forms.</summary>
    public static SbomDependency? Edge(string from, string type, string to)
    {
        var t = type.Trim();
        var key = t.Replace("_", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        return key switch
        {
            "DEPENDSON" => new SbomDependency(from, to, SbomRelationship.DependsOn, t),
            "DEPENDENCYOF" => new SbomDependency(to, from, SbomRelationship.DependsOn, t),
            "CONTAINS" => new SbomDependency(from, to, SbomRelationship.Contains, t),
            "CONTAINEDBY" => new SbomDependency(to, from, SbomRelationship.Contains, t),
            "DESCRIBES" => new SbomDependency(from, to, SbomRelationship.Describes, t),
            "DESCRIBEDBY" => new SbomDependency(to, from, SbomRelationship.Describes, t),
            _ => new SbomDependency(from, to, SbomRelationship.Other, t),
        };
    }

    /// <summary>Whether a reference legitimately points outside the document.</summary>
    public static bool IsExternalRef(string reference) =>
        reference is "NONE" or "NOASSERTION" || reference.StartsWith("DocumentRef-", StringComparison.Ordinal);

    /// <summary>Adds a draft's external reference, routing purl and CPE locators to their own fields.</summary>
    public static void AddExternalRef(SpdxElementDraft draft, string? category, string? type, string? locator)
    {
        if (string.IsNullOrWhiteSpace(locator) || string.IsNullOrWhiteSpace(type))
        {
            return;
        }

        if (string.Equals(type, "purl", StringComparison.OrdinalIgnoreCase))
        {
            draft.Purl ??= locator;
        }
        else if (type.StartsWith("cpe", StringComparison.OrdinalIgnoreCase))
        {
            draft.Cpe ??= locator;
        }

        draft.References.Add(new SbomExternalReference(type, locator, category));
    }
}
