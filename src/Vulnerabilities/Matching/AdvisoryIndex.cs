using System.Buffers;
using System.Text.Json;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Cvss;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Vulnerabilities.Matching;

/// <summary>
/// An immutable, thread-safe index of advisories keyed by (ecosystem, normalised package name).
/// Matching evaluates OSV <c>SEMVER</c> and <c>ECOSYSTEM</c> ranges with the ecosystem's version
/// scheme (<see cref="VersionSchemes"/>) and the explicit <c>versions</c> lists; <c>GIT</c> ranges are
/// reported as not applicable. Withdrawn advisories are never indexed. Advisories linked through
/// aliases give one <see cref="Finding"/> per vulnerability, with KEV and EPSS attached by CVE id.
/// </summary>
public sealed class AdvisoryIndex
{
    private const int MaxStackKey = 256;
    private const char KeySeparator = '\0';
    private const int MinParallelComponents = 256;

    [ThreadStatic]
    private static MatchScratch? _scratch;

    private readonly Dictionary<string, Bucket> _byPackage;
    private readonly Dictionary<string, Bucket>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly AdvisoryInfo[] _advisories;
    private readonly Cluster[] _clusters;
    private readonly KevCatalog? _kev;
    private readonly EpssScores? _epss;

    private AdvisoryIndex(Dictionary<string, Bucket> byPackage, AdvisoryInfo[] advisories, Cluster[] clusters, int withdrawn, int duplicates, KevCatalog? kev, EpssScores? epss)
    {
        _byPackage = byPackage;
        _lookup = byPackage.GetAlternateLookup<ReadOnlySpan<char>>();
        _advisories = advisories;
        _clusters = clusters;
        _kev = kev;
        _epss = epss;
        WithdrawnCount = withdrawn;
        DuplicateCount = duplicates;
    }

    /// <summary>How many advisories are indexed (withdrawn and duplicate ids excluded).</summary>
    public int AdvisoryCount => _advisories.Length;

    /// <summary>How many withdrawn advisories were left out.</summary>
    public int WithdrawnCount { get; }

    /// <summary>How many advisories were left out because an earlier one had the same id.</summary>
    public int DuplicateCount { get; }

    /// <summary>How many distinct (ecosystem, package) keys the index has.</summary>
    public int PackageCount => _byPackage.Count;

    /// <summary>How many vulnerability clusters (advisories linked by aliases) the index has.</summary>
    public int ClusterCount => _clusters.Length;

