using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using McpSecurity.Yaml;

namespace McpSecurity.Detection.Sigma;

/// <summary>Turns <c>Field|modifiers: values</c> into predicates, applying every Sigma value modifier.</summary>
internal sealed class ValueCompiler(SigmaLoadOptions options)
{
    private static readonly HashSet<string> KnownModifiers = new(StringComparer.Ordinal)
    {
        "contains", "startswith", "endswith", "all", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide",
        "windash", "re", "i", "m", "s", "cidr", "lt", "lte", "gt", "gte", "exists", "fieldref", "expand", "cased",
    };

    private static readonly string[] DashVariants = ["-", "/", "\u2013", "\u2014", "\u2015"];

    /// <summary>Builds a field item from a detection map entry.</summary>
    public SigmaFieldItem Compile(string key, YNode valueNode, string yamlPath)
    {
        var parts = key.Split('|');
        string? field = parts[0].Length == 0 ? null : parts[0];
        string? matchType = null;
        var transforms = new List<string>();
        bool all = false, cased = false, reI = false, reM = false, reS = false;
        for (var i = 1; i < parts.Length; i++)
        {
            var mod = parts[i];
            if (!KnownModifiers.Contains(mod))
            {
                throw Fail(RuleRejectionReason.UnknownModifier, yamlPath, valueNode, $"unknown modifier '{mod}' in '{key}'");
            }

            switch (mod)
            {
                case "all": all = true; break;
                case "cased": cased = true; break;
                case "i": reI = true; break;
                case "m": reM = true; break;
                case "s": reS = true; break;
                case "base64" or "base64offset" or "utf16le" or "utf16be" or "utf16" or "wide" or "windash" or "expand":
                    transforms.Add(mod);
                    break;
                case "fieldref" when matchType is "contains" or "startswith" or "endswith":
                    matchType = "fieldref|" + matchType;
                    break;
                case "contains" or "startswith" or "endswith" when matchType == "fieldref":
                    matchType = "fieldref|" + mod;
                    break;
                default:
                    if (matchType is not null)
                    {
                        throw Fail(RuleRejectionReason.InvalidModifier, yamlPath, valueNode, $"modifiers '{matchType}' and '{mod}' cannot be combined in '{key}'");
                    }

                    matchType = mod;
                    break;
            }
        }

        if ((reI || reM || reS) && matchType != "re")
        {
            throw Fail(RuleRejectionReason.InvalidModifier, yamlPath, valueNode, $"regex flags i, m, s need the 're' modifier in '{key}'");
        }

        if (field is null && matchType is "exists" or "fieldref" or "cidr" or "lt" or "lte" or "gt" or "gte")
        {
            throw Fail(RuleRejectionReason.InvalidModifier, yamlPath, valueNode, $"modifier '{matchType}' needs a field name in '{key}'");
        }

        var values = new List<(YScalar Node, string Path)>();
        switch (valueNode)
        {
            case YScalar s:
                values.Add((s, yamlPath));
                break;
            case YSequence seq:
                for (var i = 0; i < seq.Items.Count; i++)
                {
                    if (seq.Items[i] is not YScalar item)
                    {
                        throw Fail(RuleRejectionReason.InvalidValue, $"{yamlPath}[{i}]", seq.Items[i], $"values of '{key}' must be scalars, found a {seq.Items[i].Kind}");
                    }

                    values.Add((item, $"{yamlPath}[{i}]"));
                }

                break;
            default:
                throw Fail(RuleRejectionReason.InvalidValue, yamlPath, valueNode, $"'{key}' must have a scalar or a list of scalars, found a {valueNode.Kind}");
        }

        if (values.Count == 0)
        {
            throw Fail(RuleRejectionReason.InvalidValue, yamlPath, valueNode, $"'{key}' has an empty list of values");
        }

        var groups = new List<List<PredicateSpec>>(values.Count);
        foreach (var (node, path) in values)
        {
            groups.Add(CompileValue(field, matchType, transforms, cased, reI, reM, reS, node, path, key));
        }

        return new SigmaFieldItem { Field = field, MatchAll = all, ValueGroups = groups, YamlPath = yamlPath };
    }

