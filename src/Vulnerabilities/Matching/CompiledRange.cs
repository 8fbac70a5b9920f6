using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Vulnerabilities.Matching;

/// <summary>
/// A range with its events sorted by the version scheme (<c>introduced: "0"</c> first; at equal
/// versions closing events before <c>introduced</c>, then document order), evaluated as the OSV specification describes: walking the sorted events,
/// <c>introduced</c> at or below the version opens the interval, <c>fixed</c> at or below closes it,
/// <c>last_affected</c> below closes it; a version at or above any <c>limit</c> is outside.
/// </summary>
internal sealed class CompiledRange
{
    private CompiledRange(OsvRangeType type, string typeName, IVersionComparer comparer, OsvEvent[] events, string[] limits)
    {
        Type = type;
        TypeName = typeName;
        Comparer = comparer;
        Events = events;
        Limits = limits;
        FixedLists = new string[]?[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            if (events[i].Kind == OsvEventKind.Fixed)
            {
                FixedLists[i] = [events[i].Version];
            }
        }
    }

    /// <summary>
    /// For each <c>fixed</c> event, its version as a one-element list, shared by every finding whose only fix it
    /// is (so a match allocates no list for it); null for the other events.
    /// </summary>
    public string[]?[] FixedLists { get; }

    public OsvRangeType Type { get; }

    public string TypeName { get; }

    public IVersionComparer Comparer { get; }

    /// <summary>The introduced, fixed and last_affected events, sorted.</summary>
    public OsvEvent[] Events { get; }

    public string[] Limits { get; }

    /// <summary>
    /// Positions of <see cref="Events"/> on the package's ranked version line (2 × rank + 1; the
    /// zero <c>introduced</c> gets <see cref="int.MinValue"/>), or null when this range is compared as strings.
    /// </summary>
    public int[]? Positions { get; private set; }

    private int[]? LimitPositions { get; set; }

    /// <summary>Positions of <see cref="Limits"/> on the ranked line; empty before <see cref="Rank"/>.</summary>
    public int[] LimitPositionsOrEmpty => LimitPositions ?? [];

    /// <summary>Places the events on the package's ranked version line so matching compares integers.</summary>
    public void Rank(Func<string, int> positionOf)
    {
        var positions = new int[Events.Length];
        for (var i = 0; i < positions.Length; i++)
        {
            positions[i] = IsZero(Events[i]) ? int.MinValue : positionOf(Events[i].Version);
        }

        var limits = new int[Limits.Length];
        for (var i = 0; i < limits.Length; i++)
        {
            limits[i] = positionOf(Limits[i]);
        }

        Positions = positions;
        LimitPositions = limits;
    }

    /// <summary>
    /// Whether the version at <paramref name="position"/> on the ranked line is inside the range: the
    /// same walk as <see cref="Includes"/>, with integer comparisons.
    /// </summary>
    public bool IncludesAt(int position, out string introduced, out int closedAt)
    {
        var positions = Positions!;
        introduced = string.Empty;
        closedAt = -1;
        var affected = false;
        var opened = -1;
        for (var i = 0; i < positions.Length; i++)
        {
            var p = positions[i];
            if (p == int.MinValue)
            {
                affected = true;
                opened = i;
                continue;
            }

            if (position < p)
            {
                break;
            }

            switch (Events[i].Kind)
            {
                case OsvEventKind.Introduced:
                    affected = true;
                    opened = i;
                    break;
                case OsvEventKind.Fixed:
                    affected = false;
                    break;
                case OsvEventKind.LastAffected when position > p:
                    affected = false;
                    break;
            }
        }

        if (!affected)
        {
            return false;
        }

        foreach (var limit in LimitPositions!)
        {
            if (position >= limit)
            {
                return false;
            }
        }

        introduced = Events[opened].Version;
        closedAt = ClosingIndex(opened);
        return true;
    }

