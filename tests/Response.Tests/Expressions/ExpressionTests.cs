using System.Text.Json.Nodes;
using McpSecurity.Response.Expressions;

namespace McpSecurity.Response.Tests.Expressions;

public sealed class ExpressionTests
{
    private static readonly JsonObject Trigger = JsonNode.Parse("""
        {"severity":"high","score":7.5,"kev":true,"tags":["attack.t1110","brute"],"asset":{"name":"fw-01","criticality":"Critical"},"ips":["203.0.113.7","198.51.100.2"]}
        """)!.AsObject();

    private static bool Eval(string text) => Expression.Parse(text).IsTrue(n => n == "trigger" ? Trigger : null);

    [Theory]
    [InlineData("trigger.severity == 'high'", true)]
    [InlineData("trigger.severity != 'high'", false)]
    [InlineData("trigger.score >= 7 && trigger.score < 8", true)]
    [InlineData("trigger.kev and not (trigger.score > 9)", true)]
    [InlineData("'attack.t1110' in trigger.tags", true)]
    [InlineData("trigger.tags contains 'nope'", false)]
    [InlineData("lower(trigger.asset.criticality) == 'critical'", true)]
    [InlineData("trigger.asset.name startswith 'FW'", true)]
    [InlineData("trigger.ips[-1] == '198.51.100.2'", true)]
    [InlineData("trigger['asset']['name'] endswith '01'", true)]
    [InlineData("length(trigger.ips) == 2", true)]
    [InlineData("exists(trigger.missing.deep)", false)]
    [InlineData("trigger.missing > 3", false)]
    [InlineData("trigger.severity in ['low', 'high']", true)]
    [InlineData("!trigger.kev || trigger.score == 7.5", true)]
    public void Evaluate(string text, bool expected) => Assert.Equal(expected, Eval(text));

    [Theory]
    [InlineData("trigger.a ==", "ended")]
    [InlineData("trigger.a == 'x", "not closed")]
    [InlineData("(trigger.a", "expected ')'")]
    [InlineData("eval('x')", "unknown function 'eval'")]
    [InlineData("trigger.a = 1", "unexpected '='")]
    public void Parse_Errors(string text, string fragment)
    {
        var ex = Assert.Throws<ExpressionException>(() => Expression.Parse(text));
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeepNesting_Refused()
    {
        var ex = Assert.Throws<ExpressionException>(() => Expression.Parse(new string('(', 200) + "1" + new string(')', 200)));
        Assert.Contains("deeper than", ex.Message, StringComparison.Ordinal);
    }
}
