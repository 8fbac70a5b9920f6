using System.Globalization;
using System.Text;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Risk;

namespace McpSecurity.Risk.Context;

/// <summary>
/// Reads an asset inventory from CSV or JSON. Strict: one bad row refuses the whole file, naming the
/// line (CSV) or index (JSON) and the field, so an import is all or nothing.
/// CSV columns (header required, any order): name, kind, tier, owner, environment, internetFacing,
/// dataClassification, businessService, tags, projects, hosts, securityRequirements; lists separated by <c>;</c>.
/// JSON: an array of objects with the same member names (lists as arrays).
/// </summary>
public static class AssetImport
{
    /// <summary>Most assets one import may hold.</summary>
    public const int MaxAssets = 10_000;

    private static readonly string[] Columns = ["name", "kind", "tier", "owner", "environment", "internetfacing", "dataclassification", "businessservice", "tags", "projects", "hosts", "securityrequirements"];

    /// <summary>Reads CSV text.</summary>
    public static List<ValidAsset> FromCsv(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rows = ReadCsv(text);
        if (rows.Count == 0)
        {
            throw new ValidationException("csv", "The CSV is empty; the first line must be a header such as 'name,tier,environment,internetFacing,dataClassification,projects'.");
        }

        var header = rows[0].Fields;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < header.Count; i++)
        {
            var column = header[i].Trim().ToLowerInvariant();
            if (Array.IndexOf(Columns, column) < 0)
            {
                throw new ValidationException("csv", $"line 1: unknown column '{header[i]}'. Known: {string.Join(", ", Columns)}.");
            }

            index[column] = i;
        }

        if (!index.ContainsKey("name") || !index.ContainsKey("tier"))
        {
            throw new ValidationException("csv", "line 1: the header needs at least the columns 'name' and 'tier'.");
        }

        var list = new List<ValidAsset>();
        for (var r = 1; r < rows.Count; r++)
        {
            var (line, fields) = rows[r];
            if (fields.Count == 1 && string.IsNullOrWhiteSpace(fields[0]))
            {
                continue;
            }

            if (fields.Count != header.Count)
            {
                throw new ValidationException("csv", string.Create(CultureInfo.InvariantCulture, $"line {line}: {fields.Count} fields, but the header has {header.Count}."));
            }

            string? Get(string column) => index.TryGetValue(column, out var i) && fields[i].Trim().Length > 0 ? fields[i].Trim() : null;
            IReadOnlyList<string>? ListOf(string column) => Get(column)?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var where = string.Create(CultureInfo.InvariantCulture, $"line {line}: ");
            int? tier = Get("tier") is { } t ? int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed
                : throw new ValidationException(where + "tier", $"{where}tier '{t}' is not a number 0–3.") : null;
            bool? internet = Get("internetfacing") is { } b ? bool.TryParse(b, out var yes) ? yes
                : throw new ValidationException(where + "internetFacing", $"{where}internetFacing '{b}' must be true or false.") : null;
            list.Add(new AssetSpec(Get("name"), Get("kind"), tier, Get("owner"), Get("environment"), internet, Get("dataclassification"), Get("businessservice"),
                ListOf("tags"), ListOf("projects"), ListOf("hosts"), Get("securityrequirements")).Validate(where));
            Limit(list.Count);
        }

        return list;
    }

    /// <summary>Reads a JSON array of assets.</summary>
    public static List<ValidAsset> FromJson(ReadOnlySpan<byte> json)
    {
        List<AssetSpec>? specs;
        try
        {
            specs = JsonSerializer.Deserialize(json, Assessment.RiskJsonContext.Default.ListAssetSpec);
        }
        catch (JsonException ex)
        {
            throw new ValidationException("body", $"The asset list is not valid JSON at {ex.Path ?? "$"} (line {(ex.LineNumber ?? 0) + 1}): {ex.Message}");
        }

        if (specs is null)
        {
            throw new ValidationException("body", "The body must be a JSON array of assets.");
        }

        Limit(specs.Count);
        var list = new List<ValidAsset>(specs.Count);
        for (var i = 0; i < specs.Count; i++)
        {
            list.Add((specs[i] ?? throw new ValidationException($"[{i}]", $"[{i}] is null.")).Validate(string.Create(CultureInfo.InvariantCulture, $"[{i}].")));
        }

        return list;
    }

    private static void Limit(int count)
    {
        if (count > MaxAssets)
        {
            throw new ValidationException("body", string.Create(CultureInfo.InvariantCulture, $"At most {MaxAssets} assets per import."));
        }
    }

    private static List<(int Line, List<string> Fields)> ReadCsv(string text)
    {
        var rows = new List<(int, List<string>)>();
        var field = new StringBuilder();
        var fields = new List<string>();
        var line = 1;
        var start = 1;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    rows.Add((start, fields));
                    fields = [];
                    start = ++line;
                    break;
                default:
                    field.Append(c);
                    break;
            }
        }

        if (quoted)
        {
            throw new ValidationException("csv", string.Create(CultureInfo.InvariantCulture, $"line {start}: a quoted field is not closed."));
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            rows.Add((start, fields));
        }

        return rows;
    }
}