    /// <summary>The index of the first <c>fixed</c> event above <paramref name="position"/>, or -1.</summary>
    public int FirstFixAbove(int position)
    {
        var positions = Positions!;
        for (var i = 0; i < positions.Length; i++)
        {
            if (Events[i].Kind == OsvEventKind.Fixed && positions[i] > position)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The index of the first <c>fixed</c> event above <paramref name="version"/> compared as strings of the scheme, or -1.</summary>
    public int FirstFixAbove(string version)
    {
        for (var i = 0; i < Events.Length; i++)
        {
            if (Events[i].Kind == OsvEventKind.Fixed && Comparer.Compare(Events[i].Version, version) > 0)
            {
                return i;
            }
        }

        return -1;
    }

    public static CompiledRange Create(OsvRange range, IVersionComparer comparer)
    {
        var events = new List<(int Order, OsvEvent Event)>(range.Events.Count);
        var limits = new List<string>();
        var normalizeGo = comparer.Name == "SemVer";
        for (var i = 0; i < range.Events.Count; i++)
        {
            var e = range.Events[i];
            if (range.Type is OsvRangeType.Semver or OsvRangeType.Ecosystem && normalizeGo && e.Version.Length > 1 && e.Version[0] == 'v' && char.IsAsciiDigit(e.Version[1]))
            {
                e = e with { Version = e.Version[1..] };
            }

            if (e.Kind == OsvEventKind.Limit)
            {
                limits.Add(e.Version);
            }
            else
            {
                events.Add((i, e));
            }
        }

        if (range.Type is OsvRangeType.Semver or OsvRangeType.Ecosystem)
        {
            events.Sort((a, b) =>
            {
                var az = IsZero(a.Event);
                var bz = IsZero(b.Event);
                var c = az || bz ? (az == bz ? 0 : az ? -1 : 1) : comparer.Compare(a.Event.Version, b.Event.Version);
                if (c != 0)
                {
                    return c;
                }

                // At the same version a closing event goes first, so an interval that reopens there stays affected.
                var ak = a.Event.Kind == OsvEventKind.Introduced ? 1 : 0;
                var bk = b.Event.Kind == OsvEventKind.Introduced ? 1 : 0;
                return ak != bk ? ak - bk : a.Order.CompareTo(b.Order);
            });
        }

        var sorted = new OsvEvent[events.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = events[i].Event;
        }

        return new CompiledRange(range.Type, range.TypeName, comparer, sorted, [.. limits]);
    }

    /// <summary>Whether <paramref name="version"/> is inside the range; on success gives the opening and closing events.</summary>
    public bool Includes(string version, out string introduced, out int closedAt)
    {
        introduced = string.Empty;
        closedAt = -1;
        var affected = false;
        var opened = -1;
        for (var i = 0; i < Events.Length; i++)
        {
            var e = Events[i];
            if (e.Kind == OsvEventKind.Introduced && IsZero(e))
            {
                affected = true;
                opened = i;
                continue;
            }

            var c = Comparer.Compare(version, e.Version);
            if (c < 0)
            {
                // Events are sorted: none of the rest can apply.
                break;
            }

            switch (e.Kind)
            {
                case OsvEventKind.Introduced:
                    affected = true;
                    opened = i;
                    break;
                case OsvEventKind.Fixed:
                    affected = false;
                    break;
                case OsvEventKind.LastAffected when c > 0:
                    affected = false;
                    break;
            }
        }

        if (!affected)
        {
            return false;
        }

        foreach (var limit in Limits)
        {
            if (Comparer.Compare(version, limit) >= 0)
            {
                return false;
            }
        }

        introduced = Events[opened].Version;
        closedAt = ClosingIndex(opened);
        return true;
    }

    private int ClosingIndex(int opened)
    {
        for (var i = opened + 1; i < Events.Length; i++)
        {
            if (Events[i].Kind is OsvEventKind.Fixed or OsvEventKind.LastAffected)
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsZero(OsvEvent e) => e.Kind == OsvEventKind.Introduced && e.Version == "0";
}
