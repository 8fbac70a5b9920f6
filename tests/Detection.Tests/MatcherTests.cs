using System.Text;
using McpSecurity.Detection.Engine;

namespace McpSecurity.Detection.Tests;

/// <summary>The literal search structures of the hot path agree with a plain substring test, and their shortcuts keep Sigma semantics.</summary>
public sealed class MatcherTests
{
    private const string Alphabet = "ab\\. -:ésx0";

    [Theory]
    [InlineData(12, false)]
    [InlineData(12, true)]
    [InlineData(SubstringMatcher.MaxVectorised, false)]
    [InlineData(SubstringMatcher.MaxVectorised, true)]
    [InlineData(SubstringMatcher.MaxVectorised + 1, false)]
    [InlineData(2000, false)]
    public void Substring_matcher_finds_exactly_the_literals_a_plain_search_finds(int patternCount, bool anchored)
    {
        var random = new Random(patternCount);
        var patterns = new List<(string Pattern, int Id)>();
        for (var id = 0; id < patternCount; id++)
        {
            // Lengths 0 to 9 cover the empty literal, single characters, the short lookups and the gram anchors.
            patterns.Add((RandomText(random, random.Next(0, 10)), id));
        }

        patterns.Add((patterns[1].Pattern, patternCount));
        var matcher = new SubstringMatcher(patterns, anchored);
        var bits = new PredicateBits();
        bits.EnsureCapacity((patterns.Count + 63) / 64);
        for (var round = 0; round < 300; round++)
        {
            var text = RandomText(random, random.Next(0, 120));
            if (round % 3 == 0)
            {
                // Plant a few literals so that matches are common, also at both ends.
                var planted = new StringBuilder(patterns[random.Next(patterns.Count)].Pattern);
                planted.Append(text).Append(patterns[random.Next(patterns.Count)].Pattern);
                text = planted.ToString();
            }

            matcher.Search(text, bits);
            foreach (var (pattern, id) in patterns)
            {
                Assert.True(text.Contains(pattern, StringComparison.Ordinal) == bits.Get(id), $"'{pattern}' in '{text}'");
            }

            bits.Clear();
        }
    }

    [Theory]
    [InlineData(5, 200)]
    [InlineData(12, 100)]
    [InlineData(40, 60)]
    [InlineData(40, 3000)]
    public void Large_sets_of_long_literals_are_found_wherever_they_start(int minLength, int patternCount)
    {
        // Only long literals: the gram matcher samples the text with a stride, so every start offset must still be found.
        var random = new Random((minLength * 7919) + patternCount);
        var patterns = new List<(string Pattern, int Id)>();
        for (var id = 0; id < patternCount; id++)
        {
            patterns.Add((RandomText(random, minLength + random.Next(0, 8)), id));
        }

        var matcher = new SubstringMatcher(patterns);
        var bits = new PredicateBits();
        bits.EnsureCapacity((patterns.Count + 63) / 64);
        for (var round = 0; round < 200; round++)
        {
            var text = new StringBuilder(RandomText(random, random.Next(0, 30)));
            var planted = patterns[random.Next(patterns.Count)];
            text.Append(planted.Pattern).Append(RandomText(random, random.Next(0, 30)));
            var value = text.ToString();
            matcher.Search(value, bits);
            Assert.True(bits.Get(planted.Id), $"'{planted.Pattern}' in '{value}'");
            foreach (var (pattern, id) in patterns)
            {
                Assert.True(value.Contains(pattern, StringComparison.Ordinal) == bits.Get(id), $"'{pattern}' in '{value}'");
            }

            bits.Clear();
        }
    }

