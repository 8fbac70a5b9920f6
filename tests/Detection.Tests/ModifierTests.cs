namespace McpSecurity.Detection.Tests;

/// <summary>Value modifiers, wildcards and condition operators on a Sysmon process-creation event.</summary>
public sealed class ModifierTests
{
    private static readonly object Event = new
    {
        Image = @"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        CommandLine = @"powershell.exe -NoP -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA= /c whoami* ",
        ParentImage = @"C:\Windows\System32\cmd.exe",
        OriginalFileName = "PowerShell.EXE",
        User = "CORP\\alice",
        IntegrityLevel = "High",
        ProcessId = 4242,
        Description = "",
        Hashes = "SHA1=AA,MD5=BB",
        SourceIp = "10.1.2.3",
        SourceIpv6 = "fe80::1",
        CurrentDirectory = @"C:\Windows\System32\",
        Payload = "dGVzdCBtYWx3YXJlIHBheWxvYWQ=",
        WidePayload = "JABzAD0AJwBoAGkAZABkAGUAbgAnAA==",
        Dashed = "net user /add",
    };

    [Theory]
    [InlineData("plain equals, case-insensitive", "sel:\n  OriginalFileName: powershell.exe\ncondition: sel", true)]
    [InlineData("equals does not match substring", "sel:\n  OriginalFileName: powershell\ncondition: sel", false)]
    [InlineData("contains", "sel:\n  CommandLine|contains: ' -ENC '\ncondition: sel", true)]
    [InlineData("startswith", "sel:\n  CommandLine|startswith: 'PowerShell.exe -nop'\ncondition: sel", true)]
    [InlineData("endswith", "sel:\n  Image|endswith: '\\powershell.exe'\ncondition: sel", true)]
    [InlineData("endswith miss", "sel:\n  Image|endswith: '\\pwsh.exe'\ncondition: sel", false)]
    [InlineData("list is OR", "sel:\n  Image|endswith:\n    - '\\pwsh.exe'\n    - '\\powershell.exe'\ncondition: sel", true)]
    [InlineData("contains|all needs every value", "sel:\n  CommandLine|contains|all:\n    - '-nop'\n    - '-enc'\ncondition: sel", true)]
    [InlineData("contains|all fails on one missing", "sel:\n  CommandLine|contains|all:\n    - '-nop'\n    - '-hidden'\ncondition: sel", false)]
    [InlineData("wildcard star inside value", "sel:\n  Image: 'c:\\windows\\sys*powershell.exe'\ncondition: sel", true)]
    [InlineData("wildcard question mark", "sel:\n  OriginalFileName: 'powershel?.exe'\ncondition: sel", true)]
    [InlineData("escaped star is literal", "sel:\n  CommandLine|contains: 'whoami\\*'\ncondition: sel", true)]
    [InlineData("escaped star does not act as wildcard", "sel:\n  CommandLine|contains: 'who\\*mi'\ncondition: sel", false)]
    [InlineData("backslash before other chars stays literal", "sel:\n  ParentImage: 'C:\\Windows\\System32\\cmd.exe'\ncondition: sel", true)]
    [InlineData("null matches absent field", "sel:\n  ParentCommandLine: null\ncondition: sel", true)]
    [InlineData("null does not match present field", "sel:\n  Image: null\ncondition: sel", false)]
    [InlineData("empty string matches empty field", "sel:\n  Description: ''\ncondition: sel", true)]
    [InlineData("integer value compares as text", "sel:\n  ProcessId: 4242\ncondition: sel", true)]
    [InlineData("base64|contains (aligned prefix)", "sel:\n  Payload|base64|contains: 'test malware'\ncondition: sel", true)]
    [InlineData("base64 of full value", "sel:\n  Payload|base64: 'test malware payload'\ncondition: sel", true)]
    [InlineData("base64offset|contains finds shifted text", "sel:\n  Payload|base64offset|contains: 'malware'\ncondition: sel", true)]
    [InlineData("wide|base64offset|contains", "sel:\n  WidePayload|wide|base64offset|contains: 'hidden'\ncondition: sel", true)]
    [InlineData("windash matches slash form", "sel:\n  Dashed|contains|windash: ' -add'\ncondition: sel", true)]
    [InlineData("windash on dash form", "sel:\n  CommandLine|contains|windash: '/nop'\ncondition: sel", true)]
    [InlineData("re is case-sensitive", "sel:\n  CommandLine|re: 'POWERSHELL\\.exe'\ncondition: sel", false)]
    [InlineData("re|i ignores case", "sel:\n  CommandLine|re|i: 'POWERSHELL\\.exe\\s+-nop'\ncondition: sel", true)]
    [InlineData("re with backreference uses the timeout engine", "sel:\n  Hashes|re: '^SHA1=(\\w)\\1'\ncondition: sel", true)]
    [InlineData("cidr v4", "sel:\n  SourceIp|cidr: '10.0.0.0/8'\ncondition: sel", true)]
    [InlineData("cidr v4 miss", "sel:\n  SourceIp|cidr: '192.168.0.0/16'\ncondition: sel", false)]
    [InlineData("cidr v6", "sel:\n  SourceIpv6|cidr: 'fe80::/10'\ncondition: sel", true)]
    [InlineData("gt", "sel:\n  ProcessId|gt: 4000\ncondition: sel", true)]
    [InlineData("lte miss", "sel:\n  ProcessId|lte: 100\ncondition: sel", false)]
    [InlineData("exists true", "sel:\n  IntegrityLevel|exists: true\ncondition: sel", true)]
    [InlineData("exists false", "sel:\n  ParentUser|exists: false\ncondition: sel", true)]
    [InlineData("fieldref equal fields", "sel:\n  Image|fieldref: Image\ncondition: sel", true)]
    [InlineData("fieldref different fields", "sel:\n  Image|fieldref: ParentImage\ncondition: sel", false)]
    [InlineData("fieldref|startswith", "sel:\n  Image|fieldref|startswith: CurrentDirectory\ncondition: sel", true)]
    [InlineData("cased equals", "sel:\n  OriginalFileName|cased: 'PowerShell.EXE'\ncondition: sel", true)]
    [InlineData("cased miss", "sel:\n  OriginalFileName|cased: 'powershell.exe'\ncondition: sel", false)]
    [InlineData("keyword list", "keywords:\n  - 'whoami'\n  - 'mimikatz'\ncondition: keywords", true)]
    [InlineData("keyword |all", "keywords:\n  '|all':\n    - 'whoami'\n    - 'mimikatz'\ncondition: keywords", false)]
    [InlineData("not", "sel:\n  Image|endswith: '\\powershell.exe'\nfilter:\n  ParentImage|endswith: '\\cmd.exe'\ncondition: sel and not filter", false)]
    [InlineData("1 of pattern", "selection_a:\n  Image|endswith: '\\nope.exe'\nselection_b:\n  User|contains: 'alice'\ncondition: 1 of selection_*", true)]
    [InlineData("all of pattern", "selection_a:\n  Image|endswith: '\\nope.exe'\nselection_b:\n  User|contains: 'alice'\ncondition: all of selection_*", false)]
    [InlineData("all of them", "a:\n  Image|contains: 'powershell'\nb:\n  User|contains: 'alice'\ncondition: all of them", true)]
    [InlineData("parentheses and or", "a:\n  Image|contains: 'nope'\nb:\n  User|contains: 'alice'\nc:\n  IntegrityLevel: High\ncondition: (a or b) and c", true)]
    [InlineData("not binds tighter than and", "a:\n  Image|contains: 'nope'\nb:\n  User|contains: 'alice'\ncondition: not a and b", true)]
    [InlineData("list of maps is OR", "sel:\n  - Image|contains: 'nope'\n  - User|contains: 'alice'\ncondition: sel", true)]
    [InlineData("condition list is OR", "a:\n  Image|contains: 'nope'\nb:\n  User|contains: 'alice'\ncondition:\n  - a\n  - b", true)]
    public void Modifier_and_condition_semantics(string name, string detection, bool expected)
    {
        var engine = Some.Engine(Some.ProcessRule(detection));
        Assert.Empty(engine.Rejections);
        var matches = Some.Matches(engine, Some.SysmonEvent(1, Event));
        Assert.True(expected == (matches.Count == 1), $"{name}: expected match={expected}");
    }

