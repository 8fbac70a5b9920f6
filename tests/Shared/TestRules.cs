namespace McpSecurity.Testing;

/// <summary>Sigma rules the platform tests load: written by us, over the test agent's tool-call events.</summary>
public static class TestRules
{
    /// <summary>The ATT&amp;CK tags of <see cref="PipeToShell"/> unless a test gives others.</summary>
    public static readonly string[] PipeToShellTags = ["attack.execution", "attack.t1059.004"];

    /// <summary>"Agent pipes a download into a shell": a tool call whose command contains <c>| sh</c>, level high.</summary>
    /// <param name="id">The rule id.</param>
    /// <param name="tags">Its tags (<see cref="PipeToShellTags"/> when null; none when empty).</param>
    public static string PipeToShell(string id, IReadOnlyList<string>? tags = null)
    {
        tags ??= PipeToShellTags;
        var tagLines = tags.Count == 0 ? "" : "tags:\n" + string.Concat(tags.Select(t => $"    - {t}\n"));
        return $"""
            title: Agent pipes a download into a shell
            id: {id}
            status: experimental
            author: Platform Tests
            level: high
            {tagLines}logsource:
                product: mcpagent
                category: tool_call
            detection:
                selection:
                    command|contains: '| sh'
                condition: selection
            """;
    }
}