    [Fact]
    public void Short_literals_with_rare_first_characters_are_found_by_skipping_to_them()
    {
        // A large set whose one- to three-character literals all start with rare characters (emoji, '~', '^'),
        // as in the command-line set: the search jumps between those characters instead of testing every position.
        var random = new Random(29);
        const string rare = "~^,\uD83D\uDE00";
        var patterns = new List<(string Pattern, int Id)>();
        for (var id = 0; id < 300; id++)
        {
            patterns.Add((RandomText(random, 6 + random.Next(0, 6)), id));
        }

        for (var id = 300; id < 340; id++)
        {
            var length = 1 + random.Next(0, 3);
            var literal = new StringBuilder().Append(rare[random.Next(rare.Length)]);
            while (literal.Length < length)
            {
                literal.Append(random.Next(2) == 0 ? rare[random.Next(rare.Length)] : Alphabet[random.Next(Alphabet.Length)]);
            }

            patterns.Add((literal.ToString(), id));
        }

        var matcher = new SubstringMatcher(patterns);
        var bits = new PredicateBits();
        bits.EnsureCapacity((patterns.Count + 63) / 64);
        var found = 0;
        for (var round = 0; round < 400; round++)
        {
            var text = new StringBuilder();
            var length = random.Next(0, 100);
            while (text.Length < length)
            {
                text.Append(random.Next(8) == 0 ? rare[random.Next(rare.Length)] : Alphabet[random.Next(Alphabet.Length)]);
            }

            var value = text.ToString();
            matcher.Search(value, bits);
            foreach (var (pattern, id) in patterns)
            {
                var expected = value.Contains(pattern, StringComparison.Ordinal);
                Assert.True(expected == bits.Get(id), $"'{pattern}' in '{value}'");
                found += expected && id >= 300 ? 1 : 0;
            }

            bits.Clear();
        }

        Assert.True(found > 100, $"short literals were found only {found} times");
    }

