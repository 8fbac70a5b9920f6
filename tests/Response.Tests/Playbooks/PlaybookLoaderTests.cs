using McpSecurity.Response.Actions;
using McpSecurity.Response.Playbooks;

namespace McpSecurity.Response.Tests.Playbooks;

public sealed class PlaybookLoaderTests
{
    private static readonly PlaybookLoader Loader = new(BuiltInActions.Create());

    private static PlaybookError Single(string yaml)
    {
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load(yaml));
        return Assert.Single(ex.Errors);
    }

    [Fact]
    public void Load_ValidPlaybook_StepsTriggersInputsOutputs()
    {
        var def = Loader.Load("""
            name: demo
            concurrency: 3
            triggers:
              - alert: { when: "trigger.severity == 'high'" }
              - schedule: { cron: "*/5 * * * *" }
              - webhook: { secret: hook_key }
            inputs:
              ip: { type: string, required: true }
            steps:
              - id: first
                action: log
                with: { message: "ip {{ inputs.ip }}" }
                retry: { attempts: 3, backoff: 500ms, max_backoff: 2s }
                timeout: 10s
              - id: pause
                wait: 1s
            outputs:
              said: "{{ steps.first.output.message }}"
            """);
        Assert.Equal("demo", def.Name);
        Assert.Equal(3, def.Concurrency);
        Assert.Equal([TriggerKind.Alert, TriggerKind.Schedule, TriggerKind.Webhook], def.Triggers.Select(t => t.Kind));
        Assert.Equal(["first", "pause"], def.Steps.Select(s => s.Id));
        Assert.Equal(3, def.Steps[0].Retry.Attempts);
        Assert.Equal(TimeSpan.FromMilliseconds(500), def.Steps[0].Retry.DelayBefore(2));
        Assert.Equal(TimeSpan.FromSeconds(1), def.Steps[0].Retry.DelayBefore(3));
        Assert.Equal(TimeSpan.FromSeconds(2), def.Steps[0].Retry.DelayBefore(9));
        Assert.Contains("hook_key", def.Secrets);
        Assert.Equal("said", def.Outputs.Single().Name);
    }

    [Fact]
    public void Load_YamlSyntaxError_LineAndColumn()
    {
        var e = Single("name: x\nsteps:\n  - id: a\n    action: log\n   with: [unclosed\n");
        Assert.Equal(5, e.Line);
        Assert.True(e.Column >= 1);
    }

    [Fact]
    public void Load_UnknownActionType_NamesLineColumnAndKnownTypes()
    {
        var e = Single("name: x\nsteps:\n  - id: a\n    action: slack.shout\n    with: { text: hi }\n");
        Assert.Equal(4, e.Line);
        Assert.Equal(13, e.Column);
        Assert.Contains("unknown action type 'slack.shout'", e.Message, StringComparison.Ordinal);
        Assert.Contains("slack.post_message", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownKey_Rejected()
    {
        var e = Single("name: x\nsteps:\n  - id: a\n    action: log\n    with: { message: hi }\n    retries: 3\n");
        Assert.Equal(6, e.Line);
        Assert.Contains("unknown key 'retries'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingRequiredActionSetting_AndUnknownSetting()
    {
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load("name: x\nsteps:\n  - id: a\n    action: pagerduty.event\n    with:\n      event_action: shout\n      colour: red\n"));
        Assert.Contains(ex.Errors, e => e.Message.Contains("needs 'routing_key'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 6 && e.Message.Contains("'shout' is not one of trigger, acknowledge, resolve", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 7 && e.Message.Contains("unknown setting", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_NeedsCycle_Caught()
    {
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load("""
            name: x
            steps:
              - id: a
                action: log
                with: { message: a }
                needs: [c]
              - id: b
                action: log
                with: { message: b }
                needs: [a]
              - id: c
                action: log
                with: { message: c }
                needs: [b]
            """));
        var e = Assert.Single(ex.Errors);
        Assert.Contains("dependency cycle", e.Message, StringComparison.Ordinal);
        Assert.Contains("a -> b -> c", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Load_NeedsReordersSteps()
    {
        var def = Loader.Load("""
            name: x
            steps:
              - id: last
                action: log
                with: { message: a }
                needs: [first]
              - id: first
                action: log
                with: { message: b }
                needs: []
            """);
        Assert.Equal(["first", "last"], def.Steps.Select(s => s.Id));
    }

    [Theory]
    [InlineData("needs: [ghost]", "refers to unknown step 'ghost'")]
    [InlineData("with: { message: \"{{ steps.ghost.output }}\" }", "refers to unknown step 'ghost'")]
    public void Load_UnknownStepReference_Caught(string line, string expected)
    {
        var yaml = "name: x\nsteps:\n  - id: a\n    action: log\n" + (line.StartsWith("with", StringComparison.Ordinal) ? "    " + line + "\n" : "    with: { message: m }\n    " + line + "\n");
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load(yaml));
        Assert.Contains(ex.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_UnknownStepInCondition_Caught()
    {
        var e = Single("name: x\nsteps:\n  - id: c\n    if: \"steps.nope.output.ok == true\"\n    then:\n      - id: a\n        action: log\n        with: { message: m }\n");
        Assert.Equal(4, e.Line);
        Assert.Contains("unknown step 'nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TemplateSyntaxError_ReportedForTheStepField()
    {
        var e = Single("name: x\nsteps:\n  - id: note\n    action: log\n    with:\n      message: \"{{ trigger.ip | }}\"\n");
        Assert.Equal(6, e.Line);
        Assert.Contains("steps[0](note).with.message", e.Path, StringComparison.Ordinal);
        Assert.Contains("template error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ExpressionError_PointsIntoTheExpression()
    {
        var e = Single("name: x\nsteps:\n  - id: c\n    if: \"trigger.a == \"\n    then: []\n");
        Assert.Equal(4, e.Line);
        Assert.Contains("expression error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ExpressionCallingUnknownFunction_Rejected()
    {
        var e = Single("name: x\nsteps:\n  - id: c\n    if: \"system('rm -rf /')\"\n    then: []\n");
        Assert.Contains("unknown function 'system'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DuplicateIdsBadDurationBadApprover()
    {
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load("""
            name: x
            steps:
              - id: a
                wait: soon
              - id: a
                approval:
                  approvers: ["role:wizard", "alice"]
                  timeout: 1h
                  on_timeout: shrug
            """));
        Assert.Contains(ex.Errors, e => e.Line == 4 && e.Message.Contains("duration", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 5 && e.Message.Contains("duplicate step id 'a'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Message.Contains("unknown role 'wizard'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Message.Contains("'alice' must be 'role:<role>' or 'user:<name>'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Message.Contains("must be approve, reject or fail", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_AliasBomb_RefusedBeforeExpansion()
    {
        var yaml = "name: x\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nsteps: []\n";
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load(yaml));
        Assert.Contains("alias", ex.Errors[0].Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Load_BadCronAndTrigger()
    {
        var ex = Assert.Throws<PlaybookValidationException>(() => Loader.Load("name: x\ntriggers:\n  - schedule: { cron: \"61 * * * *\" }\n  - pager: {}\nsteps: []\n"));
        Assert.Contains(ex.Errors, e => e.Line == 3 && e.Message.Contains("not a cron expression", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == 4 && e.Message.Contains("unknown trigger 'pager'", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_LiteralUrlMustBeAbsolute()
    {
        var e = Single("name: x\nsteps:\n  - id: a\n    action: http.request\n    with: { url: \"/relative\" }\n");
        Assert.Contains("not an absolute http(s) URL", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kev-critical-asset.yml")]
    [InlineData("brute-force-block.yml")]
    [InlineData("sbom-critical-email.yml")]
    public void Library_PlaybooksValidate(string file)
    {
        var def = Loader.Load(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "playbooks", file)));
        Assert.Contains(def.Triggers, t => t.Kind != TriggerKind.Manual);
    }
}