    private List<PredicateSpec> CompileValue(
        string? field,
        string? matchType,
        List<string> transforms,
        bool cased,
        bool reI,
        bool reM,
        bool reS,
        YScalar node,
        string path,
        string key)
    {
        var raw = node.Value;
        if (raw is null)
        {
            if (matchType is not null || transforms.Count > 0)
            {
                throw Fail(RuleRejectionReason.InvalidModifier, path, node, $"null cannot be used with modifiers in '{key}'");
            }

            if (field is null)
            {
                throw Fail(RuleRejectionReason.InvalidValue, path, node, "a keyword cannot be null");
            }

            return [new PredicateSpec { Field = field, Kind = MatchKind.Null }];
        }

        switch (matchType)
        {
            case "exists":
                if (!node.TryGetBool(out var expected))
                {
                    throw Fail(RuleRejectionReason.InvalidValue, path, node, $"'exists' takes true or false, found '{raw}'");
                }

                return [new PredicateSpec { Field = field, Kind = MatchKind.Exists, ExistsExpected = expected }];

            case "re":
                var regex = BuildRegex(raw, reI, reM, reS, path, node);
                return [new PredicateSpec { Field = field, Kind = MatchKind.Regex, Regex = regex, Gate = RegexGate.Build(raw, regex.Options), Prefilter = RegexPrefilter.RequiredLiteral(raw), Implied = RegexPrefilter.ImpliedLiterals(raw, regex.Options), MinLength = LinearRegex.MinimumLength(raw, RegexOptions.None), Text = raw, CaseSensitive = true }];

            case "cidr":
                if (!IPNetwork.TryParse(raw, out var network))
                {
                    throw Fail(RuleRejectionReason.InvalidCidr, path, node, $"'{raw}' is not a CIDR network such as 10.0.0.0/8 or ::1/128");
                }

                return [new PredicateSpec { Field = field, Kind = MatchKind.Cidr, Network = network, Text = raw }];

            case "lt" or "lte" or "gt" or "gte":
                if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    throw Fail(RuleRejectionReason.InvalidValue, path, node, $"'{matchType}' needs a number, found '{raw}'");
                }

                var kind = matchType switch { "lt" => MatchKind.Lt, "lte" => MatchKind.Lte, "gt" => MatchKind.Gt, _ => MatchKind.Gte };
                return [new PredicateSpec { Field = field, Kind = kind, Number = number, Text = raw }];

            case not null when matchType.StartsWith("fieldref", StringComparison.Ordinal):
                var refKind = matchType switch
                {
                    "fieldref|contains" => MatchKind.Contains,
                    "fieldref|startswith" => MatchKind.StartsWith,
                    "fieldref|endswith" => MatchKind.EndsWith,
                    _ => MatchKind.Equals,
                };
                return [new PredicateSpec { Field = field, Kind = MatchKind.FieldRef, RefField = raw, RefKind = refKind, CaseSensitive = cased }];
        }

        // String values: expand placeholders, read wildcards, then apply transforms in order.
        var texts = new List<string> { raw };
        if (transforms.Contains("expand"))
        {
            texts = ExpandPlaceholders(raw, path, node);
        }

        var patterns = new List<string>();
        foreach (var t in texts)
        {
            patterns.Add(ReadWildcards(t));
        }

        Encoding? encoding = null;
        foreach (var transform in transforms)
        {
            switch (transform)
            {
                case "wide" or "utf16le": encoding = new UnicodeEncoding(bigEndian: false, byteOrderMark: false); break;
                case "utf16be": encoding = new UnicodeEncoding(bigEndian: true, byteOrderMark: false); break;
                case "utf16": encoding = new UnicodeEncoding(bigEndian: false, byteOrderMark: true); break;
                case "windash": patterns = ExpandWindash(patterns); break;
                case "base64" or "base64offset":
                    patterns = Base64(patterns, encoding ?? new UTF8Encoding(false), transform == "base64offset", path, node);
                    break;
            }
        }

