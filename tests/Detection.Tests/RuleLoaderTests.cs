using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection.Tests;

/// <summary>Rule reading: metadata, multi-document rules, correlation rules and precise rejections.</summary>
public sealed class RuleLoaderTests
{
    [Fact]
    public void Metadata_is_read_from_the_rule()
    {
        var yaml = """
            title: Metadata Rule
            id: 0f6bc4ea-0000-4000-8000-000000000001
            name: metadata_rule
            status: experimental
            description: Checks metadata.
            author: Jane Doe, John Roe
            date: 2024-01-02
            modified: 2024-03-04
            references:
              - https://example.org/a
            related:
              - id: 0f6bc4ea-0000-4000-8000-000000000002
                type: derived
            tags:
              - attack.persistence
              - attack.t1547.001
              - cve.2021-44228
            logsource:
              product: Windows
              service: Security
            detection:
              sel:
                EventID: 4624
              condition: sel
            falsepositives:
              - Admin activity
            level: Medium
            """;
        var engine = new SigmaEngineBuilder().AddRuleYaml(yaml, "meta.yml").Build();
        var rule = Assert.Single(engine.Rules);
        Assert.Equal("0f6bc4ea-0000-4000-8000-000000000001", rule.Id);
        Assert.Equal("Metadata Rule", rule.Title);
        Assert.Equal("metadata_rule", rule.Name);
        Assert.Equal("experimental", rule.Status);
        Assert.Equal("medium", rule.Level);
        Assert.Equal("Jane Doe, John Roe", rule.Author);
        Assert.Equal("2024-01-02", rule.Date);
        Assert.Equal("2024-03-04", rule.Modified);
        Assert.Equal(new SigmaLogSource("windows", null, "security"), rule.LogSource);
        Assert.Equal(["attack.persistence", "attack.t1547.001"], rule.AttackTags);
        Assert.Equal(3, rule.Tags.Count);
        Assert.Equal(["Admin activity"], rule.FalsePositives);
        Assert.Equal([new SigmaRelated("0f6bc4ea-0000-4000-8000-000000000002", "derived")], rule.Related);
        Assert.Equal("meta.yml", rule.SourceFile);
    }

