using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>One entry of the CISA Known Exploited Vulnerabilities catalogue.</summary>
public sealed class KevEntry
{
    /// <summary>The CVE id, such as <c>CVE-2021-44228</c>.</summary>
    public required string CveId { get; init; }

    /// <summary>The vendor or project.</summary>
    public string? VendorProject { get; init; }

    /// <summary>The product.</summary>
    public string? Product { get; init; }

    /// <summary>CISA's name for the vulnerability.</summary>
    public string? VulnerabilityName { get; init; }

    /// <summary>When CISA added the entry.</summary>
    public DateOnly? DateAdded { get; init; }

    /// <summary>A short description.</summary>
    public string? ShortDescription { get; init; }

    /// <summary>What federal agencies must do.</summary>
    public string? RequiredAction { get; init; }

    /// <summary>The remediation due date for federal agencies.</summary>
    public DateOnly? DueDate { get; init; }

    /// <summary>True when use in ransomware campaigns is known; false when CISA says "Unknown".</summary>
    public bool KnownRansomwareCampaignUse { get; init; }

    /// <summary>Notes and links.</summary>
    public string? Notes { get; init; }

    /// <summary>CWE ids; often empty.</summary>
    public IReadOnlyList<string> Cwes { get; init; } = [];
}

/// <summary>The CISA KEV catalogue, indexed by CVE id (case-insensitive).</summary>
public sealed class KevCatalog
{
    private readonly FrozenDictionary<string, KevEntry> _byCve;

    /// <summary>Creates a catalogue; a CVE listed twice keeps its first entry.</summary>
    /// <param name="title">The catalogue title.</param>
    /// <param name="catalogVersion">The catalogue version, such as <c>2025.08.25</c>.</param>
    /// <param name="dateReleased">When the catalogue was released.</param>
    /// <param name="entries">The entries.</param>
    public KevCatalog(string? title, string? catalogVersion, DateTimeOffset? dateReleased, IReadOnlyList<KevEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Title = title;
        CatalogVersion = catalogVersion;
        DateReleased = dateReleased;
        Entries = entries;
        var map = new Dictionary<string, KevEntry>(entries.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var e in entries)
        {
            map.TryAdd(e.CveId, e);
        }

        _byCve = map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The catalogue title; null for the CSV form.</summary>
    public string? Title { get; }

    /// <summary>The catalogue version; null for the CSV form.</summary>
    public string? CatalogVersion { get; }

    /// <summary>When the catalogue was released; null for the CSV form.</summary>
    public DateTimeOffset? DateReleased { get; }

    /// <summary>The entries in file order.</summary>
    public IReadOnlyList<KevEntry> Entries { get; }

    /// <summary>Finds the entry for a CVE id.</summary>
    /// <param name="cveId">The CVE id.</param>
    /// <returns>The entry, or null when the CVE is not known to be exploited.</returns>
    public KevEntry? Find(string cveId) => _byCve.GetValueOrDefault(cveId);
}

/// <summary>Reads the CISA KEV catalogue in its JSON or CSV form.</summary>
public static class KevImporter
{
    private static readonly string[] Columns =
    [
        "cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded", "shortDescription",
        "requiredAction", "dueDate", "knownRansomwareCampaignUse", "notes", "cwes",
    ];

