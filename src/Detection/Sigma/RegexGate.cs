using System.Buffers;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using McpSecurity.Detection.Engine;

namespace McpSecurity.Detection.Sigma;

/// <summary>
/// A necessary condition for a flat regular expression (the shape <see cref="LinearRegex"/> parses) that is much
/// cheaper to test than running the regex: a value failing it cannot match, so the regex is not run.
/// </summary>
/// <remarks>
/// <para>Two kinds of test, chosen at load from the pattern's atoms:</para>
/// <list type="bullet">
/// <item>A <b>run</b>: an atom repeated at least k times (k of 8 or more) needs k consecutive characters of its
/// set. Any such run covers a position that is a multiple of k minus one, so only those positions are looked at
/// and a run is measured only around a hit. <c>[a-fA-F0-9]{64}</c> samples every 64th character.</item>
/// <item>A <b>pair</b>: two consecutive mandatory atoms meet in every match, the last character of the first
/// immediately before the first character of the second. The text is searched (vectorised) for the rarer side's
/// characters and each hit's neighbour is checked against the other side. For
/// <c>\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']</c> that is a dot followed by a space or a quote.</item>
/// </list>
/// <para>Each atom's character set is taken from the regex engine itself, with the pattern's options, over all
/// 65,536 UTF-16 code units, so case-insensitivity and escapes mean exactly what they mean to the regex.</para>
/// </remarks>
internal sealed class RegexGate
{
    /// <summary>Shortest repeat used as a run test.</summary>
    internal const int MinRun = 8;

    /// <summary>Largest character set a test is built from (bigger sets rule out too little to be worth it).</summary>
    private const int MaxSet = 128;

    /// <summary>A pair is used only when it is expected in fewer than this share of positions.</summary>
    private const double MaxPairShare = 0.01;

    private readonly SearchValues<char>? _runSet;
    private readonly int _run;
    private readonly SearchValues<char>? _scan;
    private readonly SearchValues<char>? _neighbour;
    private readonly bool _neighbourFollows;

    private RegexGate(SearchValues<char>? runSet, int run, SearchValues<char>? scan, SearchValues<char>? neighbour, bool neighbourFollows)
    {
        _runSet = runSet;
        _run = run;
        _scan = scan;
        _neighbour = neighbour;
        _neighbourFollows = neighbourFollows;
    }

    /// <summary>What the gate tests, for diagnostics and tests.</summary>
    internal string Description =>
        (_runSet is null ? string.Empty : $"run of {_run}") + (_runSet is not null && _scan is not null ? " and " : string.Empty) + (_scan is null ? string.Empty : "pair");

    /// <summary>The gate of <paramref name="pattern"/> under <paramref name="options"/>, or null when it has none worth testing.</summary>
    public static RegexGate? Build(string pattern, RegexOptions options)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (!LinearRegex.TryAtoms(pattern, options, out var atoms))
        {
            return null;
        }

        options &= RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline;
        var sets = new char[]?[atoms.Count];
        for (var a = 0; a < atoms.Count; a++)
        {
            sets[a] = CharacterSet(atoms[a].Text, options);
        }

        // The longest mandatory run.
        SearchValues<char>? runSet = null;
        var run = 0;
        for (var a = 0; a < atoms.Count; a++)
        {
            if (atoms[a].Min >= MinRun && atoms[a].Min > run && sets[a] is { } set)
            {
                run = atoms[a].Min;
                runSet = SearchValues.Create(set);
            }
        }

        // The rarest pair of consecutive mandatory atoms.
        var bestShare = MaxPairShare;
        var bestFirst = -1;
        for (var a = 0; a + 1 < atoms.Count; a++)
        {
            if (atoms[a].Min == 0 || atoms[a + 1].Min == 0 || sets[a] is not { } first || sets[a + 1] is not { } second)
            {
                continue;
            }

            var share = Share(first) * Share(second);
            if (share < bestShare)
            {
                bestShare = share;
                bestFirst = a;
            }
        }