    /// <summary>Builds an index. Withdrawn advisories are skipped; for a repeated id the first advisory wins.</summary>
    /// <param name="advisories">The advisories.</param>
    /// <param name="kev">The KEV catalogue to attach to findings by CVE alias; optional.</param>
    /// <param name="epss">The EPSS scores to attach to findings by CVE alias; optional.</param>
    /// <returns>The index.</returns>
    public static AdvisoryIndex Build(IEnumerable<OsvAdvisory> advisories, KevCatalog? kev = null, EpssScores? epss = null)
    {
        ArgumentNullException.ThrowIfNull(advisories);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<OsvAdvisory>();
        int withdrawn = 0, duplicates = 0;
        foreach (var a in advisories)
        {
            if (a.IsWithdrawn)
            {
                withdrawn++;
            }
            else if (!seen.Add(a.Id))
            {
                duplicates++;
            }
            else
            {
                kept.Add(a);
            }
        }

        var (clusterOf, clusters) = BuildClusters(kept);
        var infos = new AdvisoryInfo[kept.Count];
        var map = new Dictionary<string, List<Entry>>(StringComparer.Ordinal);
        var semver = VersionSchemes.For("semver");
        for (var i = 0; i < kept.Count; i++)
        {
            var advisory = kept[i];
            infos[i] = new AdvisoryInfo(advisory, clusterOf[i], BestCvss(advisory), DatabaseSeverity(advisory.DatabaseSpecific));
            foreach (var affected in advisory.Affected)
            {
                if (affected.Package is not { } package)
                {
                    continue;
                }

                var ecosystem = Ecosystems.CanonicalName(package.Ecosystem, out var release);
                var scheme = VersionSchemes.For(ecosystem);
                var ranges = new CompiledRange[affected.Ranges.Count];
                for (var r = 0; r < ranges.Length; r++)
                {
                    var range = affected.Ranges[r];
                    ranges[r] = CompiledRange.Create(range, range.Type == OsvRangeType.Semver ? semver : scheme);
                }

                var versions = new string[affected.Versions.Count];
                for (var v = 0; v < versions.Length; v++)
                {
                    versions[v] = Ecosystems.NormalizeVersion(ecosystem, affected.Versions[v]);
                }

                var key = Key(ecosystem, package.Name);
                if (!map.TryGetValue(key, out var list))
                {
                    map[key] = list = [];
                }

                var entry = new Entry(i, clusterOf[i], package.Ecosystem, release, package.Name, scheme, ranges, versions);
                entry.NotApplicable = NotApplicableNote(entry, advisory.Id);
                list.Add(entry);
            }
        }

        var byPackage = new Dictionary<string, Bucket>(map.Count, StringComparer.Ordinal);
        foreach (var (key, list) in map)
        {
            // Group a package's entries by cluster (stable: document order within a cluster) so the
            // matches of one vulnerability are adjacent at match time.
            var entries = list.ToArray();
            var sequence = new int[entries.Length];
            for (var e = 0; e < sequence.Length; e++)
            {
                sequence[e] = e;
            }

            Array.Sort(sequence, entries, Comparer<int>.Create((a, b) =>
            {
                var c = infos[list[a].Advisory].Cluster.CompareTo(infos[list[b].Advisory].Cluster);
                return c != 0 ? c : a.CompareTo(b);
            }));
            byPackage[key] = Bucket.Create(entries);
        }

        if (kev is not null || epss is not null)
        {
            foreach (var cluster in clusters)
            {
                cluster.AttachFeeds(kev, epss);
            }
        }

        return new AdvisoryIndex(byPackage, infos, clusters, withdrawn, duplicates, kev, epss);
    }

    /// <summary>Matches a component given as a package URL; its version is required.</summary>
    /// <param name="purl">The package URL; the type picks the OSV ecosystem (see <see cref="Ecosystems.FromPurl"/>).</param>
    /// <returns>The findings; empty with a not-applicable note when the purl has no version.</returns>
    public MatchResult Match(PackageUrl purl)
    {
        ArgumentNullException.ThrowIfNull(purl);
        return Match(Ecosystems.FromPurl(purl), Ecosystems.PackageName(purl), purl.Version ?? string.Empty);
    }

