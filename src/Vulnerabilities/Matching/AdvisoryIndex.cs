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

                list.Add(new Entry(i, package.Ecosystem, release, package.Name, scheme, ranges, versions));
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
        List<Finding>? findings = null;
        List<NotApplicable>? notApplicable = null;
        var builder = new ClusterBuilder(entries[0].Scheme);
        foreach (var entry in entries)
        {
            if (release is not null && entry.Release is not null && !string.Equals(release, entry.Release, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var info = _advisories[entry.Advisory];
            if (!TryExplain(entry, info.Advisory, v, position, out var explanation, out var fixedVersion, out var unevaluable))
            {
                if (unevaluable is not null)
                {
                    (notApplicable ??= []).Add(new NotApplicable(info.Advisory.Id, unevaluable));
                }

                continue;
            }

            if (builder.Cluster != info.Cluster)
            {
                if (builder.Cluster >= 0)
                {
                    (findings ??= []).Add(ToFinding(builder, canonical, name, version));
                }

                builder.Reset(info.Cluster);
            }

            builder.Add(entry.Advisory, explanation, fixedVersion);
        }

        if (builder.Cluster >= 0)
        {
            (findings ??= []).Add(ToFinding(builder, canonical, name, version));
        }

        if (findings is null)
        {
            return notApplicable is null ? MatchResult.Empty : new MatchResult([], notApplicable);
        }

        return new MatchResult(findings, notApplicable ?? (IReadOnlyList<NotApplicable>)[]);
    }

    private static bool TryExplain(Entry entry, OsvAdvisory advisory, string version, int position, out MatchExplanation explanation, out string? fixedVersion, out string? unevaluable)
    {
        explanation = null!;
        fixedVersion = null;
        unevaluable = null;
        var evaluable = entry.VersionPositions.Length > 0;
        var git = false;
        foreach (var range in entry.Ranges)
        {
            if (range.Type is OsvRangeType.Git or OsvRangeType.Unknown)
            {
                git |= range.Type == OsvRangeType.Git;
                continue;
            }

            evaluable = true;
            string introduced;
            OsvEvent? closedBy;
            var inside = range.Positions is null
                ? range.Includes(version, out introduced, out closedBy)
                : range.IncludesAt(position, out introduced, out closedBy);
            if (inside)
            {
                fixedVersion = closedBy is { Kind: OsvEventKind.Fixed } ? closedBy.Version : null;
                explanation = new MatchExplanation(advisory.Id, advisory.Source, entry.Ecosystem, entry.PackageName, version, MatchReason.Range, range.Type, introduced, closedBy, range.Comparer.Name, git);
                return true;
            }
        }

        // Only an exact position (odd) can be a listed version.
        if ((position & 1) == 1 && Array.BinarySearch(entry.VersionPositions, position) >= 0)
        {
            fixedVersion = FirstFixAbove(entry, version, position);
            explanation = new MatchExplanation(advisory.Id, advisory.Source, entry.Ecosystem, entry.PackageName, version, MatchReason.ExplicitVersion, null, null, null, entry.Scheme.Name, git || HasGit(entry));
            return true;
        }

        if (!evaluable)
        {
            unevaluable = git
                ? "only GIT ranges (commit hashes), which cannot be compared with a package version"
                : "no SEMVER or ECOSYSTEM range and no affected versions";
        }

        return false;
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

    private static string? FirstFixAbove(Entry entry, string version, int position)
    {
        foreach (var range in entry.Ranges)
        {
            if (range.Type is OsvRangeType.Git or OsvRangeType.Unknown)
            {
                continue;
            }

            if (range.Positions is not null)
            {
                if (range.FirstFixAbove(position) is { } fix)
                {
                    return fix;
                }

                continue;
            }

            foreach (var e in range.Events)
            {
                if (e.Kind == OsvEventKind.Fixed && range.Comparer.Compare(e.Version, version) > 0)
                {
                    return e.Version;
                }
            }
        }

        return null;
    }

    private Finding ToFinding(ClusterBuilder builder, string ecosystem, string name, string version)
    {
        var cluster = _clusters[builder.Cluster];
        var count = builder.AdvisoryCount;
        var ids = count == 1 ? _advisories[builder.AdvisoryAt(0)].IdArray : new string[count];
        string? summary = null;
        CvssScore? best = null;
        string? dbSeverity = null;
        for (var i = 0; i < ids.Length; i++)
        {
            var info = _advisories[builder.AdvisoryAt(i)];
            if (count > 1)
            {
                ids[i] = info.Advisory.Id;
            }

            summary ??= string.IsNullOrWhiteSpace(info.Advisory.Summary) ? null : info.Advisory.Summary;
            if (info.Cvss is not null && (best is null || IsBetter(info.Cvss, best)))
            {
                best = info.Cvss;
            }

            dbSeverity ??= info.DatabaseSeverity;
        }

        var fixedVersions = builder.FixedVersions();
        KevEntry? kev = null;
        EpssScore? epss = null;
        foreach (var cve in cluster.CveIds)
        {
            kev ??= _kev?.Find(cve);
            if (_epss is not null && _epss.TryFind(cve, out var score) && (epss is null || score.Probability > epss.Value.Probability))
            {
                epss = score;
            }
        }

        return new Finding
        {
            VulnerabilityId = cluster.PreferredId,
            Aliases = cluster.Ids,
            AdvisoryIds = ids,
            Ecosystem = ecosystem,
            PackageName = name,
            Version = version,
            Summary = summary,
            Cvss = best,
            Severity = best?.Severity ?? dbSeverity ?? "Unknown",
            FixedVersions = fixedVersions,
            Explanations = builder.ExplanationList(),
            Kev = kev,
            Epss = epss,
        };
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
        /// <summary>The advisory id as a one-element list, shared by every finding that only this advisory explains.</summary>
        public string[] IdArray { get; } = [Advisory.Id];
    }

    private sealed record Cluster(string PreferredId, string[] Ids, string[] CveIds);

    private sealed record Entry(int Advisory, string Ecosystem, string? Release, string PackageName, IVersionComparer Scheme, CompiledRange[] Ranges, string[] Versions)
    {
        /// <summary>Sorted positions of <see cref="Versions"/> on the bucket's ranked version line.</summary>
        public int[] VersionPositions { get; set; } = [];
    }

    /// <summary>
    /// The advisories of one (ecosystem, package) key and the package's version line: every version the
    /// advisories mention, sorted once by the ecosystem's scheme and ranked (equal versions share a rank).
    /// A queried version is placed on the line by one binary search; ranges and listed versions are then
    /// compared as integers: 2 × rank + 1 for a known version, 2 × rank for the gap before it.
    /// </summary>
    private sealed class Bucket
    {
        private Bucket(Entry[] entries, string[] points, IVersionComparer scheme)
        {
            Entries = entries;
            Points = points;
            Scheme = scheme;
        }

        public Entry[] Entries { get; }

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

            return new Bucket(entries, [.. points], scheme);
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

    /// <summary>
    /// Collects the matches of one cluster at a time; one builder is reused for every cluster of a match,
    /// and lists are made only when a cluster matches more than once.
    /// </summary>
    private sealed class ClusterBuilder(IVersionComparer scheme)
    {
        private int _firstAdvisory = -1;
        private MatchExplanation? _firstExplanation;
        private string? _firstFixed;
        private List<int>? _advisories;
        private List<MatchExplanation>? _explanations;
        private List<string>? _fixed;

        /// <summary>The cluster being collected; -1 before the first.</summary>
        public int Cluster { get; private set; } = -1;

        public void Reset(int cluster)
        {
            Cluster = cluster;
            _firstAdvisory = -1;
            _firstExplanation = null;
            _firstFixed = null;
            _advisories = null;
            _explanations = null;
            _fixed = null;
        }

        public int AdvisoryCount => _advisories?.Count ?? 1;

        public int AdvisoryAt(int i) => _advisories is null ? _firstAdvisory : _advisories[i];

        public void Add(int advisory, MatchExplanation explanation, string? fixedVersion)
        {
            if (_firstExplanation is null)
            {
                _firstAdvisory = advisory;
                _firstExplanation = explanation;
                _firstFixed = fixedVersion;
                return;
            }

            _advisories ??= [_firstAdvisory];
            if (!_advisories.Contains(advisory))
            {
                _advisories.Add(advisory);
            }

            (_explanations ??= [_firstExplanation]).Add(explanation);
            if (fixedVersion is not null)
            {
                _fixed ??= _firstFixed is null ? [] : [_firstFixed];
                if (!_fixed.Contains(fixedVersion))
                {
                    _fixed.Add(fixedVersion);
                }
            }
        }

        /// <summary>The explanations collected; the caller owns the list (the builder forgets it on reset).</summary>
        public IReadOnlyList<MatchExplanation> ExplanationList() => _explanations ?? (IReadOnlyList<MatchExplanation>)[_firstExplanation!];

        /// <summary>The fixed versions, oldest first; the caller owns the list.</summary>
        public IReadOnlyList<string> FixedVersions()
        {
            if (_fixed is not null)
            {
                _fixed.Sort(scheme);
                return _fixed;
            }

            return _firstFixed is null ? [] : [_firstFixed];
        }
    }
}