        SearchValues<char>? scan = null, neighbour = null;
        var follows = false;
        if (bestFirst >= 0)
        {
            var first = sets[bestFirst]!;
            var second = sets[bestFirst + 1]!;
            follows = Share(first) <= Share(second);
            scan = SearchValues.Create(follows ? first : second);
            neighbour = SearchValues.Create(follows ? second : first);
        }

        return runSet is null && scan is null ? null : new RegexGate(runSet, run, scan, neighbour, follows);
    }

    /// <summary>False when <paramref name="text"/> cannot match the regex.</summary>
    public bool MayMatch(ReadOnlySpan<char> text)
    {
        if (_runSet is not null && !HasRun(text, _runSet, _run))
        {
            return false;
        }

        return _scan is null || HasPair(text);
    }

    private static bool HasRun(ReadOnlySpan<char> text, SearchValues<char> set, int run)
    {
        // A run of `run` characters covers exactly one position p with p % run == run - 1.
        var p = run - 1;
        while (p < text.Length)
        {
            if (!set.Contains(text[p]))
            {
                p += run;
                continue;
            }

            var start = p;
            while (start > 0 && p - start < run - 1 && set.Contains(text[start - 1]))
            {
                start--;
            }

            var end = p + 1;
            while (end < text.Length && set.Contains(text[end]))
            {
                end++;
            }

            if (end - start >= run)
            {
                return true;
            }

            // The run around p is too short; the next candidate lies past its end.
            p += run;
            while (p < end)
            {
                p += run;
            }
        }

        return false;
    }

    private bool HasPair(ReadOnlySpan<char> text)
    {
        var scan = _scan!;
        var neighbour = _neighbour!;
        var offset = 0;
        while (true)
        {
            var i = text[offset..].IndexOfAny(scan);
            if (i < 0)
            {
                return false;
            }

            i += offset;
            if (_neighbourFollows ? i + 1 < text.Length && neighbour.Contains(text[i + 1]) : i > 0 && neighbour.Contains(text[i - 1]))
            {
                return true;
            }

            offset = i + 1;
        }
    }

    /// <summary>Most atoms whose character sets are kept (a rule set has a few hundred distinct ones).</summary>
    private const int MaxCachedSets = 4096;

    /// <summary>
    /// Character sets already worked out, by atom and options: a gate and the implied literals of the same
    /// pattern read the same atoms, and rules repeat classes such as <c>[a-zA-Z0-9]</c>. The arrays are shared
    /// and never written.
    /// </summary>
    private static readonly ConcurrentDictionary<(string Atom, RegexOptions Options), char[]?> Sets = new();

    /// <summary>Every code unit the one-character <paramref name="atom"/> matches, or null when there are more than <see cref="MaxSet"/>.</summary>
    internal static char[]? CharacterSet(string atom, RegexOptions options)
    {
        if (Sets.TryGetValue((atom, options), out var known))
        {
            return known;
        }

        var set = ComputeCharacterSet(atom, options);
        if (Sets.Count < MaxCachedSets)
        {
            Sets.TryAdd((atom, options), set);
        }

        return set;
    }

    private static char[]? ComputeCharacterSet(string atom, RegexOptions options)
    {
        Regex regex;
        try
        {
            regex = new Regex(atom, options);
        }
        catch (ArgumentException)
        {
            return null;
        }

        var set = new List<char>();
        foreach (var m in regex.EnumerateMatches(LinearRegex.AllCharacters))
        {
            if (m.Length != 1 || set.Count == MaxSet)
            {
                return null;
            }

            set.Add(LinearRegex.AllCharacters[m.Index]);
        }

        return set.Count == 0 ? null : [.. set];
    }

    /// <summary>Rough share of positions of Windows paths and command lines holding one of <paramref name="set"/>.</summary>
    private static double Share(char[] set)
    {
        var share = 0.0;
        foreach (var c in set)
        {
            // The rank is for lower-cased text; an upper-case letter of original text is rarer than its rank says.
            share += GramMatcher.Commonness(c) * 0.0035;
        }

        return Math.Min(share, 1.0);
    }
}