    [Fact]
    public void Expand_uses_configured_placeholder_values()
    {
        var rule = Some.ProcessRule("sel:\n  User|expand: '%admins%'\ncondition: sel");
        var engine = new SigmaEngineBuilder().AddRuleYaml(rule).WithPlaceholder("admins", @"CORP\bob", @"CORP\alice").Build();
        Assert.Empty(engine.Rejections);
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, Event)));
    }

    [Fact]
    public void Match_reports_rule_metadata_and_positive_fields_only()
    {
        var engine = Some.Engine(Some.ProcessRule("sel:\n  Image|endswith: '\\powershell.exe'\n  CommandLine|contains: '-enc'\nfilter:\n  User: 'CORP\\bob'\ncondition: sel and not filter"));
        var match = Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, Event)));
        Assert.Equal(Some.RuleId, match.Rule.Id);
        Assert.Equal("high", match.Rule.Level);
        Assert.Equal("Tester", match.Rule.Author);
        Assert.Equal(["attack.execution", "attack.t1059"], match.Rule.AttackTags);
        Assert.Equal(["CommandLine", "Image"], match.MatchedFields.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Many_rules_sharing_a_field_are_matched_in_one_pass()
    {
        var rules = Enumerable.Range(0, 300).Select(i => Some.ProcessRule(
            $"sel:\n  CommandLine|contains: 'token{i:D3}'\ncondition: sel",
            $"00000000-0000-0000-0000-{i:D12}")).ToArray();
        var engine = Some.Engine(rules);
        var matches = Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "x token007 y token123 z token299" }));
        Assert.Equal(
            ["00000000-0000-0000-0000-000000000007", "00000000-0000-0000-0000-000000000123", "00000000-0000-0000-0000-000000000299"],
            matches.Select(m => m.Rule.Id).Order(StringComparer.Ordinal));
    }
}

/// <summary>The buffer overload of Evaluate.</summary>
public sealed class BufferEvaluationTests
{
    [Fact]
    public void Matches_are_written_into_the_caller_buffer_and_counted_beyond_it()
    {
        var engine = Some.Engine(
            Some.ProcessRule("sel:\n  CommandLine|contains: 'a'\ncondition: sel", "00000000-0000-0000-0000-00000000000a"),
            Some.ProcessRule("sel:\n  CommandLine|contains: 'b'\ncondition: sel", "00000000-0000-0000-0000-00000000000b"));
        var ev = new SecurityEventView(Some.SysmonEvent(1, new { CommandLine = "ab" }));
        var big = new McpSecurity.Detection.Sigma.SigmaRule[4];
        Assert.Equal(2, engine.Evaluate(ev, big));
        Assert.Equal(["00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"], big.Take(2).Select(r => r.Id).Order(StringComparer.Ordinal));
        var small = new McpSecurity.Detection.Sigma.SigmaRule[1];
        Assert.Equal(2, engine.Evaluate(ev, small));
        Assert.NotNull(small[0]);
    }
}
