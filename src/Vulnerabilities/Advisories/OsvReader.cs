using System.Runtime.CompilerServices;
using System.Text.Json;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>
/// Reads one OSV document in a single pass over <see cref="Utf8JsonReader"/>, building the model directly.
/// The rules are those of the OSV schema as the importer has always applied them: members are matched by
/// exact (case-sensitive) name, unknown members are skipped, a repeated member takes its last value, a
/// string member may be null, and every problem is reported with the JSON path (and for JSON that is
/// malformed or of the wrong type, the line). Common short values (ecosystems, range and reference types,
/// the version <c>0</c>) are shared instead of allocated per document.
/// </summary>
internal ref struct OsvReader
{
    private static readonly JsonReaderOptions Options = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    private readonly ReadOnlySpan<byte> _json;
    private readonly string _source;

    // False when the document is only validated: strings that are not kept (all but the id and the timestamps)
    // are then not decoded when plain ASCII, only classified (empty, blank or not), and raw JSON members are skipped.
    private readonly bool _build;
    private Utf8JsonReader _r;

    // The JSON path of the value being read: a property name, or an array index when the name is null.
    private PathNames _names;
    private PathIndexes _indexes;
    private int _depth;

    private OsvReader(ReadOnlySpan<byte> json, string source, bool build)
    {
        _json = json;
        _source = source;
        _build = build;
        _r = new Utf8JsonReader(json, Options);
    }

    /// <summary>Parses one document (without a byte order mark).</summary>
    public static OsvAdvisory Parse(ReadOnlySpan<byte> json, string source)
    {
        var reader = new OsvReader(json, source, build: true);
        return reader.ReadDocument();
    }

    /// <summary>
    /// Validates one document (without a byte order mark) by the same rules and with the same errors as
    /// <see cref="Parse"/>, and returns only what identifies it.
    /// </summary>
    public static OsvDocumentInfo Validate(ReadOnlySpan<byte> json, string source)
    {
        var reader = new OsvReader(json, source, build: false);
        var advisory = reader.ReadDocument();
        return new OsvDocumentInfo(advisory.Id, advisory.Modified, advisory.Withdrawn);
    }

    private OsvAdvisory ReadDocument()
    {
        try
        {
            _r.Read();
            if (_r.TokenType == JsonTokenType.Null)
            {
                _r.Read();
                throw new AdvisoryFormatException(_source, "$", "the document is null; expected an OSV advisory object");
            }

            var advisory = ReadAdvisory();

            // Anything but whitespace after the document is an error (the reader throws).
            _r.Read();
            return advisory;
        }
        catch (JsonException ex)
        {
            throw new AdvisoryFormatException(_source, LocationWithLine(ex.LineNumber), OsvImporter.FirstSentence(ex.Message), ex);
        }
        catch (InvalidOperationException ex)
        {
            // A string that cannot be decoded (invalid UTF-8 or a lone surrogate escape).
            throw new AdvisoryFormatException(_source, LocationWithLine(null), ex.Message, ex);
        }
    }

    private OsvAdvisory ReadAdvisory()
    {
        ExpectObject("an OSV advisory object");
        string? schemaVersion = null, id = null, modified = null, published = null, withdrawn = null, summary = null, details = null;
        string[] aliases = [], related = [];
        OsvSeverity[] severity = [];
        OsvAffected[] affected = [];
        OsvReference[] references = [];
        JsonElement? databaseSpecific = null;
        while (NextProperty())
        {
            if (_r.ValueTextEquals("id"u8))
            {
                id = ReadExactString("id");
            }
            else if (_r.ValueTextEquals("modified"u8))
            {
                modified = ReadExactString("modified");
            }
            else if (_r.ValueTextEquals("published"u8))
            {
                published = ReadExactString("published");
            }
            else if (_r.ValueTextEquals("withdrawn"u8))
            {
                withdrawn = ReadExactString("withdrawn");
            }
            else if (_r.ValueTextEquals("schema_version"u8))
            {
                schemaVersion = ReadString("schema_version");
            }
            else if (_r.ValueTextEquals("aliases"u8))
            {
                aliases = ReadStrings("aliases");
            }
            else if (_r.ValueTextEquals("related"u8))
            {
                related = ReadStrings("related");
            }
            else if (_r.ValueTextEquals("summary"u8))
            {
                summary = ReadString("summary");
            }
            else if (_r.ValueTextEquals("details"u8))
            {
                details = ReadString("details");
            }
            else if (_r.ValueTextEquals("severity"u8))
            {
                severity = ReadSeverities("severity");
            }
            else if (_r.ValueTextEquals("affected"u8))
            {
                affected = ReadAffectedList();
            }
            else if (_r.ValueTextEquals("references"u8))
            {
                references = ReadReferences();
            }
            else if (_r.ValueTextEquals("database_specific"u8))
            {
                databaseSpecific = ReadRaw();
            }
            else
            {
                _r.Skip();
            }
        }

        if (string.IsNullOrWhiteSpace(id))
        {
            throw new AdvisoryFormatException(_source, "$.id", "required member 'id' is missing or empty");
        }

        return new OsvAdvisory
        {
            Id = id,
            SchemaVersion = schemaVersion,
            Modified = Time(modified, "$.modified"),
            Published = Time(published, "$.published"),
            Withdrawn = Time(withdrawn, "$.withdrawn"),
            Aliases = aliases,
            Related = related,
            Summary = summary,
            Details = details,
            Severity = severity,
            Affected = affected,
            References = references,
            DatabaseSpecific = databaseSpecific,
            Source = _source,
        };
    }

    private OsvAffected[] ReadAffectedList()
    {
        Push("affected");
        if (!StartArray())
        {
            Pop();
            return [];
        }

        var list = new Builder<OsvAffected>();
        for (var i = 0; NextElement(i); i++)
        {
            if (_r.TokenType == JsonTokenType.Null)
            {
                throw Invalid("null is not allowed; expected an object");
            }

            list.Add(ReadAffected());
        }

        Pop();
        return list.ToArray();
    }

    private OsvAffected ReadAffected()
    {
        ExpectObject("an object");
        OsvPackage? package = null;
        OsvRange[] ranges = [];
        string[] versions = [];
        OsvSeverity[] severity = [];
        JsonElement? ecosystemSpecific = null, databaseSpecific = null;
        while (NextProperty())
        {
            if (_r.ValueTextEquals("package"u8))
            {
                package = ReadPackage();
            }
            else if (_r.ValueTextEquals("ranges"u8))
            {
                ranges = ReadRanges();
            }
            else if (_r.ValueTextEquals("versions"u8))
            {
                versions = ReadStrings("versions");
            }
            else if (_r.ValueTextEquals("severity"u8))
            {
                severity = ReadSeverities("severity");
            }
            else if (_r.ValueTextEquals("ecosystem_specific"u8))
            {
                ecosystemSpecific = ReadRaw();
            }
            else if (_r.ValueTextEquals("database_specific"u8))
            {
                databaseSpecific = ReadRaw();
            }
            else
            {
                _r.Skip();
            }
        }

        return new OsvAffected
        {
            Package = package,
            Ranges = ranges,
            Versions = versions,
            Severity = severity,
            EcosystemSpecific = ecosystemSpecific,
            DatabaseSpecific = databaseSpecific,
        };
    }

    private OsvPackage? ReadPackage()
    {
        Push("package");
        _r.Read();
        if (_r.TokenType == JsonTokenType.Null)
        {
            Pop();
            return null;
        }

        ExpectObject("an object");
        string? ecosystem = null, name = null, purl = null;
        while (NextProperty())
        {
            if (_r.ValueTextEquals("ecosystem"u8))
            {
                ecosystem = ReadEcosystem();
            }
            else if (_r.ValueTextEquals("name"u8))
            {
                name = ReadString("name");
            }
            else if (_r.ValueTextEquals("purl"u8))
            {
                purl = ReadString("purl");
            }
            else
            {
                _r.Skip();
            }
        }

        if (string.IsNullOrWhiteSpace(ecosystem))
        {
            Push("ecosystem");
            throw Invalid("required member is missing or empty");
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            Push("name");
            throw Invalid("required member is missing or empty");
        }

        Pop();
        return new OsvPackage(ecosystem, name, purl);
    }

    private OsvRange[] ReadRanges()
    {
        Push("ranges");
        if (!StartArray())
        {
            Pop();
            return [];
        }

        var list = new Builder<OsvRange>();
        for (var i = 0; NextElement(i); i++)
        {
            if (_r.TokenType == JsonTokenType.Null)
            {
                throw Invalid("null is not allowed; expected an object");
            }

            list.Add(ReadRange());
        }

        Pop();
        return list.ToArray();
    }

    private OsvRange ReadRange()
    {
        ExpectObject("an object");
        string? type = null, repo = null;
        OsvEvent[]? events = null;
        JsonElement? databaseSpecific = null;
        while (NextProperty())
        {
            if (_r.ValueTextEquals("type"u8))
            {
                type = ReadRangeType();
            }
            else if (_r.ValueTextEquals("events"u8))
            {
                events = ReadEvents();
            }
            else if (_r.ValueTextEquals("repo"u8))
            {
                repo = ReadString("repo");
            }
            else if (_r.ValueTextEquals("database_specific"u8))
            {
                databaseSpecific = ReadRaw();
            }
            else
            {
                _r.Skip();
            }
        }

        if (string.IsNullOrWhiteSpace(type))
        {
            Push("type");
            throw Invalid("required member is missing (SEMVER, ECOSYSTEM or GIT)");
        }

        if (events is null || events.Length == 0)
        {
            Push("events");
            throw Invalid("a range needs at least one event");
        }

        var kind = type switch
        {
            "SEMVER" => OsvRangeType.Semver,
            "ECOSYSTEM" => OsvRangeType.Ecosystem,
            "GIT" => OsvRangeType.Git,
            _ => OsvRangeType.Unknown,
        };
        return new OsvRange { Type = kind, TypeName = type, Repo = repo, Events = events, DatabaseSpecific = databaseSpecific };
    }

    private OsvEvent[]? ReadEvents()
    {
        Push("events");
        if (!StartArray())
        {
            Pop();
            return null;
        }

        var list = new Builder<OsvEvent>();
        for (var i = 0; NextElement(i); i++)
        {
            list.Add(ReadEvent());
        }

        Pop();
        return list.ToArray();
    }

    private OsvEvent ReadEvent()
    {
        if (_r.TokenType == JsonTokenType.Null)
        {
            throw Invalid("null is not allowed; expected an event object");
        }

        ExpectObject("an object");
        string? introduced = null, fixedVersion = null, lastAffected = null, limit = null;
        while (NextProperty())
        {
            if (_r.ValueTextEquals("introduced"u8))
            {
                introduced = ReadVersion("introduced");
            }
            else if (_r.ValueTextEquals("fixed"u8))
            {
                fixedVersion = ReadVersion("fixed");
            }
            else if (_r.ValueTextEquals("last_affected"u8))
            {
                lastAffected = ReadVersion("last_affected");
            }
            else if (_r.ValueTextEquals("limit"u8))
            {
                limit = ReadVersion("limit");
            }
            else
            {
                _r.Skip();
            }
        }

        OsvEventKind kind = default;
        string? version = null;
        var count = 0;
        if (introduced is not null)
        {
            (kind, version) = (OsvEventKind.Introduced, introduced);
            count++;
        }

        if (fixedVersion is not null)
        {
            (kind, version) = (OsvEventKind.Fixed, fixedVersion);
            count++;
        }

        if (lastAffected is not null)
        {
            (kind, version) = (OsvEventKind.LastAffected, lastAffected);
            count++;
        }

        if (limit is not null)
        {
            (kind, version) = (OsvEventKind.Limit, limit);
            count++;
        }

        if (count != 1 || version is null)
        {
            throw Invalid("an event needs exactly one of 'introduced', 'fixed', 'last_affected' or 'limit'");
        }

        var result = new OsvEvent(kind, version);
        if (version.Length == 0)
        {
            Push(result.Key);
            throw Invalid("the version is empty");
        }

        return result;
    }

    private OsvSeverity[] ReadSeverities(string member)
    {
        Push(member);
        if (!StartArray())
        {
            Pop();
            return [];
        }

        var list = new Builder<OsvSeverity>();
        for (var i = 0; NextElement(i); i++)
        {
            string? type = null, score = null;
            if (_r.TokenType != JsonTokenType.Null)
            {
                ExpectObject("an object");
                while (NextProperty())
                {
                    if (_r.ValueTextEquals("type"u8))
                    {
                        type = ReadSeverityType();
                    }
                    else if (_r.ValueTextEquals("score"u8))
                    {
                        score = ReadString("score");
                    }
                    else
                    {
                        _r.Skip();
                    }
                }
            }

            if (string.IsNullOrWhiteSpace(type) || score is null)
            {
                throw Invalid("a severity needs 'type' and 'score'");
            }

            list.Add(new OsvSeverity(type, score));
        }

        Pop();
        return list.ToArray();
    }

    private OsvReference[] ReadReferences()
    {
        Push("references");
        if (!StartArray())
        {
            Pop();
            return [];
        }

        var list = new Builder<OsvReference>();
        for (var i = 0; NextElement(i); i++)
        {
            string? type = null, url = null;
            if (_r.TokenType != JsonTokenType.Null)
            {
                ExpectObject("an object");
                while (NextProperty())
                {
                    if (_r.ValueTextEquals("type"u8))
                    {
                        type = ReadReferenceType();
                    }
                    else if (_r.ValueTextEquals("url"u8))
                    {
                        url = ReadString("url");
                    }
                    else
                    {
                        _r.Skip();
                    }
                }
            }

            if (string.IsNullOrWhiteSpace(url))
            {
                throw Invalid("a reference needs 'url'");
            }

            list.Add(new OsvReference(type ?? "WEB", url));
        }

        Pop();
        return list.ToArray();
    }

    /// <summary>A list of strings: null (or empty) gives none; a null element is an error.</summary>
    private string[] ReadStrings(string member)
    {
        Push(member);
        if (!StartArray())
        {
            Pop();
            return [];
        }

        var list = new Builder<string>();
        for (var i = 0; NextElement(i); i++)
        {
            if (_r.TokenType == JsonTokenType.String)
            {
                list.Add(Text());
            }
            else if (_r.TokenType == JsonTokenType.Null)
            {
                throw Invalid("null is not allowed; expected a string");
            }
            else
            {
                throw WrongType("a string");
            }
        }

        Pop();
        return list.ToArray();
    }

    /// <summary>Reads the value of the current member as a string or null, decoded even when only validating.</summary>
    private string? ReadExactString(string member)
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String)
        {
            return _r.GetString();
        }

        if (_r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Push(member);
        throw WrongType("a string");
    }

    /// <summary>Reads the value of the current member as a string or null.</summary>
    private string? ReadString(string member)
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String)
        {
            return Text();
        }

        if (_r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Push(member);
        throw WrongType("a string");
    }

    private string? ReadVersion(string member)
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String && !_r.ValueIsEscaped && _r.ValueSpan.Length == 1 && _r.ValueSpan[0] == (byte)'0')
        {
            return "0";
        }

        return StringValue(member);
    }

    private string? ReadEcosystem()
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String && !_r.ValueIsEscaped)
        {
            var v = _r.ValueSpan;
            if (v.SequenceEqual("PyPI"u8))
            {
                return "PyPI";
            }

            if (v.SequenceEqual("Go"u8))
            {
                return "Go";
            }

            if (v.SequenceEqual("npm"u8))
            {
                return "npm";
            }

            if (v.SequenceEqual("Maven"u8))
            {
                return "Maven";
            }

            if (v.SequenceEqual("crates.io"u8))
            {
                return "crates.io";
            }

            if (v.SequenceEqual("NuGet"u8))
            {
                return "NuGet";
            }

            if (v.SequenceEqual("RubyGems"u8))
            {
                return "RubyGems";
            }

            if (v.SequenceEqual("Packagist"u8))
            {
                return "Packagist";
            }
        }

        return StringValue("ecosystem");
    }

    private string? ReadRangeType()
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String && !_r.ValueIsEscaped)
        {
            var v = _r.ValueSpan;
            if (v.SequenceEqual("ECOSYSTEM"u8))
            {
                return "ECOSYSTEM";
            }

            if (v.SequenceEqual("SEMVER"u8))
            {
                return "SEMVER";
            }

            if (v.SequenceEqual("GIT"u8))
            {
                return "GIT";
            }
        }

        return StringValue("type");
    }

    private string? ReadSeverityType()
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String && !_r.ValueIsEscaped)
        {
            var v = _r.ValueSpan;
            if (v.SequenceEqual("CVSS_V3"u8))
            {
                return "CVSS_V3";
            }

            if (v.SequenceEqual("CVSS_V4"u8))
            {
                return "CVSS_V4";
            }

            if (v.SequenceEqual("CVSS_V2"u8))
            {
                return "CVSS_V2";
            }
        }

        return StringValue("type");
    }

    private string? ReadReferenceType()
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.String && !_r.ValueIsEscaped)
        {
            var v = _r.ValueSpan;
            if (v.SequenceEqual("WEB"u8))
            {
                return "WEB";
            }

            if (v.SequenceEqual("ADVISORY"u8))
            {
                return "ADVISORY";
            }

            if (v.SequenceEqual("FIX"u8))
            {
                return "FIX";
            }

            if (v.SequenceEqual("PACKAGE"u8))
            {
                return "PACKAGE";
            }

            if (v.SequenceEqual("REPORT"u8))
            {
                return "REPORT";
            }

            if (v.SequenceEqual("ARTICLE"u8))
            {
                return "ARTICLE";
            }

            if (v.SequenceEqual("EVIDENCE"u8))
            {
                return "EVIDENCE";
            }
        }

        return StringValue("type");
    }

    /// <summary>The current token as a string or null; any other token is a type error at <paramref name="member"/>.</summary>
    private string? StringValue(string member)
    {
        if (_r.TokenType == JsonTokenType.String)
        {
            return Text();
        }

        if (_r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Push(member);
        throw WrongType("a string");
    }

    /// <summary>
    /// The current string token. When only validating, a plain ASCII value is not decoded but stands in as
    /// <c>""</c>, <c>" "</c> (all blanks) or <c>"x"</c>: the checks made on it (null, empty, blank) come out the same.
    /// </summary>
    private readonly string Text()
    {
        if (_build || _r.ValueIsEscaped)
        {
            return _r.GetString()!;
        }

        var value = _r.ValueSpan;
        if (value.IsEmpty)
        {
            return string.Empty;
        }

        if (!System.Text.Ascii.IsValid(value))
        {
            // Decoded, so that invalid UTF-8 is refused and Unicode blanks are recognised as in a full parse.
            return _r.GetString()!;
        }

        return value.ContainsAnyExcept((byte)' ') ? "x" : " ";
    }

    /// <summary>Any JSON value kept as it is; null when absent or JSON null (or when only validating).</summary>
    private JsonElement? ReadRaw()
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (!_build)
        {
            _r.Skip();
            return null;
        }

        return JsonElement.ParseValue(ref _r);
    }

    /// <summary>Reads the start of an array member: false for null, true for an array; anything else is a type error.</summary>
    private bool StartArray()
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.StartArray)
        {
            return true;
        }

        if (_r.TokenType == JsonTokenType.Null)
        {
            return false;
        }

        throw WrongType("an array");
    }

    /// <summary>Moves to element <paramref name="index"/> of the current array; false at its end.</summary>
    private bool NextElement(int index)
    {
        _r.Read();
        if (_r.TokenType == JsonTokenType.EndArray)
        {
            if (index > 0)
            {
                Pop();
            }

            return false;
        }

        if (index == 0)
        {
            PushIndex(0);
        }
        else
        {
            _indexes[_depth - 1] = index;
        }

        return true;
    }

    /// <summary>Moves to the next member name of the current object; false at its end.</summary>
    private bool NextProperty()
    {
        _r.Read();
        return _r.TokenType != JsonTokenType.EndObject;
    }

    private void ExpectObject(string what)
    {
        if (_r.TokenType != JsonTokenType.StartObject)
        {
            throw WrongType(what);
        }
    }

    private DateTimeOffset? Time(string? text, string path)
    {
        if (text is null)
        {
            return null;
        }

        return Timestamps.TryParse(text, out var value)
            ? value
            : throw new AdvisoryFormatException(_source, path, $"'{Clip(text)}' is not an RFC 3339 timestamp (expected e.g. 2021-07-05T00:01:17.388273Z)");
    }

    private static string Clip(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "…");

    private void Push(string name)
    {
        if (_depth < PathNames.Length)
        {
            _names[_depth] = name;
        }

        _depth++;
    }

    private void PushIndex(int index)
    {
        if (_depth < PathNames.Length)
        {
            _names[_depth] = null;
            _indexes[_depth] = index;
        }

        _depth++;
    }

    private void Pop() => _depth--;

    private readonly AdvisoryFormatException Invalid(string problem) => new(_source, JsonPath(), problem);

    private readonly AdvisoryFormatException WrongType(string expected) =>
        new(_source, LocationWithLine(LineOf(_r.TokenStartIndex)), $"The JSON value could not be converted to {expected}; found {Describe(_r.TokenType)}.");

    private readonly string LocationWithLine(long? line) => line is { } l ? $"{JsonPath()} (line {l + 1})" : JsonPath();

    private readonly long LineOf(long offset)
    {
        var end = (int)Math.Min(offset, _json.Length);
        return System.MemoryExtensions.Count(_json[..end], (byte)'\n');
    }

    private readonly string JsonPath()
    {
        var text = new System.Text.StringBuilder("$");
        for (var i = 0; i < Math.Min(_depth, PathNames.Length); i++)
        {
            if (_names[i] is { } name)
            {
                text.Append('.').Append(name);
            }
            else
            {
                text.Append('[').Append(_indexes[i].ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(']');
            }
        }

        return text.ToString();
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    [InlineArray(Length)]
    private struct PathNames
    {
        public const int Length = 12;
        private string? _element;
    }

    [InlineArray(PathNames.Length)]
    private struct PathIndexes
    {
        private int _element;
    }

    /// <summary>Collects a short list and hands back an array of exactly its length.</summary>
    private struct Builder<T>
    {
        private T[]? _items;
        private int _count;

        public void Add(T item)
        {
            if (_items is null)
            {
                _items = new T[4];
            }
            else if (_count == _items.Length)
            {
                Array.Resize(ref _items, _count * 2);
            }

            _items[_count++] = item;
        }

        public readonly T[] ToArray()
        {
            if (_items is null)
            {
                return [];
            }

            if (_count == _items.Length)
            {
                return _items;
            }

            var result = new T[_count];
            Array.Copy(_items, result, _count);
            return result;
        }
    }
}
