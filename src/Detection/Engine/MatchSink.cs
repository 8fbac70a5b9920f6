using McpSecurity.Detection.Sigma;

namespace McpSecurity.Detection;

/// <summary>Receives rule matches from <see cref="SigmaEngine.Evaluate(in SecurityEventView, IMatchSink)"/>.</summary>
public interface IMatchSink
{
    /// <summary>
    /// Called once per matching rule. <paramref name="matchedFields"/> names the fields whose values made the
    /// rule's positive selections true; it is only valid during the call (copy it to keep it).
    /// </summary>
    void OnMatch(SigmaRule rule, ReadOnlySpan<string> matchedFields);
}

/// <summary>One rule match, kept.</summary>
/// <param name="Rule">The rule (id, title, level, author, tags...).</param>
/// <param name="MatchedFields">Fields whose values made the rule match.</param>
public sealed record SigmaMatch(SigmaRule Rule, IReadOnlyList<string> MatchedFields);

/// <summary>A sink that keeps every match in a list (not for the hot path: it allocates per match).</summary>
public sealed class CollectingMatchSink : IMatchSink
{
    /// <summary>Matches in arrival order.</summary>
    public List<SigmaMatch> Matches { get; } = [];

    /// <inheritdoc />
    public void OnMatch(SigmaRule rule, ReadOnlySpan<string> matchedFields) => Matches.Add(new SigmaMatch(rule, matchedFields.ToArray()));
}

/// <summary>A sink that only counts matches, allocation-free.</summary>
public sealed class CountingMatchSink : IMatchSink
{
    /// <summary>Matches seen so far.</summary>
    public long Count { get; private set; }

    /// <inheritdoc />
    public void OnMatch(SigmaRule rule, ReadOnlySpan<string> matchedFields) => Count++;
}