    [Fact]
    public void Multi_document_rules_merge_global_and_repeat()
    {
        var yaml = """
            action: global
            title: Shared title
            status: test
            level: high
            detection:
              sel:
                CommandLine|contains: 'evil'
              condition: sel
            ---
            id: 0f6bc4ea-0000-4000-8000-00000000000a
            logsource:
              product: windows
              category: process_creation
            ---
            action: repeat
            id: 0f6bc4ea-0000-4000-8000-00000000000b
            logsource:
              category: ps_script
            """;
        var engine = new SigmaEngineBuilder().AddRuleYaml(yaml, "multi.yml").Build();
        Assert.Empty(engine.Rejections);
        Assert.Collection(
            engine.Rules.OrderBy(r => r.Id, StringComparer.Ordinal),
            a =>
            {
                Assert.Equal("Shared title", a.Title);
                Assert.Equal("process_creation", a.LogSource.Category);
            },
            b =>
            {
                Assert.Equal("Shared title", b.Title);
                Assert.Equal("ps_script", b.LogSource.Category);
                Assert.Equal("windows", b.LogSource.Product);
            });
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, new { CommandLine = "run evil.exe" })));
    }

    [Fact]
    public void Correlation_rules_parse_into_a_model()
    {
        var yaml = """
            title: Many failed logons
            id: 0f6bc4ea-0000-4000-8000-0000000000c1
            correlation:
              type: value_count
              rules:
                - failed_logon
              group-by:
                - TargetUserName
                - IpAddress
              timespan: 15m
              condition:
                gte: 10
                field: WorkstationName
            level: high
            """;
        var engine = new SigmaEngineBuilder().AddRuleYaml(yaml).Build();
        var c = Assert.Single(engine.CorrelationRules);
        Assert.Equal(SigmaCorrelationType.ValueCount, c.Type);
        Assert.Equal(["failed_logon"], c.Rules);
        Assert.Equal(["TargetUserName", "IpAddress"], c.GroupBy);
        Assert.Equal(TimeSpan.FromMinutes(15), c.Timespan);
        Assert.Equal(new SigmaCorrelationCondition("gte", 10, "WorkstationName"), c.Condition);
    }

    [Theory]
    [InlineData("sel:\n  Image|foo: x\ncondition: sel", RuleRejectionReason.UnknownModifier, "detection.sel.Image|foo", "'foo'")]
    [InlineData("sel:\n  Image|re: '(unclosed'\ncondition: sel", RuleRejectionReason.InvalidRegex, "detection.sel.Image|re", "(unclosed")]
    [InlineData("sel:\n  SourceIp|cidr: '10.0.0.0/99'\ncondition: sel", RuleRejectionReason.InvalidCidr, "detection.sel.SourceIp|cidr", "10.0.0.0/99")]
    [InlineData("sel:\n  Image: x\ncondition: sel and other", RuleRejectionReason.InvalidCondition, "detection.condition", "'other'")]
    [InlineData("sel:\n  Image: x\ncondition: 1 of filter_*", RuleRejectionReason.InvalidCondition, "detection.condition", "filter_*")]
    [InlineData("sel:\n  Image: x\ncondition: (sel", RuleRejectionReason.InvalidCondition, "detection.condition", "')'")]
    [InlineData("sel:\n  Image: x\ncondition: sel | count() > 5", RuleRejectionReason.UnsupportedAggregation, "detection.condition", "aggregation")]
    [InlineData("sel:\n  Image|contains|startswith: x\ncondition: sel", RuleRejectionReason.InvalidModifier, "detection.sel.Image|contains|startswith", "cannot be combined")]
    [InlineData("sel:\n  Image|base64: 'a*b'\ncondition: sel", RuleRejectionReason.InvalidModifier, "detection.sel.Image|base64", "wildcards")]
    [InlineData("sel:\n  Image|expand: '%nowhere%'\ncondition: sel", RuleRejectionReason.UnresolvedPlaceholder, "detection.sel.Image|expand", "%nowhere%")]
    [InlineData("sel:\n  Image:\n    nested: map\ncondition: sel", RuleRejectionReason.InvalidValue, "detection.sel.Image", "scalar")]
    [InlineData("sel:\n  Image: x", RuleRejectionReason.MissingKey, "detection.condition", "condition")]
    public void Bad_rules_are_rejected_with_path_line_and_reason(string detection, RuleRejectionReason reason, string path, string messagePart)
    {
        var engine = new SigmaEngineBuilder().AddRuleYaml(Some.ProcessRule(detection), "bad.yml").Build();
        Assert.Empty(engine.Rules);
        var rejection = Assert.Single(engine.Rejections);
        Assert.Equal(reason, rejection.Reason);
        Assert.Equal(path, rejection.YamlPath);
        Assert.Equal("bad.yml", rejection.File);
        Assert.Equal(Some.RuleId, rejection.RuleId);
        Assert.True(rejection.Line > 10, $"line {rejection.Line} should point into the detection block");
        Assert.Contains(messagePart, rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_detection_and_broken_yaml_are_rejected()
    {
        var engine = new SigmaEngineBuilder()
            .AddRuleYaml("title: x\nid: a\nlogsource:\n  product: windows\n", "nodet.yml")
            .AddRuleYaml("title: [unclosed\n", "syntax.yml")
            .AddRuleYaml("- just\n- a list\n", "list.yml")
            .Build();
        Assert.Empty(engine.Rules);
        Assert.Equal(
            [("list.yml", RuleRejectionReason.InvalidValue), ("nodet.yml", RuleRejectionReason.MissingKey), ("syntax.yml", RuleRejectionReason.YamlSyntax)],
            engine.Rejections.Select(r => (r.File, r.Reason)).Order());
    }

    [Fact]
    public void Yaml_alias_bombs_are_refused_before_expansion()
    {
        var bomb = """
            a: &a ["x","x","x","x","x","x","x","x","x","x"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
            title: bomb
            """;
        var byAliasCount = new SigmaEngineBuilder().AddRuleYaml(bomb, "bomb.yml").Build();
        var byExpansion = new SigmaEngineBuilder().AddRuleYaml(bomb, "bomb.yml").WithLoadOptions(new SigmaLoadOptions { MaxAliases = 1000 }).Build();
        Assert.Contains("aliases", Assert.Single(byAliasCount.Rejections).Message, StringComparison.Ordinal);
        var rejection = Assert.Single(byExpansion.Rejections);
        Assert.Equal(RuleRejectionReason.YamlLimit, rejection.Reason);
        Assert.Contains("expands to more than", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_aliases_and_oversized_documents_are_refused()
    {
        var many = "a: &a x\nlist: [" + string.Join(",", Enumerable.Repeat("*a", 100)) + "]\n";
        var huge = "title: '" + new string('x', 2 << 20) + "'\n";
        var engine = new SigmaEngineBuilder().AddRuleYaml(many, "many.yml").AddRuleYaml(huge, "huge.yml").Build();
        Assert.All(engine.Rejections, r => Assert.Equal(RuleRejectionReason.YamlLimit, r.Reason));
        Assert.Equal(["huge.yml", "many.yml"], engine.Rejections.Select(r => r.File).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Duplicate_ids_keep_the_first_rule()
    {
        var rule = Some.ProcessRule("sel:\n  Image: x\ncondition: sel");
        var engine = new SigmaEngineBuilder().AddRuleYaml(rule, "one.yml").AddRuleYaml(rule, "two.yml").Build();
        Assert.Equal("one.yml", Assert.Single(engine.Rules).SourceFile);
        var rejection = Assert.Single(engine.Rejections);
        Assert.Equal(RuleRejectionReason.DuplicateId, rejection.Reason);
        Assert.Equal("two.yml", rejection.File);
    }
}