    [Theory]
    [InlineData("\u00e9")]
    [InlineData("x\u00e9")]
    [InlineData("xy\u00e9")]
    [InlineData("x\u00e9y")]
    [InlineData("0\uFE0F\u20E3")]
    [InlineData("\uD83D\uDE00")]
    public void Short_literals_with_a_non_ascii_character_are_found_wherever_it_is(string literal)
    {
        // A large set (searched by the gram matcher) whose other literals are long: the short literal is found
        // from its non-ASCII character, which may come after one or two ASCII ones.
        var random = new Random(literal.Length);
        var patterns = new List<(string Pattern, int Id)>();
        for (var id = 0; id < 100; id++)
        {
            patterns.Add(("long literal " + id.ToString(System.Globalization.CultureInfo.InvariantCulture), id));
        }

        patterns.Add((literal, 100));
        patterns.Add(("q", 101));
        var matcher = new SubstringMatcher(patterns);
        var bits = new PredicateBits();
        bits.EnsureCapacity(2);
        for (var at = 0; at < 20; at++)
        {
            var text = new string('a', at) + literal + new string('b', 20 - at);
            matcher.Search(text, bits);
            Assert.True(bits.Get(100), $"'{literal}' at {at}");
            Assert.False(bits.Get(101));
            bits.Clear();
            matcher.Search(text.Replace(literal, literal[..^1] + "z", StringComparison.Ordinal), bits);
            Assert.False(bits.Get(100), $"a truncated '{literal}' at {at}");
            bits.Clear();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Prefix_and_suffix_tries_find_exactly_the_literals_a_plain_test_finds(bool prefix)
    {
        var mode = prefix ? TrieMode.Prefix : TrieMode.Suffix;
        // Nodes with more than eight children (a binary search), non-ASCII first characters, the empty literal,
        // and literals that are prefixes of one another.
        var random = new Random((int)mode + 3);
        const string wide = "abcdefghijklmnopqrstuvwxyz0123456789\\.-_\u00e9\u4e2d";
        var patterns = new List<(string Pattern, int Id)> { (string.Empty, 0) };
        for (var id = 1; id < 400; id++)
        {
            var length = random.Next(1, 7);
            var literal = new StringBuilder();
            for (var k = 0; k < length; k++)
            {
                literal.Append(k < 2 ? wide[random.Next(wide.Length)] : Alphabet[random.Next(Alphabet.Length)]);
            }

            patterns.Add((literal.ToString(), id));
        }

        patterns.Add((patterns[5].Pattern, 400));
        var trie = new LiteralTrie(mode, patterns);
        var bits = new PredicateBits();
        bits.EnsureCapacity((patterns.Count + 63) / 64);
        for (var round = 0; round < 500; round++)
        {
            var planted = patterns[random.Next(patterns.Count)].Pattern;
            var noise = new StringBuilder();
            var length = random.Next(0, 8);
            for (var k = 0; k < length; k++)
            {
                noise.Append(round % 2 == 0 ? wide[random.Next(wide.Length)] : Alphabet[random.Next(Alphabet.Length)]);
            }

            var text = mode == TrieMode.Prefix ? planted + noise : noise + planted;
            trie.Search(text, bits);
            foreach (var (pattern, id) in patterns)
            {
                var expected = mode == TrieMode.Prefix ? text.StartsWith(pattern, StringComparison.Ordinal) : text.EndsWith(pattern, StringComparison.Ordinal);
                Assert.True(expected == bits.Get(id), $"'{pattern}' {mode} of '{text}'");
            }

            bits.Clear();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tries_of_long_paths_agree_with_a_plain_test_when_the_text_stops_inside_a_run(bool prefix)
    {
        // Long literals sharing openings make runs of states with a single child, which a walk steps over in
        // one comparison: texts cut anywhere inside such a run, or differing at any one character of it, must
        // report exactly the literals a plain test finds.
        var mode = prefix ? TrieMode.Prefix : TrieMode.Suffix;
        string[] literals =
        [
            @"c:\program files\", @"c:\program files (x86)\", @"c:\programdata\microsoft\windows defender\",
            @"c:\windows\system32\", @"c:\windows\system32\windowspowershell\v1.0\powershell.exe", @"c:\windows\syswow64\",
            @"\cmd.exe", @"\powershell.exe", @"\windowspowershell\v1.0\powershell.exe", ".exe", "c", "x",
        ];
        var patterns = literals.Select((l, i) => (prefix ? l : new string(l.Reverse().ToArray()), i)).ToList();
        var trie = new LiteralTrie(mode, patterns);
        var bits = new PredicateBits();
        bits.EnsureCapacity(1);
        var random = new Random(prefix ? 5 : 6);
        var tested = 0;
        foreach (var (pattern, _) in patterns)
        {
            for (var cut = 0; cut <= pattern.Length; cut++)
            {
                foreach (var variant in new[] { 0, 1, 2 })
                {
                    var piece = prefix ? pattern[..cut] : pattern[(pattern.Length - cut)..];
                    var chars = piece.ToCharArray();
                    if (variant == 1 && chars.Length > 0)
                    {
                        chars[random.Next(chars.Length)] = '#';
                    }

                    var tail = variant == 2 ? "tail" : string.Empty;
                    var text = prefix ? new string(chars) + tail : tail + new string(chars);
                    trie.Search(text, bits);
                    foreach (var (p, id) in patterns)
                    {
                        var expected = prefix ? text.StartsWith(p, StringComparison.Ordinal) : text.EndsWith(p, StringComparison.Ordinal);
                        Assert.True(expected == bits.Get(id), $"'{p}' {mode} of '{text}'");
                    }

                    bits.Clear();
                    tested++;
                }
            }
        }

        Assert.True(tested > 500, $"only {tested} texts");
    }

    [Fact]
    public void Equality_lookups_find_literals_of_every_length_including_very_long_ones()
    {
        var random = new Random(17);
        var map = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var length in new[] { 0, 1, 7, 63, 64, 65, 254, 255, 256, 300, 1000 })
        {
            map.TryAdd(RandomText(random, length), [map.Count]);
        }

        var matcher = new SlotMatcher { Slot = 0 };
        matcher.SetEquals(map);
        var bits = new PredicateBits();
        bits.EnsureCapacity(1);
        foreach (var (literal, ids) in map)
        {
            matcher.SearchLiterals(literal, bits);
            Assert.True(bits.Get(ids[0]), $"length {literal.Length}");
            bits.Clear();
            matcher.SearchLiterals(literal + "\u2603", bits);
            Assert.False(bits.Get(ids[0]), $"length {literal.Length} + 1");
            bits.Clear();
        }
    }

    [Fact]
    public void Anchored_search_looks_for_the_rarest_run_of_a_long_literal()
    {
        var offset = SubstringMatcher.RarestAnchor("privilege::debug", out var length);
        Assert.Equal(4, length);
        // "ebug" is made of rarer characters than the opening "priv".
        Assert.Equal("ebug", "privilege::debug".Substring(offset, length));
        Assert.Equal(0, SubstringMatcher.RarestAnchor("abc", out length));
        Assert.Equal(3, length);
    }

    [Theory]
    [InlineData(@".exe\..\", ".exe")]
    [InlineData(@"adexplorer -snapshot """" c:\users\", "c:\\u")]
    [InlineData(@"-fi ""c:\users\public", " \"c:")]
    public void Anchors_avoid_grams_found_in_most_windows_values(string literal, string common)
    {
        Assert.True(GramMatcher.IsCommonGram(common), common);
        var offset = SubstringMatcher.RarestAnchor(literal, out var length);
        var anchor = literal.Substring(offset, length);
        Assert.False(GramMatcher.IsCommonGram(anchor), $"'{literal}' is anchored on the common gram '{anchor}'");
    }

    [Theory]
    [InlineData(@"C:\x\tool.scr", "x", true)]
    [InlineData(@"C:\x\tool.exe", "x", false)]
    [InlineData(@"C:\x\TOOL.EXE", "x", false)]
    [InlineData(@"C:\x\tool.scr", "run quietly", false)]
    [InlineData(@"tool", "x", true)]
    public void Rules_that_match_through_negations_alone_skip_events_a_searched_literal_rules_out(string image, string commandLine, bool expected)
    {
        // Evaluated for every event: the endswith and contains literals under 'not' rule it out when one is true.
        var engine = Some.Engine(Some.ProcessRule(
            "known:\n  Image|endswith:\n    - '.exe'\n    - '.com'\nquiet:\n  CommandLine|contains: 'quiet'\ncondition: not known and not quiet"));
        Assert.Empty(engine.Rejections);
        Assert.Equal(expected, Some.Matches(engine, Some.SysmonEvent(1, new { Image = image, CommandLine = commandLine })).Count == 1);
    }

    [Theory]
    [InlineData("IN`V`o`Ke-eXp`ResSIOn (Ne`W-ob`ject Net.WebClient)", true)]
    [InlineData("&(\"{2}{0}{1}\"-f 'e','x','I')", true)]
    [InlineData("echo ${e`Nv:pATh}", true)]
    [InlineData("powershell -nop -c Get-Process", false)]
    [InlineData("cmd /c \"dir C:\\Temp\"", false)]
    public void Rules_made_of_regexes_with_only_short_literals_are_evaluated_only_when_one_is_present(string commandLine, bool expected)
    {
        // Each regex requires one of a backtick, '"{' or '${': searched like any literal, they make the rule a
        // candidate, and an event with none of them never evaluates it.
        var builder = new SigmaEngineBuilder().WithOptions(new SigmaEngineOptions { TimingSampleInterval = 1 });
        builder.AddRuleYaml(Some.ProcessRule(
            "selection:\n  - CommandLine|re: '\\w+`(?:\\w+|-|.)`[\\w+|\\s]'\n  - CommandLine|re: '\"(?:\\{\\d\\})+\"\\s*-f'\n  - CommandLine|re: '(?i)\\$\\{`?e`?n`?v`?:`?p`?a`?t`?h`?\\}'\ncondition: selection"), "rule0.yml");
        var engine = builder.Build();
        Assert.Empty(engine.Rejections);
        var matched = Some.Matches(engine, Some.SysmonEvent(1, new { Image = @"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", CommandLine = commandLine })).Count == 1;
        Assert.Equal(expected, matched);
        var evaluations = engine.RuleStatistics.Single().Evaluations;
        Assert.Equal(commandLine.IndexOfAny(['`', '{']) >= 0 ? 1 : 0, evaluations);
    }

    [Theory]
    [InlineData("Image|endswith: '\\\\tool.exe'", "CommandLine|contains: 'secret'", @"C:\x\tool.exe", "nothing to see", 0)]
    [InlineData("Image|endswith: '\\\\tool.exe'", "CommandLine|contains: 'secret'", @"C:\x\other.exe", "a secret", 1)]
    [InlineData("Image|endswith: '.exe'", "CommandLine|contains: 'reg'", @"C:\x\tool.com", "reg add", 0)]
    [InlineData("Image|endswith: '.exe'", "CommandLine|contains: 'reg'", @"C:\x\tool.exe", "dir", 1)]
    public void The_rarer_literal_of_a_rule_triggers_it(string image, string commandLine, string imageValue, string commandLineValue, int evaluations)
    {
        // A six-letter substring is rarer than a nine-character file name; a substring of three common characters
        // is no rarer than an extension. Only the trigger makes the rule a candidate, so the other literal alone
        // never gets it evaluated.
        var builder = new SigmaEngineBuilder().WithOptions(new SigmaEngineOptions { TimingSampleInterval = 1 });
        builder.AddRuleYaml(Some.ProcessRule($"sel_img:\n  {image}\nsel_cli:\n  {commandLine}\ncondition: sel_img and sel_cli"), "rule0.yml");
        var engine = builder.Build();
        Assert.Empty(engine.Rejections);
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new { Image = imageValue, CommandLine = commandLineValue })));
        Assert.Equal(evaluations, engine.RuleStatistics.Single().Evaluations);
    }

    [Fact]
    public void Matched_fields_name_every_true_positive_selection_once_even_when_short_circuit_skipped_it()
    {
        // sel_a decides the match on its own; sel_b and the keyword hold too and are named although evaluation
        // stopped at sel_a. CommandLine holds two literals and is named once; the filter's field is not named.
        var engine = Some.Engine(Some.ProcessRule(
            "sel_a:\n  CommandLine|contains:\n    - 'alpha'\n    - 'beta'\nsel_b:\n  Image|endswith: '\\tool.exe'\n  ParentImage|endswith: '\\parent.exe'\nkeywords:\n  - 'gamma'\nfilter:\n  User: 'nobody'\ncondition: (sel_a or sel_b or keywords) and not filter"));
        Assert.Empty(engine.Rejections);
        var match = Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new
        {
            CommandLine = "run alpha then beta",
            Image = @"C:\x\tool.exe",
            ParentImage = @"C:\x\parent.exe",
            Description = "gamma ray",
            User = "someone",
        })));
        Assert.Equal(["CommandLine", "Image", "ParentImage", "keywords"], match.MatchedFields.Order(StringComparer.Ordinal));

        // A field is named when a positive predicate on it holds, here ParentImage although sel_b as a whole does not.
        var partial = Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "beta", Image = @"C:\x\other.exe", ParentImage = @"C:\x\parent.exe" })));
        Assert.Equal(["CommandLine", "ParentImage"], partial.MatchedFields);
    }

    [Fact]
    public void Matched_fields_are_not_limited_in_number()
    {
        // The last selection reads the first field again, after the buffer of named fields has grown: it must
        // still be known as named.
        var selections = string.Join('\n', Enumerable.Range(0, 40).Select(i => $"sel_{i}:\n  Field{i}|contains: 'v{i}x'"));
        var engine = Some.Engine(Some.ProcessRule($"{selections}\nsel_again:\n  Field0|contains: 'a v0'\ncondition: all of sel_*"));
        Assert.Empty(engine.Rejections);
        var data = new Dictionary<string, string>();
        for (var i = 0; i < 40; i++)
        {
            data[$"Field{i}"] = $"a v{i}x b";
        }

        var match = Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, data)));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"Field{i}").Order(StringComparer.Ordinal), match.MatchedFields.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("npm install pkg-17@1.0.7 --save", true)]
    [InlineData("npm install PKG-63@1.0.63", true)]
    [InlineData("npm install pkg-17@1.0.8", false)]
    [InlineData("npm test pkg-17@1.0.7", false)]
    public void Long_lists_of_substrings_of_one_field_match_like_one_by_one_tests(string commandLine, bool expected)
    {
        // Sixty-four on-demand literals of one field are searched in one pass instead of one scan each.
        var packages = string.Join('\n', Enumerable.Range(0, 64).Select(i => $"    - 'pkg-{i}@1.0.{(i == 17 ? 7 : i)}'"));
        var engine = Some.Engine(Some.ProcessRule(
            $"selection_img:\n  Image|endswith: '\\node.exe'\n  CommandLine|contains: 'install'\nselection_packages:\n  CommandLine|contains:\n{packages}\ncondition: all of selection_*"));
        Assert.Empty(engine.Rejections);
        var matches = Some.Matches(engine, Some.SysmonEvent(1, new { Image = @"C:\Program Files\nodejs\node.exe", CommandLine = commandLine }));
        Assert.Equal(expected, matches.Count == 1);
        if (expected)
        {
            Assert.Contains("CommandLine", matches[0].MatchedFields);
        }
    }

    [Fact]
    public void Keywords_match_inside_one_value_never_across_two()
    {
        var engine = Some.Engine(Some.ProcessRule("keywords:\n  - 'evilpayload'\ncondition: keywords"));
        Assert.Empty(engine.Rejections);
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "run EvilPayload now", Image = "x" })));
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "evil", Image = "payload" })));
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new { A = "xevil", B = "payloadx" })));
    }

    [Fact]
    public void Keyword_lists_mixing_many_literals_match_any_value()
    {
        var words = string.Join('\n', Enumerable.Range(0, 80).Select(i => $"  - 'marker{i:D2}x'"));
        var engine = Some.Engine(Some.ProcessRule($"keywords:\n{words}\ncondition: keywords"));
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { Other = "has MARKER79x inside", Image = "x" })));
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new { Other = "marker7", Image = "9x" })));
    }

    [Theory]
    [InlineData("EventCode='4624'", true)]
    [InlineData("EventCode=4624", false)]
    [InlineData("select * where eventcode=\"4625\" or x", true)]
    [InlineData("EventCod='4624'", false)]
    public void Wildcards_inside_contains_match_one_character_each(string commandLine, bool expected)
    {
        var engine = Some.Engine(Some.ProcessRule("sel:\n  CommandLine|contains: 'EventCode=?462?'\ncondition: sel"));
        Assert.Empty(engine.Rejections);
        Assert.Equal(expected, Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = commandLine })).Count == 1);
    }

    [Fact]
    public void Fields_resolve_the_same_after_the_path_cache_is_full()
    {
        var engine = Some.Engine(Some.ProcessRule("sel:\n  CommandLine|contains: 'needle'\ncondition: sel"));
        var junk = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < CompiledFormat.MaxCachedPaths + 500; i++)
        {
            junk["Junk" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = "v";
        }

        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, junk)));
        junk["CommandLine"] = "a needle here";
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, junk)));
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "NEEDLE" })));
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "needl" })));
    }

    [Fact]
    public void Pair_map_never_rules_out_a_literal_that_occurs()
    {
        var random = new Random(11);
        var ruledOut = 0;
        for (var round = 0; round < 2000; round++)
        {
            var text = RandomText(random, random.Next(0, 80));
            var literal = RandomText(random, random.Next(0, 8));
            if (round % 2 == 0 && text.Length > 0)
            {
                // Half the literals are cut from the text, at any offset, so that most of them occur.
                var start = random.Next(text.Length);
                literal = text.Substring(start, random.Next(0, Math.Min(8, text.Length - start) + 1));
            }

            var map = new PairMap(after: 1);
            var may = map.MayContain(0, text, PairMap.Pack(literal));
            if (text.Contains(literal, StringComparison.Ordinal))
            {
                Assert.True(may, $"'{literal}' in '{text}'");
            }
            else if (!may)
            {
                ruledOut++;
            }
        }

        // The map is not a pass-through: most absent literals of two characters or more are ruled out.
        Assert.True(ruledOut > 300, $"{ruledOut} ruled out");
    }

    [Fact]
    public void Pair_map_maps_a_value_only_once_it_is_asked_enough_and_forgets_it_between_events()
    {
        var map = new PairMap(after: 3);
        var absent = PairMap.Pack("~~");
        const string Text = @"c:\windows\system32\cmd.exe /c whoami";
        Assert.True(map.MayContain(4, Text, absent));
        Assert.True(map.MayContain(4, Text, absent));
        Assert.False(map.MayContain(4, Text, absent));
        Assert.True(map.MayContain(4, Text, PairMap.Pack("whoami")));

        // Another value of the event, or the same number in the next event, starts counting again.
        Assert.True(map.MayContain(5, "abc", absent));
        map.Reset();
        Assert.True(map.MayContain(4, Text, absent));
        Assert.True(map.MayContain(4, Text, PairMap.Pack("x")));
    }

    private static string RandomText(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(chars);
    }
}
