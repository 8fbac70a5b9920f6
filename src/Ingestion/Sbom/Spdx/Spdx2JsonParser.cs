using System.Text.Json;
using McpSecurity.Ingestion.Sbom.Internal;

namespace McpSecurity.Ingestion.Sbom.Spdx;

/// <summary>Reads SPDX 2.2/2.3 JSON documents.</summary>
internal sealed class Spdx2JsonParser : JsonWalker
{
    private readonly Spdx2Assembler _doc;

    private Spdx2JsonParser(string? fileName, SbomReaderOptions options)
        : base(fileName, options)
    {
        _doc = new Spdx2Assembler(fileName, options);
    }

    public static SbomDocument Parse(ReadOnlyMemory<byte> utf8, string? fileName, SbomReaderOptions options)
    {
        using var json = ParseDocument(utf8, fileName, options);
        return new Spdx2JsonParser(fileName, options).ReadDocument(json.RootElement);
    }

    private SbomDocument ReadDocument(JsonElement root)
    {
        RequireObject(root, "an SPDX document");
        _doc.SpecVersion = Str(root, "spdxVersion");
        _doc.DocumentId = Str(root, "SPDXID");
        _doc.Name = Str(root, "name");
        _doc.Namespace = Str(root, "documentNamespace");
        if (TryObject(root, "creationInfo", out var creation))
        {
            Push("creationInfo");
            _doc.Created = Str(creation, "created");
            _doc.CreatedLocation = CurrentPath("created");
            _doc.Creators.AddRange(StrArray(creation, "creators"));
            Pop();
        }

        _doc.DocumentDescribes.AddRange(StrArray(root, "documentDescribes"));
        ReadElements(root, "packages", isFile: false);
        ReadElements(root, "files", isFile: true);
        if (TryArray(root, "relationships", out var relationships))
        {
            Push("relationships");
            var i = 0;
            foreach (var r in relationships.EnumerateArray())
            {
                Push(i++);
                RequireObject(r, "a relationship");
                var from = RequiredStr(r, "spdxElementId", "a relationship");
                var type = RequiredStr(r, "relationshipType", "a relationship");
                var to = RequiredStr(r, "relatedSpdxElement", "a relationship");
                if (from.Length > 0 && type.Length > 0 && to.Length > 0)
                {
                    _doc.Relationships.Add((from, type, to, CurrentPath()));
                }

                Pop();
            }

            Pop();
        }

        return _doc.Build(SbomFormat.Spdx2Json, "$.spdxVersion");
    }

    private void ReadElements(JsonElement root, string member, bool isFile)
    {
        if (!TryArray(root, member, out var array))
        {
            return;
        }

        Push(member);
        var i = 0;
        foreach (var p in array.EnumerateArray())
        {
            Push(i++);
            RequireObject(p, isFile ? "a file" : "a package");
            var draft = new SpdxElementDraft
            {
                Id = Str(p, "SPDXID"),
                Name = Str(p, isFile ? "fileName" : "name"),
                Type = isFile ? "file" : SpdxCommon.ComponentType(Str(p, "primaryPackagePurpose"), "library"),
                Version = Str(p, "versionInfo"),
                Supplier = SpdxCommon.AgentName(Str(p, "supplier")),
                Description = Str(p, "description"),
                Summary = Str(p, "summary"),
                Location = CurrentPath(),
            };
            if (SpdxCommon.License(Str(p, "licenseConcluded"), "concluded") is { } concluded)
            {
                draft.Licenses.Add(concluded);
            }

            if (SpdxCommon.License(Str(p, "licenseDeclared"), "declared") is { } declared)
            {
                draft.Licenses.Add(declared);
            }

            if (TryArray(p, "checksums", out var checksums))
            {
                Push("checksums");
                var j = 0;
                foreach (var c in checksums.EnumerateArray())
                {
                    Push(j++);
                    RequireObject(c, "a checksum");
                    var alg = RequiredStr(c, "algorithm", "a checksum");
                    var value = RequiredStr(c, "checksumValue", "a checksum");
                    var normalised = SpdxCommon.HashAlgorithm(alg);
                    Rule(SpdxCommon.CheckHash(normalised, value), "checksumValue");
                    draft.Hashes.Add(new SbomHash(normalised, value));
                    Pop();
                }

                Pop();
            }

            if (TryArray(p, "externalRefs", out var refs))
            {
                Push("externalRefs");
                var j = 0;
                foreach (var r in refs.EnumerateArray())
                {
                    Push(j++);
                    RequireObject(r, "an external reference");
                    SpdxCommon.AddExternalRef(draft, Str(r, "referenceCategory"), Str(r, "referenceType"), Str(r, "referenceLocator"));
                    Pop();
                }

                Pop();
            }

            var download = Str(p, "downloadLocation");
            if (!SpdxCommon.IsNoValue(download))
            {
                draft.References.Add(new SbomExternalReference("distribution", download!, null));
            }

            var homepage = Str(p, "homepage");
            if (!SpdxCommon.IsNoValue(homepage))
            {
                draft.References.Add(new SbomExternalReference("website", homepage!, null));
            }

            _doc.Elements.Add(draft);
            Pop();
        }

        Pop();
    }
}