    /// <summary>Reads <c>known_exploited_vulnerabilities.json</c> or <c>.csv</c>, chosen by extension.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="AdvisoryFormatException">The file is malformed; the message names the JSON path or CSV line.</exception>
    public static KevCatalog ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
            ? ParseCsv(File.ReadAllText(path, Encoding.UTF8), path)
            : ParseJson(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses the JSON catalogue.</summary>
    /// <param name="utf8Json">The UTF-8 JSON.</param>
    /// <param name="source">The file name for messages.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="AdvisoryFormatException">The document is malformed.</exception>
    public static KevCatalog ParseJson(ReadOnlySpan<byte> utf8Json, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (utf8Json.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        KevCatalogDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(utf8Json, AdvisoryJsonContext.Default.KevCatalogDto);
        }
        catch (JsonException ex)
        {
            throw new AdvisoryFormatException(source, OsvImporter.JsonLocation(ex), OsvImporter.FirstSentence(ex.Message), ex);
        }

        if (dto?.Vulnerabilities is null)
        {
            throw new AdvisoryFormatException(source, "$.vulnerabilities", "required array is missing");
        }

        var entries = new List<KevEntry>(dto.Vulnerabilities.Count);
        for (var i = 0; i < dto.Vulnerabilities.Count; i++)
        {
            var path = $"$.vulnerabilities[{i}]";
            var v = dto.Vulnerabilities[i] ?? throw new AdvisoryFormatException(source, path, "null is not allowed");
            entries.Add(Entry(
                source, path, v.CveId, v.VendorProject, v.Product, v.VulnerabilityName, v.DateAdded, v.ShortDescription,
                v.RequiredAction, v.DueDate, v.KnownRansomwareCampaignUse, v.Notes, v.Cwes?.ToArray() ?? []));
        }

        DateTimeOffset? released = null;
        if (dto.DateReleased is not null && !Timestamps.TryParse(dto.DateReleased, out released))
        {
            throw new AdvisoryFormatException(source, "$.dateReleased", $"'{dto.DateReleased}' is not a timestamp");
        }

        return new KevCatalog(dto.Title, dto.CatalogVersion, released, entries);
    }

    /// <summary>Parses the CSV catalogue (header row, then one row per entry; <c>cwes</c> is a ", "-separated list).</summary>
    /// <param name="text">The CSV text.</param>
    /// <param name="source">The file name for messages.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="AdvisoryFormatException">The file is malformed; the message names the line.</exception>
    public static KevCatalog ParseCsv(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var reader = new CsvReader(text);
        if (!reader.TryReadRecord(out var header))
        {
            throw new AdvisoryFormatException(source, "line 1", "the file is empty; expected a header row");
        }

        var index = new int[Columns.Length];
        for (var c = 0; c < Columns.Length; c++)
        {
            index[c] = header.FindIndex(h => string.Equals(h.Trim(), Columns[c], StringComparison.OrdinalIgnoreCase));
            if (index[c] < 0 && c is 0)
            {
                throw new AdvisoryFormatException(source, "line 1", $"header has no '{Columns[c]}' column");
            }
        }

        var entries = new List<KevEntry>();
        while (true)
        {
            var line = reader.Line;
            if (!reader.TryReadRecord(out var row))
            {
                break;
            }

            if (row.Count == 1 && row[0].Length == 0)
            {
                continue;
            }

            var location = $"line {line}";
            string? Col(int c) => index[c] >= 0 && index[c] < row.Count ? row[index[c]] : null;
            var cwes = Col(10) is { Length: > 0 } list
                ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : [];
            entries.Add(Entry(source, location, Col(0), Col(1), Col(2), Col(3), Col(4), Col(5), Col(6), Col(7), Col(8), Col(9), cwes));
        }

        return new KevCatalog(null, null, null, entries);
    }

    private static KevEntry Entry(
        string source, string location, string? cve, string? vendor, string? product, string? name, string? added,
        string? description, string? action, string? due, string? ransomware, string? notes, string[] cwes)
    {
        if (string.IsNullOrWhiteSpace(cve) || !cve.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase))
        {
            throw new AdvisoryFormatException(source, location, $"cveID '{cve}' is missing or not a CVE id");
        }

        if (!Timestamps.TryParseDate(added, out var dateAdded))
        {
            throw new AdvisoryFormatException(source, location, $"dateAdded '{added}' is not a YYYY-MM-DD date");
        }

        if (!Timestamps.TryParseDate(due, out var dueDate))
        {
            throw new AdvisoryFormatException(source, location, $"dueDate '{due}' is not a YYYY-MM-DD date");
        }

        return new KevEntry
        {
            CveId = cve.Trim(),
            VendorProject = vendor,
            Product = product,
            VulnerabilityName = name,
            DateAdded = dateAdded,
            ShortDescription = description,
            RequiredAction = action,
            DueDate = dueDate,
            KnownRansomwareCampaignUse = string.Equals(ransomware?.Trim(), "Known", StringComparison.OrdinalIgnoreCase),
            Notes = notes,
            Cwes = cwes,
        };
    }
}

internal sealed class KevCatalogDto
{
    [JsonPropertyName("title")]
    public string? Title { get; set; }

    [JsonPropertyName("catalogVersion")]
    public string? CatalogVersion { get; set; }

    [JsonPropertyName("dateReleased")]
    public string? DateReleased { get; set; }

    [JsonPropertyName("vulnerabilities")]
    public List<KevEntryDto?>? Vulnerabilities { get; set; }
}

internal sealed class KevEntryDto
{
    [JsonPropertyName("cveID")]
    public string? CveId { get; set; }

    [JsonPropertyName("vendorProject")]
    public string? VendorProject { get; set; }

    [JsonPropertyName("product")]
    public string? Product { get; set; }

    [JsonPropertyName("vulnerabilityName")]
    public string? VulnerabilityName { get; set; }

    [JsonPropertyName("dateAdded")]
    public string? DateAdded { get; set; }

    [JsonPropertyName("shortDescription")]
    public string? ShortDescription { get; set; }

    [JsonPropertyName("requiredAction")]
    public string? RequiredAction { get; set; }

    [JsonPropertyName("dueDate")]
    public string? DueDate { get; set; }

    [JsonPropertyName("knownRansomwareCampaignUse")]
    public string? KnownRansomwareCampaignUse { get; set; }

    [JsonPropertyName("notes")]
    public string? Notes { get; set; }

    [JsonPropertyName("cwes")]
    public List<string>? Cwes { get; set; }
}