        var result = new List<PredicateSpec>(patterns.Count);
        foreach (var p in patterns)
        {
            result.Add(Classify(field, matchType, p, cased));
        }

        return result;
    }

    private static PredicateSpec Classify(string? field, string? matchType, string pattern, bool cased)
    {
        // Keywords without a match modifier search the whole event, so they behave as 'contains'.
        matchType ??= field is null ? "contains" : null;
        var text = cased ? pattern : pattern.ToLowerInvariant();
        var lead = matchType is "contains" or "endswith";
        var trail = matchType is "contains" or "startswith";
        var core = text.AsSpan();

        // Simplify leading/trailing '*' so that plain values such as '*\cmd.exe' use literal search.
        while (core.Length > 0 && core[0] == PredicateSpec.AnyRun)
        {
            lead = true;
            core = core[1..];
        }

        while (core.Length > 0 && core[^1] == PredicateSpec.AnyRun)
        {
            trail = true;
            core = core[..^1];
        }

        if (core.IndexOfAny(PredicateSpec.AnyRun, PredicateSpec.AnyOne) < 0)
        {
            var kind = (lead, trail) switch
            {
                (true, true) => MatchKind.Contains,
                (true, false) => MatchKind.EndsWith,
                (false, true) => MatchKind.StartsWith,
                _ => MatchKind.Equals,
            };
            return new PredicateSpec { Field = field, Kind = kind, Text = core.ToString(), CaseSensitive = cased };
        }

        var glob = (lead ? PredicateSpec.AnyRun.ToString() : string.Empty) + core.ToString() + (trail ? PredicateSpec.AnyRun.ToString() : string.Empty);
        return new PredicateSpec { Field = field, Kind = MatchKind.Glob, Text = glob, CaseSensitive = cased };
    }

    /// <summary>Reads Sigma wildcards: '*' and '?' become glob markers; '\' escapes only '*', '?' and '\'.</summary>
    internal static string ReadWildcards(string value)
    {
        if (value.AsSpan().IndexOfAny('*', '?', '\\') < 0)
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\\' && i + 1 < value.Length && value[i + 1] is '*' or '?' or '\\')
            {
                sb.Append(value[++i]);
            }
            else if (c == '*')
            {
                sb.Append(PredicateSpec.AnyRun);
            }
            else if (c == '?')
            {
                sb.Append(PredicateSpec.AnyOne);
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private List<string> ExpandPlaceholders(string raw, string path, YScalar node)
    {
        var results = new List<string> { string.Empty };
        var i = 0;
        while (i < raw.Length)
        {
            var start = raw.IndexOf('%', i);
            var end = start < 0 ? -1 : raw.IndexOf('%', start + 1);
            if (start < 0 || end < 0)
            {
                Append(results, raw[i..]);
                break;
            }

            Append(results, raw[i..start]);
            var name = raw[(start + 1)..end];
            if (!options.Placeholders.TryGetValue(name, out var values) || values.Count == 0)
            {
                throw Fail(RuleRejectionReason.UnresolvedPlaceholder, path, node, $"placeholder '%{name}%' has no configured values (SigmaLoadOptions.Placeholders)");
            }

            var next = new List<string>(results.Count * values.Count);
            foreach (var prefix in results)
            {
                foreach (var v in values)
                {
                    next.Add(prefix + v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("*", "\\*", StringComparison.Ordinal).Replace("?", "\\?", StringComparison.Ordinal));
                }
            }

            results = next;
            i = end + 1;
        }

        return results;

        static void Append(List<string> list, string suffix)
        {
            for (var k = 0; k < list.Count; k++)
            {
                list[k] += suffix;
            }
        }
    }

    /// <summary>Expands '-' and '/' at the start of a word into every Windows dash form.</summary>
    private static List<string> ExpandWindash(List<string> patterns)
    {
        var result = new List<string>();
        foreach (var p in patterns)
        {
            var positions = new List<int>();
            for (var i = 0; i < p.Length; i++)
            {
                if (p[i] is '-' or '/' && (i == 0 || !IsWordChar(p[i - 1])) && i + 1 < p.Length && IsWordChar(p[i + 1]))
                {
                    positions.Add(i);
                }
            }

            if (positions.Count == 0)
            {
                result.Add(p);
                continue;
            }

            if (positions.Count > 3)
            {
                // Too many positions for every combination: use one dash form throughout.
                foreach (var dash in DashVariants)
                {
                    var chars = p.ToCharArray();
                    foreach (var pos in positions)
                    {
                        chars[pos] = dash[0];
                    }

                    result.Add(new string(chars));
                }

                continue;
            }

            var combos = new List<char[]> { p.ToCharArray() };
            foreach (var pos in positions)
            {
                var next = new List<char[]>();
                foreach (var c in combos)
                {
                    foreach (var dash in DashVariants)
                    {
                        var copy = (char[])c.Clone();
                        copy[pos] = dash[0];
                        next.Add(copy);
                    }
                }

                combos = next;
            }

            foreach (var c in combos)
            {
                result.Add(new string(c));
            }
        }

        return result;

        static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
    }

    private static List<string> Base64(List<string> patterns, Encoding encoding, bool offsets, string path, YScalar node)
    {
        var result = new List<string>();
        foreach (var p in patterns)
        {
            if (p.AsSpan().IndexOfAny(PredicateSpec.AnyRun, PredicateSpec.AnyOne) >= 0)
            {
                throw Fail(RuleRejectionReason.InvalidModifier, path, node, "base64 modifiers cannot be applied to values with wildcards");
            }

            var bytes = encoding.GetPreamble().Concat(encoding.GetBytes(p)).ToArray();
            if (!offsets)
            {
                result.Add(Convert.ToBase64String(bytes));
                continue;
            }

            // The three shifts of the value inside a longer base64 text, without the unstable edge characters.
            int[] startCut = [0, 2, 3];
            for (var shift = 0; shift < 3; shift++)
            {
                var shifted = new byte[shift + bytes.Length];
                bytes.CopyTo(shifted, shift);
                var encoded = Convert.ToBase64String(shifted);
                int[] endCut = [0, 3, 2];
                var end = encoded.Length - endCut[(bytes.Length + shift) % 3];
                var start = startCut[shift];
                if (end > start)
                {
                    result.Add(encoded[start..end]);
                }
            }
        }

        return result;
    }

    private Regex BuildRegex(string pattern, bool ignoreCase, bool multiline, bool singleline, string path, YScalar node)
    {
        var opts = RegexOptions.CultureInvariant;
        if (ignoreCase)
        {
            opts |= RegexOptions.IgnoreCase;
        }

        if (multiline)
        {
            opts |= RegexOptions.Multiline;
        }

        if (singleline)
        {
            opts |= RegexOptions.Singleline;
        }

        if (LinearRegex.IsLinear(pattern, opts))
        {
            // Provably linear on a backtracking engine, which runs such patterns several times faster. No
            // timeout: the work is bounded, and a wall-clock timeout could fire on a starved thread and
            // quarantine a sound rule.
            try
            {
                return new Regex(pattern, opts | RegexOptions.Compiled, Regex.InfiniteMatchTimeout);
            }
            catch (ArgumentException)
            {
                // Reported below, by the same engine as every other pattern.
            }
        }

        try
        {
            return new Regex(pattern, opts | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException)
        {
            // Back-references and look-arounds need the backtracking engine: bound it with a timeout.
        }
        catch (ArgumentException ex)
        {
            throw Fail(RuleRejectionReason.InvalidRegex, path, node, $"'{pattern}' is not a valid regular expression: {ex.Message}");
        }

        try
        {
            return new Regex(pattern, opts, options.RegexTimeout);
        }
        catch (ArgumentException ex)
        {
            throw Fail(RuleRejectionReason.InvalidRegex, path, node, $"'{pattern}' is not a valid regular expression: {ex.Message}");
        }
    }

    private static SigmaRuleException Fail(RuleRejectionReason reason, string path, YNode node, string message) =>
        new(reason, path, node.Line, node.Column, message);
}