    /// <summary>
    /// Matches many components, spread over the machine's cores in contiguous chunks (the index is
    /// immutable, so matching needs no locks). Results are in the order of <paramref name="components"/>.
    /// </summary>
    /// <param name="components">The components to match.</param>
    /// <param name="maxDegreeOfParallelism">Most threads to use; -1 for one per core, 1 to match on the calling thread.</param>
    /// <param name="cancellationToken">Stops between chunks.</param>
    /// <returns>One result per component, same order.</returns>
    public MatchResult[] MatchAll(IReadOnlyList<ComponentQuery> components, int maxDegreeOfParallelism = -1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(components);
        var results = new MatchResult[components.Count];
        var threads = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;
        if (threads <= 1 || components.Count < MinParallelComponents)
        {
            for (var i = 0; i < results.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                results[i] = MatchQuery(components[i]);
            }

            return results;
        }

        // Several chunks per thread so one chunk of heavy packages (hundreds of advisories) cannot leave a core idle.
        var chunk = Math.Max(MinParallelComponents / 4, components.Count / (threads * 8));
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken };
        Parallel.For(0, (components.Count + chunk - 1) / chunk, options, c =>
        {
            var end = Math.Min(components.Count, (c + 1) * chunk);
            for (var i = c * chunk; i < end; i++)
            {
                results[i] = MatchQuery(components[i]);
            }
        });
        return results;
    }

    private MatchResult MatchQuery(ComponentQuery query) =>
        query.Purl is { } purl ? Match(purl) : Match(query.Ecosystem ?? string.Empty, query.Name ?? string.Empty, query.Version ?? string.Empty);

    /// <summary>Matches a component by ecosystem, name and version.</summary>
    /// <param name="ecosystem">The OSV ecosystem (any case) or, for distributions, <c>Debian:12</c> to restrict to one release.</param>
    /// <param name="name">The package name as the ecosystem spells it (Maven <c>group:artifact</c>).</param>
    /// <param name="version">The installed version. Go's <c>v</c> and <c>go</c> prefixes are accepted.</param>
    /// <returns>One finding per vulnerability; advisories that cannot be evaluated are listed as not applicable.</returns>
    public MatchResult Match(string ecosystem, string name, string version)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(version);
        var canonical = Ecosystems.CanonicalName(ecosystem, out var release);

        // Decide cheaply before allocating: look the package up through a stack-built key.
        var keyLength = canonical.Length + 1 + name.Length;
        char[]? rented = null;
        var buffer = keyLength <= MaxStackKey ? stackalloc char[MaxStackKey] : (rented = ArrayPool<char>.Shared.Rent(keyLength));
        canonical.CopyTo(buffer);
        buffer[canonical.Length] = KeySeparator;
        var n = canonical.Length + 1 + Ecosystems.NormalizeName(canonical, name, buffer[(canonical.Length + 1)..]);
        var found = _lookup.TryGetValue(buffer[..n], out var bucket);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        if (!found || bucket is null)
        {
            return MatchResult.Empty;
        }

        var entries = bucket.Entries;

        var v = Ecosystems.NormalizeVersion(canonical, version);
        if (v.Length == 0)
        {
            var skipped = new List<NotApplicable>(entries.Length);
            foreach (var e in entries)
            {
                skipped.Add(new NotApplicable(_advisories[e.Advisory].Advisory.Id, "the component has no version to compare"));
            }

            return new MatchResult([], skipped);
        }

        var position = bucket.PositionOf(v);

        // Entries are grouped by cluster and the clusters numbered in id order (see Build), so the
        // matches of one vulnerability are adjacent and findings come out sorted without a sort.
        // The matched entries and fixes of the current cluster are collected in per-thread buffers; a
        // finding keeps only what it needs and builds its explanations when they are read.
        var scratch = _scratch ??= new MatchScratch();
        var findings = scratch.Findings;
        var hits = scratch.Hits;
        var fixes = scratch.Fixes;
        findings.Clear();
        hits.Clear();
        fixes.Clear();
        List<NotApplicable>? notApplicable = null;
        MatchedComponent? component = null;
        var cluster = -1;
        try
        {
            var bounds = bucket.SpanBounds;
            var spans = bucket.Spans;
            for (var e = 0; e < entries.Length; e++)
            {
                if (release is not null && entries[e].Release is { } entryRelease && !string.Equals(release, entryRelease, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                // Most entries are decided by scanning their affected spans on the version line (integers, one
                // array per package); an entry with a range compared as strings takes the general path.
                var hit = false;
                string[]? fix = null;
                var from = bounds[2 * e];
                if (from >= 0)
                {
                    var to = bounds[(2 * e) + 1];
                    for (var x = from; x < to; x += 2)
                    {
                        if (position >= spans[x] && position < spans[x + 1])
                        {
                            hit = true;
                            fix = bucket.SpanFixes[x >> 1];
                            break;
                        }
                    }

                    if (!hit && from == to && entries[e].NotApplicable is { } never)
                    {
                        (notApplicable ??= []).Add(never);
                    }
                }
                else
                {
                    var entry = entries[e];
                    hit = Evaluate(entry, _advisories[entry.Advisory].Advisory, v, position, explain: false, out _, out fix);
                    if (!hit && entry.NotApplicable is { } na)
                    {
                        (notApplicable ??= []).Add(na);
                    }
                }

                if (!hit)
                {
                    continue;
                }

                var matched = entries[e];
                if (cluster != matched.Cluster)
                {
                    if (cluster >= 0)
                    {
                        component ??= new MatchedComponent(this, canonical, name, version, v, position);
                        findings.Add(ToFinding(component, cluster, hits, fixes, entries[0].Scheme));
                    }

                    cluster = matched.Cluster;
                    hits.Clear();
                    fixes.Clear();
                }

                hits.Add(matched);
                if (fix is not null && !ContainsFix(fixes, fix[0]))
                {
                    fixes.Add(fix);
                }
            }

            if (cluster >= 0)
            {
                component ??= new MatchedComponent(this, canonical, name, version, v, position);
                findings.Add(ToFinding(component, cluster, hits, fixes, entries[0].Scheme));
            }

            if (findings.Count == 0)
            {
                return notApplicable is null ? MatchResult.Empty : new MatchResult([], notApplicable);
            }

            return new MatchResult(findings.ToArray(), notApplicable ?? (IReadOnlyList<NotApplicable>)[]);
        }
        finally
        {
            findings.Clear();
            hits.Clear();
            fixes.Clear();
        }
    }

    private static bool ContainsFix(List<string[]> fixes, string version)
    {
        foreach (var f in fixes)
        {
            if (string.Equals(f[0], version, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether an entry affects the version, and its fix as a one-element list shared with the range. With
    /// <paramref name="explain"/> the explanation is built too; a finding does so when its explanations are read.
    /// </summary>
    private static bool Evaluate(Entry entry, OsvAdvisory advisory, string version, int position, bool explain, out MatchExplanation? explanation, out string[]? fix)
    {
        explanation = null;
        fix = null;
        var git = false;
        foreach (var range in entry.Ranges)
        {
            if (range.Type is OsvRangeType.Git or OsvRangeType.Unknown)
            {
                git |= range.Type == OsvRangeType.Git;
                continue;
            }

            string introduced;
            int closedAt;
            var inside = range.Positions is null
                ? range.Includes(version, out introduced, out closedAt)
                : range.IncludesAt(position, out introduced, out closedAt);
            if (inside)
            {
                fix = closedAt >= 0 ? range.FixedLists[closedAt] : null;
                if (explain)
                {
                    explanation = new MatchExplanation(advisory.Id, advisory.Source, entry.Ecosystem, entry.PackageName, version, MatchReason.Range, range.Type, introduced,
                        closedAt >= 0 ? range.Events[closedAt] : null, range.Comparer.Name, git);
                }

                return true;
            }
        }

        // Only an exact position (odd) can be a listed version.
        if ((position & 1) == 1 && Array.BinarySearch(entry.VersionPositions, position) >= 0)
        {
            fix = FirstFixAbove(entry, version, position);
            if (explain)
            {
                explanation = new MatchExplanation(advisory.Id, advisory.Source, entry.Ecosystem, entry.PackageName, version, MatchReason.ExplicitVersion, null, null, null, entry.Scheme.Name,
                    git || HasGit(entry));
            }

            return true;
        }

        return false;
    }

    /// <summary>The note for an entry that can never be evaluated against a version (no SEMVER or ECOSYSTEM range, no versions); null otherwise.</summary>
    private static NotApplicable? NotApplicableNote(Entry entry, string advisoryId)
    {
        if (entry.Versions.Length > 0)
        {
            return null;
        }

        foreach (var range in entry.Ranges)
        {
            if (range.Type is not (OsvRangeType.Git or OsvRangeType.Unknown))
            {
                return null;
            }
        }

        return new NotApplicable(advisoryId, HasGit(entry)
            ? "only GIT ranges (commit hashes), which cannot be compared with a package version"
            : "no SEMVER or ECOSYSTEM range and no affected versions");
    }

    private static bool HasGit(Entry entry)
    {
        foreach (var range in entry.Ranges)
        {
            if (range.Type == OsvRangeType.Git)
            {
                return true;
            }
        }

        return false;
    }

    private static string[]? FirstFixAbove(Entry entry, string version, int position)
    {
        foreach (var range in entry.Ranges)
        {
            if (range.Type is OsvRangeType.Git or OsvRangeType.Unknown)
            {
                continue;
            }

            var fix = range.Positions is not null ? range.FirstFixAbove(position) : range.FirstFixAbove(version);
            if (fix >= 0)
            {
                return range.FixedLists[fix];
            }
        }

        return null;
    }

    /// <summary>The explanations of a finding's matched entries (<see cref="Finding.Explanations"/>), evaluated again as the match did.</summary>
    internal IReadOnlyList<MatchExplanation> Explain(MatchedComponent component, object hits)
    {
        if (hits is Entry single)
        {
            return [ExplainOne(single)];
        }

        var entries = (Entry[])hits;
        var explanations = new MatchExplanation[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            explanations[i] = ExplainOne(entries[i]);
        }

        return explanations;

        MatchExplanation ExplainOne(Entry entry) =>
            Evaluate(entry, _advisories[entry.Advisory].Advisory, component.NormalizedVersion, component.Position, explain: true, out var explanation, out _)
                ? explanation!
                : throw new InvalidOperationException($"{_advisories[entry.Advisory].Advisory.Id} matched {component.Name} {component.Version} but no longer explains it.");
    }

    private Finding ToFinding(MatchedComponent component, int clusterIndex, List<Entry> hits, List<string[]> fixes, IVersionComparer scheme)
    {
        Facts facts;
        object matched;
        if (hits.Count == 1)
        {
            facts = _advisories[hits[0].Advisory].Facts;
            matched = hits[0];
        }
        else
        {
            matched = hits.ToArray();
            facts = MergedFacts(hits);
        }

        IReadOnlyList<string> fixedVersions;
        if (fixes.Count == 0)
        {
            fixedVersions = [];
        }
        else if (fixes.Count == 1)
        {
            fixedVersions = fixes[0];
        }
        else
        {
            var versions = new string[fixes.Count];
            for (var i = 0; i < versions.Length; i++)
            {
                versions[i] = fixes[i][0];
            }

            Array.Sort(versions, scheme);
            fixedVersions = versions;
        }

        return new Finding(component, _clusters[clusterIndex], facts, fixedVersions, matched);
    }

    /// <summary>The facts of a finding made by several entries: each advisory once (in match order), the first summary, the best CVSS.</summary>
    private Facts MergedFacts(List<Entry> hits)
    {
        var first = hits[0].Advisory;
        var distinct = 1;
        for (var i = 1; i < hits.Count; i++)
        {
            if (hits[i].Advisory != first && IndexOfAdvisory(hits, i) == i)
            {
                distinct++;
            }
        }

        if (distinct == 1)
        {
            return _advisories[first].Facts;
        }

        var ids = new string[distinct];
        string? summary = null;
        CvssScore? best = null;
        string? dbSeverity = null;
        var n = 0;
        for (var i = 0; i < hits.Count; i++)
        {
            if (IndexOfAdvisory(hits, i) != i)
            {
                continue;
            }

            var info = _advisories[hits[i].Advisory];
            ids[n++] = info.Advisory.Id;
            summary ??= info.Facts.Summary;
            if (info.Cvss is not null && (best is null || IsBetter(info.Cvss, best)))
            {
                best = info.Cvss;
            }

            dbSeverity ??= info.DatabaseSeverity;
        }

        return new Facts(ids, summary, best, best?.Severity ?? dbSeverity ?? "Unknown");

        // The first position at which hit i's advisory appears.
        static int IndexOfAdvisory(List<Entry> hits, int i)
        {
            for (var j = 0; j < i; j++)
            {
                if (hits[j].Advisory == hits[i].Advisory)
                {
                    return j;
                }
            }

            return i;
        }
    }

    private static bool IsBetter(CvssScore candidate, CvssScore current)
    {
        var byVersion = string.CompareOrdinal(candidate.Version, current.Version);
        return byVersion > 0 || (byVersion == 0 && candidate.Score > current.Score);
    }

    private static CvssScore? BestCvss(OsvAdvisory advisory)
    {
        CvssScore? best = null;
        Consider(advisory.Severity, ref best);
        foreach (var affected in advisory.Affected)
        {
            Consider(affected.Severity, ref best);
        }

        return best;

        static void Consider(IReadOnlyList<OsvSeverity> severities, ref CvssScore? best)
        {
            foreach (var s in severities)
            {
                if (s.Type.StartsWith("CVSS_", StringComparison.Ordinal)
                    && CvssCalculator.TryParse(s.Score, out var score, out _)
                    && (best is null || IsBetter(score, best)))
                {
                    best = score;
                }
            }
        }
    }

    private static string? DatabaseSeverity(JsonElement? databaseSpecific)
    {
        if (databaseSpecific is not { ValueKind: JsonValueKind.Object } obj
            || !obj.TryGetProperty("severity", out var severity)
            || severity.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        return severity.GetString()?.Trim().ToUpperInvariant() switch
        {
            "CRITICAL" => "Critical",
            "HIGH" => "High",
            "MODERATE" or "MEDIUM" => "Medium",
            "LOW" => "Low",
            _ => null,
        };
    }

    private static string Key(string canonicalEcosystem, string name) =>
        string.Concat(canonicalEcosystem, "\0", Ecosystems.NormalizeName(canonicalEcosystem, name));

    /// <summary>Links advisories that share an id or alias (union-find) and picks each cluster's preferred id.</summary>
    private static (int[] ClusterOf, Cluster[] Clusters) BuildClusters(List<OsvAdvisory> advisories)
    {
        var node = new Dictionary<string, int>(advisories.Count * 2, StringComparer.Ordinal);
        var parent = new List<int>(advisories.Count * 2);
        int NodeOf(string id)
        {
            if (!node.TryGetValue(id, out var n))
            {
                n = parent.Count;
                node[id] = n;
                parent.Add(n);
            }

            return n;
        }

        int Find(int x)
        {
            while (parent[x] != x)
            {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }

            return x;
        }

        var advisoryNode = new int[advisories.Count];
        for (var i = 0; i < advisories.Count; i++)
        {
            var a = advisories[i];
            var root = advisoryNode[i] = NodeOf(a.Id);
            foreach (var alias in a.Aliases)
            {
                var other = Find(NodeOf(alias));
                var mine = Find(root);
                if (other != mine)
                {
                    parent[other] = mine;
                }
            }
        }

        var clusterOfRoot = new Dictionary<int, int>();
        var members = new List<List<string>>();
        foreach (var (id, n) in node)
        {
            var root = Find(n);
            if (!clusterOfRoot.TryGetValue(root, out var c))
            {
                c = members.Count;
                clusterOfRoot[root] = c;
                members.Add([]);
            }

            members[c].Add(id);
        }

        var clusters = new Cluster[members.Count];
        for (var c = 0; c < clusters.Length; c++)
        {
            var ids = members[c].ToArray();
            Array.Sort(ids, StringComparer.Ordinal);
            var cves = new List<string>();
            string? ghsa = null;
            foreach (var id in ids)
            {
                if (id.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase))
                {
                    cves.Add(id);
                }
                else if (ghsa is null && id.StartsWith("GHSA-", StringComparison.OrdinalIgnoreCase))
                {
                    ghsa = id;
                }
            }

            clusters[c] = new Cluster(cves.Count > 0 ? cves[0] : ghsa ?? ids[0], ids, [.. cves]);
        }

        // Number clusters in the ordinal order of their preferred ids: findings are then emitted sorted.
        var order = new int[clusters.Length];
        for (var c = 0; c < order.Length; c++)
        {
            order[c] = c;
        }

        Array.Sort(order, (a, b) => string.CompareOrdinal(clusters[a].PreferredId, clusters[b].PreferredId));
        var rank = new int[clusters.Length];
        var sorted = new Cluster[clusters.Length];
        for (var r = 0; r < order.Length; r++)
        {
            rank[order[r]] = r;
            sorted[r] = clusters[order[r]];
        }

        var clusterOf = new int[advisories.Count];
        for (var i = 0; i < clusterOf.Length; i++)
        {
            clusterOf[i] = rank[clusterOfRoot[Find(advisoryNode[i])]];
        }

        return (clusterOf, sorted);
    }

    private sealed record AdvisoryInfo(OsvAdvisory Advisory, int Cluster, CvssScore? Cvss, string? DatabaseSeverity)
    {
        /// <summary>The facts of a finding that only this advisory explains, shared by every such finding.</summary>
        public Facts Facts { get; } = new([Advisory.Id], string.IsNullOrWhiteSpace(Advisory.Summary) ? null : Advisory.Summary, Cvss, Cvss?.Severity ?? DatabaseSeverity ?? "Unknown");
    }

    /// <summary>A vulnerability: advisories linked by ids and aliases, with the KEV entry and EPSS score of its CVE ids.</summary>
    internal sealed class Cluster(string preferredId, string[] ids, string[] cveIds)
    {
        public string PreferredId { get; } = preferredId;

        public string[] Ids { get; } = ids;

        public string[] CveIds { get; } = cveIds;

        public KevEntry? Kev { get; private set; }

        public EpssScore? Epss { get; private set; }

        /// <summary>Looks the CVE ids up once, when the index is built: the first KEV entry, the highest EPSS score.</summary>
        public void AttachFeeds(KevCatalog? kev, EpssScores? epss)
        {
            foreach (var cve in CveIds)
            {
                Kev ??= kev?.Find(cve);
                if (epss is not null && epss.TryFind(cve, out var score) && (Epss is null || score.Probability > Epss.Value.Probability))
                {
                    Epss = score;
                }
            }
        }
    }

    /// <summary>What a finding reports about its advisories.</summary>
    internal sealed record Facts(string[] AdvisoryIds, string? Summary, CvssScore? Cvss, string Severity);

    /// <summary>The component of a match, shared by its findings: as queried, and its version as compared.</summary>
    internal sealed record MatchedComponent(AdvisoryIndex Index, string Ecosystem, string Name, string Version, string NormalizedVersion, int Position);

    internal sealed record Entry(int Advisory, int Cluster, string Ecosystem, string? Release, string PackageName, IVersionComparer Scheme, CompiledRange[] Ranges, string[] Versions)
    {
        /// <summary>Sorted positions of <see cref="Versions"/> on the bucket's ranked version line.</summary>
        public int[] VersionPositions { get; set; } = [];

        /// <summary>The not-applicable note when this entry can never be evaluated, made once when the index is built.</summary>
        public NotApplicable? NotApplicable { get; set; }
    }

    /// <summary>Per-thread buffers of a match, reused by every component matched on the thread.</summary>
    private sealed class MatchScratch
    {
        public List<Finding> Findings { get; } = [];

        public List<Entry> Hits { get; } = [];

        public List<string[]> Fixes { get; } = [];
    }

    /// <summary>
    /// The advisories of one (ecosystem, package) key and the package's version line: every version the
    /// advisories mention, sorted once by the ecosystem's scheme and ranked (equal versions share a rank).
    /// A queried version is placed on the line by one binary search; ranges and listed versions are then
    /// compared as integers: 2 × rank + 1 for a known version, 2 × rank for the gap before it.
    /// </summary>
    private sealed class Bucket
    {
        private Bucket(Entry[] entries, string[] points, IVersionComparer scheme, int[] spanBounds, int[] spans, string[]?[] spanFixes)
        {
            Entries = entries;
            Points = points;
            Scheme = scheme;
            SpanBounds = spanBounds;
            Spans = spans;
            SpanFixes = spanFixes;
        }

        public Entry[] Entries { get; }

        /// <summary>
        /// For entry e, <c>[2e]</c> and <c>[2e + 1]</c> delimit its spans in <see cref="Spans"/>; <c>[2e]</c> is -1 when the
        /// entry has a range compared as strings (not placed on the line) and is evaluated the general way.
        /// </summary>
        public int[] SpanBounds { get; }

        /// <summary>
        /// Affected spans on the version line, as pairs (from inclusive, to exclusive), each entry's in the order the
        /// general evaluation tries them: its ranges in document order, then its listed versions. The first span that
        /// holds a position decides, as the first range that includes the version does.
        /// </summary>
        public int[] Spans { get; }

        /// <summary>The fix of each span (<see cref="CompiledRange.FixedLists"/>), or null; index = span start / 2.</summary>
        public string[]?[] SpanFixes { get; }

        /// <summary>One representative version per rank, ascending.</summary>
        private string[] Points { get; }

        private IVersionComparer Scheme { get; }

        public static Bucket Create(Entry[] entries)
        {
            var scheme = entries[0].Scheme;
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                foreach (var v in entry.Versions)
                {
                    distinct.Add(v);
                }

                foreach (var range in entry.Ranges)
                {
                    if (ReferenceEquals(range.Comparer, scheme) && range.Type is OsvRangeType.Semver or OsvRangeType.Ecosystem)
                    {
                        foreach (var e in range.Events)
                        {
                            distinct.Add(e.Version);
                        }

                        foreach (var l in range.Limits)
                        {
                            distinct.Add(l);
                        }
                    }
                }
            }

            var sorted = distinct.ToArray();
            Array.Sort(sorted, scheme);
            var rankOf = new Dictionary<string, int>(sorted.Length, StringComparer.Ordinal);
            var points = new List<string>(sorted.Length);
            for (var i = 0; i < sorted.Length; i++)
            {
                if (i == 0 || scheme.Compare(sorted[i - 1], sorted[i]) != 0)
                {
                    points.Add(sorted[i]);
                }

                rankOf[sorted[i]] = points.Count - 1;
            }

            int PositionOf(string v) => (2 * rankOf[v]) + 1;
            foreach (var entry in entries)
            {
                var positions = new int[entry.Versions.Length];
                for (var i = 0; i < positions.Length; i++)
                {
                    positions[i] = PositionOf(entry.Versions[i]);
                }

                Array.Sort(positions);
                entry.VersionPositions = positions;
                foreach (var range in entry.Ranges)
                {
                    if (ReferenceEquals(range.Comparer, scheme) && range.Type is OsvRangeType.Semver or OsvRangeType.Ecosystem)
                    {
                        range.Rank(PositionOf);
                    }
                }
            }

            var bounds = new int[entries.Length * 2];
            var spans = new List<int>();
            var spanFixes = new List<string[]?>();
            for (var e = 0; e < entries.Length; e++)
            {
                var start = spans.Count;
                if (AddSpans(entries[e], spans, spanFixes))
                {
                    bounds[2 * e] = start;
                    bounds[(2 * e) + 1] = spans.Count;
                }
                else
                {
                    spans.RemoveRange(start, spans.Count - start);
                    spanFixes.RemoveRange(start / 2, spanFixes.Count - (start / 2));
                    bounds[2 * e] = -1;
                    bounds[(2 * e) + 1] = -1;
                }
            }

            return new Bucket(entries, [.. points], scheme, bounds, [.. spans], [.. spanFixes]);
        }

        /// <summary>
        /// The affected spans of an entry whose ranges are all on the line: each range's walk (see
        /// <see cref="CompiledRange.IncludesAt"/>) is constant between consecutive event positions (and the position
        /// after each, for <c>last_affected</c>, and limits), so it is evaluated once per such stretch. False when a
        /// range is compared as strings.
        /// </summary>
        private static bool AddSpans(Entry entry, List<int> spans, List<string[]?> fixes)
        {
            var cuts = new List<int>();
            foreach (var range in entry.Ranges)
            {
                if (range.Type is OsvRangeType.Git or OsvRangeType.Unknown)
                {
                    continue;
                }

                if (range.Positions is not { } positions)
                {
                    return false;
                }

                cuts.Clear();
                cuts.Add(int.MinValue);
                foreach (var p in positions)
                {
                    if (p != int.MinValue)
                    {
                        cuts.Add(p);
                        cuts.Add(p + 1);
                    }
                }

                cuts.AddRange(range.LimitPositionsOrEmpty);
                cuts.Sort();
                var rangeStart = spans.Count;
                for (var k = 0; k < cuts.Count; k++)
                {
                    if ((k > 0 && cuts[k] == cuts[k - 1]) || !range.IncludesAt(cuts[k], out _, out var closedAt))
                    {
                        continue;
                    }

                    var next = k + 1;
                    while (next < cuts.Count && cuts[next] == cuts[k])
                    {
                        next++;
                    }

                    var to = next < cuts.Count ? cuts[next] : int.MaxValue;
                    var fix = closedAt >= 0 ? range.FixedLists[closedAt] : null;
                    if (spans.Count > rangeStart && spans[^1] == cuts[k] && ReferenceEquals(fixes[^1], fix))
                    {
                        spans[^1] = to;
                    }
                    else
                    {
                        spans.Add(cuts[k]);
                        spans.Add(to);
                        fixes.Add(fix);
                    }
                }
            }

            foreach (var p in entry.VersionPositions)
            {
                spans.Add(p);
                spans.Add(p + 1);
                fixes.Add(FirstFixAbove(entry, string.Empty, p));
            }

            return true;
        }

        /// <summary>Places a version on the line: 2 × rank + 1 when it equals a known version, else 2 × (rank of the next one).</summary>
        public int PositionOf(string version)
        {
            int lo = 0, hi = Points.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (Scheme.Compare(Points[mid], version) < 0)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo < Points.Length && Scheme.Compare(Points[lo], version) == 0 ? (2 * lo) + 1 : 2 * lo;
        }
    }
}
