using System.Globalization;
using System.Text;

namespace McpSecurity.Ingestion.Sbom.Spdx;

/// <summary>Reads SPDX 2.x tag-value documents (<c>Tag: value</c> lines, <c>&lt;text&gt;</c> blocks for multi-line values).</summary>
internal static class Spdx2TagValueParser
{
    private const int MaxLineLength = 1024 * 1024;

    public static SbomDocument Parse(ReadOnlyMemory<byte> utf8, string? fileName, SbomReaderOptions options)
    {
        var text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(utf8.Span);
        var doc = new Spdx2Assembler(fileName, options);
        SpdxElementDraft? current = null;
        var lineNumber = 0;
        var versionLocation = "line 1";
        using var reader = new StringReader(text);
        while (reader.ReadLine() is { } rawLine)
        {
            lineNumber++;
            var location = string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}");
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                if (options.Validate)
                {
                    throw new SbomFormatException(fileName, location, $"expected 'Tag: value', found '{CycloneDx.CycloneDxRules.Shorten(line)}'");
                }

                continue;
            }

            var tag = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (value.StartsWith("<text>", StringComparison.Ordinal))
            {
                value = ReadTextBlock(value, reader, ref lineNumber, fileName, location);
            }

            switch (tag)
            {
                case "SPDXVersion":
                    doc.SpecVersion = value;
                    versionLocation = location;
                    break;
                case "DocumentName":
                    doc.Name = value;
                    break;
                case "DocumentNamespace":
                    doc.Namespace = value;
                    break;
                case "Creator":
                    doc.Creators.Add(value);
                    break;
                case "Created":
                    doc.Created = value;
                    doc.CreatedLocation = location;
                    break;
                case "SPDXID":
                    if (current is null)
                    {
                        doc.DocumentId = value;
                    }
                    else
                    {
                        current.Id = value;
                    }

                    break;
                case "PackageName":
                    current = new SpdxElementDraft { Name = value, Location = location };
                    doc.Elements.Add(current);
                    break;
                case "FileName":
                    current = new SpdxElementDraft { Name = value, Type = "file", Location = location };
                    doc.Elements.Add(current);
                    break;
                case "SnippetSPDXID":
                case "LicenseID":
                    // Snippets and extracted licenses are not components; stop attributing fields to the last element.
                    current = null;
                    break;
                case "PackageVersion" when current is not null:
                    current.Version = value;
                    break;
                case "PackageSupplier" when current is not null:
                    current.Supplier = SpdxCommon.AgentName(value);
                    break;
                case "PrimaryPackagePurpose" when current is not null:
                    current.Type = SpdxCommon.ComponentType(value, current.Type);
                    break;
                case "PackageDescription" when current is not null:
                    current.Description = value;
                    break;
                case "PackageSummary" when current is not null:
                    current.Summary = value;
                    break;
                case "PackageDownloadLocation" when current is not null && !SpdxCommon.IsNoValue(value):
                    current.References.Add(new SbomExternalReference("distribution", value, null));
                    break;
                case "PackageHomePage" when current is not null && !SpdxCommon.IsNoValue(value):
                    current.References.Add(new SbomExternalReference("website", value, null));
                    break;
                case "PackageLicenseConcluded" or "LicenseConcluded" when current is not null:
                    if (SpdxCommon.License(value, "concluded") is { } concluded)
                    {
                        current.Licenses.Add(concluded);
                    }

                    break;
                case "PackageLicenseDeclared" when current is not null:
                    if (SpdxCommon.License(value, "declared") is { } declared)
                    {
                        current.Licenses.Add(declared);
                    }

                    break;
                case "PackageChecksum" or "FileChecksum" when current is not null:
                    var sep = value.IndexOf(':', StringComparison.Ordinal);
                    if (sep <= 0)
                    {
                        if (options.Validate)
                        {
                            throw new SbomFormatException(fileName, location, $"a checksum must look like 'SHA256: <hex>', not '{CycloneDx.CycloneDxRules.Shorten(value)}'");
                        }

                        break;
                    }

                    current.Hashes.Add(new SbomHash(SpdxCommon.HashAlgorithm(value[..sep]), value[(sep + 1)..].Trim()));
                    break;
                case "ExternalRef" when current is not null:
                    var parts = value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (parts.Length == 3)
                    {
                        SpdxCommon.AddExternalRef(current, parts[0], parts[1], parts[2]);
                    }

                    break;
                case "Relationship":
                    var rel = value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (rel.Length < 3)
                    {
                        if (options.Validate)
                        {
                            throw new SbomFormatException(fileName, location, $"a relationship must look like 'SPDXRef-A DEPENDS_ON SPDXRef-B', not '{CycloneDx.CycloneDxRules.Shorten(value)}'");
                        }

                        break;
                    }

                    doc.Relationships.Add((rel[0], rel[1], rel[2], location));
                    break;
                default:
                    break;
            }
        }

        return doc.Build(SbomFormat.Spdx2TagValue, versionLocation);
    }

    private static string ReadTextBlock(string first, StringReader reader, ref int lineNumber, string? fileName, string startLocation)
    {
        var body = first["<text>".Length..];
        var end = body.IndexOf("</text>", StringComparison.Ordinal);
        if (end >= 0)
        {
            return body[..end].Trim();
        }

        var sb = new StringBuilder(body);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            end = line.IndexOf("</text>", StringComparison.Ordinal);
            sb.Append('\n').Append(end >= 0 ? line.AsSpan(0, end) : line);
            if (end >= 0)
            {
                return sb.ToString().Trim();
            }

            if (sb.Length > MaxLineLength)
            {
                break;
            }
        }

        throw new SbomFormatException(fileName, startLocation, "a <text> block is not closed by </text>");
    }
}
