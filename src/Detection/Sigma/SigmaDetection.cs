using System.Net;
using System.Text.RegularExpressions;

namespace McpSecurity.Detection.Sigma;

/// <summary>How one predicate compares a field value.</summary>
internal enum MatchKind
{
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    Glob,
    Regex,
    Cidr,
    Lt,
    Lte,
    Gt,
    Gte,
    Exists,
    Null,
    FieldRef,
}

/// <summary>
/// One elementary test of one field (or of any field, for keywords) against one concrete value, after
/// every value modifier has been applied. Text is lower-cased unless <see cref="CaseSensitive"/>.
/// </summary>
internal sealed class PredicateSpec
{
    /// <summary>Glob wildcard for any run of characters (a noncharacter, never in real data).</summary>
    public const char AnyRun = '\uFFFF';

    /// <summary>Glob wildcard for one character.</summary>
    public const char AnyOne = '\uFFFE';

    /// <summary>Sigma field name; null for a keyword (matches any value of the event).</summary>
    public string? Field { get; init; }

    public MatchKind Kind { get; init; }

    /// <summary>Literal or glob text (lower-cased unless case-sensitive).</summary>
    public string Text { get; init; } = string.Empty;

    public bool CaseSensitive { get; init; }

    public Regex? Regex { get; init; }

    /// <summary>Slot of the current thread in <see cref="_regexCopies"/>, assigned round robin on first use.</summary>
    [ThreadStatic]
    private static int _threadRegexSlot;

    private static int _nextRegexSlot;

    /// <summary>
    /// Copies of <see cref="Regex"/>, one per core: a <see cref="System.Text.RegularExpressions.Regex"/> caches
    /// one matcher state, so threads matching with one instance at the same time make all but one allocate a
    /// fresh state for every match.
    /// </summary>
    private Regex?[]? _regexCopies;

    /// <summary>Runs <see cref="Regex"/> on the current thread's copy (no allocation once every copy exists).</summary>
    public bool IsRegexMatch(ReadOnlySpan<char> text)
    {
        var regex = Regex!;
        var copies = Volatile.Read(ref _regexCopies);
        if (copies is null)
        {
            Interlocked.CompareExchange(ref _regexCopies, new Regex?[Math.Max(1, Environment.ProcessorCount)], null);
            copies = _regexCopies!;
        }

        if (_threadRegexSlot == 0)
        {
            _threadRegexSlot = Interlocked.Increment(ref _nextRegexSlot);
        }

        var slot = (_threadRegexSlot - 1) % copies.Length;
        var copy = Volatile.Read(ref copies[slot]);
        if (copy is null)
        {
            Interlocked.CompareExchange(ref copies[slot], slot == 0 ? regex : new Regex(regex.ToString(), regex.Options, regex.MatchTimeout), null);
            copy = copies[slot]!;
        }

        try
        {
            return copy.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            // The timeout is wall-clock time, which also runs out when the thread is starved of CPU on a busy
            // machine. A second attempt with a much longer limit tells a pathological pattern (it times out
            // again, and the caller quarantines the rule) from a sound one that was merely descheduled.
            var patient = Volatile.Read(ref _patientCopy);
            if (patient is null)
            {
                var timeout = TimeSpan.FromTicks(Math.Max(regex.MatchTimeout.Ticks * PatienceFactor, MinPatientTimeout.Ticks));
                Interlocked.CompareExchange(ref _patientCopy, new Regex(regex.ToString(), regex.Options, timeout), null);
                patient = _patientCopy!;
            }

            return patient.IsMatch(text);
        }
    }

    /// <summary>How much longer the second attempt after a timeout may take than the first.</summary>
    private const int PatienceFactor = 10;

    /// <summary>Shortest time limit of the second attempt.</summary>
    private static readonly TimeSpan MinPatientTimeout = TimeSpan.FromSeconds(1);

    /// <summary>A copy of <see cref="Regex"/> with the longer time limit, made on the first timeout.</summary>
    private Regex? _patientCopy;

    /// <summary>For <see cref="MatchKind.Regex"/>: a lower-cased literal every match contains, tested first.</summary>
    public string? Prefilter { get; init; }

    /// <summary>
    /// For <see cref="MatchKind.Regex"/>: lower-cased literals one of which every match contains, searched in place
    /// of the regex to decide whether its rule is a candidate (null when none is worth searching).
    /// </summary>
    public IReadOnlyList<string>? Implied { get; init; }

    /// <summary>Regex only: a cheap test every matching value passes (null when the pattern has none).</summary>
    public RegexGate? Gate { get; init; }

    /// <summary>Regex only: fewest characters a match has (0 when unknown); shorter values are not run.</summary>
    public int MinLength { get; init; }

    public IPNetwork Network { get; init; }

    public double Number { get; init; }

    /// <summary>For <see cref="MatchKind.Exists"/>: whether the field must be present.</summary>
    public bool ExistsExpected { get; init; }

    /// <summary>For <see cref="MatchKind.FieldRef"/>: the other field.</summary>
    public string? RefField { get; init; }

    /// <summary>For <see cref="MatchKind.FieldRef"/>: how the two values compare (equals, contains, startswith, endswith).</summary>
    public MatchKind RefKind { get; init; }
}

/// <summary>A field item: <c>Field|mods: values</c>. Each value group is an OR of variants.</summary>
internal sealed class SigmaFieldItem
{
    public required string? Field { get; init; }

    /// <summary>True when every value group must hold (<c>all</c> modifier); otherwise any one.</summary>
    public required bool MatchAll { get; init; }

    public required List<List<PredicateSpec>> ValueGroups { get; init; }

    public required string YamlPath { get; init; }
}

/// <summary>A selection: an OR of alternatives, each an AND of field items.</summary>
internal sealed class SigmaSelection
{
    public required string Name { get; init; }

    public required List<List<SigmaFieldItem>> Alternatives { get; init; }
}

/// <summary>Condition syntax tree.</summary>
internal abstract record ConditionExpr;

internal sealed record SelectionRef(int Index) : ConditionExpr;

internal sealed record AndExpr(ConditionExpr[] Items) : ConditionExpr;

internal sealed record OrExpr(ConditionExpr[] Items) : ConditionExpr;

internal sealed record NotExpr(ConditionExpr Item) : ConditionExpr;

internal sealed record AtLeastExpr(int Count, ConditionExpr[] Items) : ConditionExpr;

/// <summary>The detection block of a rule.</summary>
internal sealed class SigmaDetection
{
    public required List<SigmaSelection> Selections { get; init; }

    public required ConditionExpr Condition { get; init; }
}
