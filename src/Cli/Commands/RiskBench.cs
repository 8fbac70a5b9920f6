using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Risk;
using McpSecurity.Core.Tenancy;
using McpSecurity.Risk.Aggregation;
using McpSecurity.Risk.Scoring;
using McpSecurity.Risk.Snapshots;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec bench risk</c>: scores synthetic findings (realistic factor mix, fixed seed), re-aggregates them
/// across assets, projects, services and the tenant, and writes a day's snapshot to a scratch SQLite store.
/// </summary>
internal static class RiskBench
{
    public static Command Create()
    {
        var findings = new Option<int>("--findings") { Description = "Findings to score", DefaultValueFactory = _ => 1_000_000 };
        var assets = new Option<int>("--assets") { Description = "Assets", DefaultValueFactory = _ => 1_000 };
        var projects = new Option<int>("--projects") { Description = "Projects", DefaultValueFactory = _ => 100 };
        var runs = new Option<int>("--runs") { Description = "Measured runs (best is reported)", DefaultValueFactory = _ => 5 };
        var command = new Command("risk", "Findings scored per second, full re-aggregation time and snapshot write time.") { findings, assets, projects, runs };
        command.SetAction(async (p, ct) =>
        {
            var n = Math.Max(1000, p.GetValue(findings));
            var assetCount = Math.Max(1, p.GetValue(assets));
            var projectCount = Math.Max(1, p.GetValue(projects));
            var runCount = Math.Max(1, p.GetValue(runs));
            var output = p.InvocationConfiguration.Output;
            var random = new Random(42);
            var inputs = new FindingRiskInput[n];
            var projectOf = new int[n];
            for (var i = 0; i < n; i++)
            {
                inputs[i] = Synthetic(random);
                projectOf[i] = random.Next(projectCount);
            }

            var scores = new FindingRiskScore[n];
            var scorer = RiskScorer.Default;
            scorer.ScoreAll(inputs.AsSpan(0, Math.Min(n, 100_000)), scores); // warm-up (tiered JIT)
            var best = double.MaxValue;
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var r = 0; r < runCount; r++)
            {
                var sw = Stopwatch.StartNew();
                scorer.ScoreAll(inputs, scores);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"scoring: {n} findings in {best * 1000:F1} ms = {n / best:F0} findings/s (best of {runCount}, one thread, {allocated} bytes allocated over all runs)")).ConfigureAwait(false);

            // Topology: each asset links one project; projects spread evenly; 20 business services.
            var services = Math.Max(1, assetCount / 50);
            var projectAssets = new List<int>[projectCount];
            for (var i = 0; i < projectCount; i++)
            {
                projectAssets[i] = [];
            }

            var assetService = new int[assetCount];
            for (var a = 0; a < assetCount; a++)
            {
                projectAssets[a % projectCount].Add(a);
                assetService[a] = a % services;
            }

            var aggregator = new RiskAggregator(scorer, projectCount, projectAssets, assetService, services);
            aggregator.Aggregate(scores, projectOf);
            best = double.MaxValue;
            RiskAggregates? result = null;
            for (var r = 0; r < runCount; r++)
            {
                var sw = Stopwatch.StartNew();
                result = aggregator.Aggregate(scores, projectOf);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"aggregation: {n} findings across {assetCount} assets, {projectCount} projects, {services} services and the tenant in {best * 1000:F1} ms (full re-aggregation, best of {runCount}); tenant {result!.Tenant.Score:F1} ({result.Tenant.Level.Name()})")).ConfigureAwait(false);

            var vulns = new string[5000];
            for (var i = 0; i < vulns.Length; i++)
            {
                vulns[i] = string.Create(CultureInfo.InvariantCulture, $"CVE-2024-{10000 + i}");
            }

            var projectIds = new string[projectCount];
            for (var i = 0; i < projectCount; i++)
            {
                projectIds[i] = string.Create(CultureInfo.InvariantCulture, $"prj_{i:D4}");
            }

            var records = new List<FindingSnapshot>(n);
            for (var i = 0; i < n; i++)
            {
                var vuln = vulns[i % vulns.Length];
                var component = string.Create(CultureInfo.InvariantCulture, $"pkg:npm/c{i % 20000}@1.0.{i % 7}");
                records.Add(new FindingSnapshot(FindingSnapshot.KeyOf(projectIds[projectOf[i]], component, vuln), vuln, component, projectIds[projectOf[i]],
                    scores[i].Score, scores[i].Level, inputs[i], scores[i].Breakdown));
            }

            var entities = new List<RiskSnapshotEntry>(assetCount + projectCount + services + 1) { Entry("tenant", "bench", result.Tenant) };
            for (var i = 0; i < projectCount; i++)
            {
                entities.Add(Entry("project", projectIds[i], result.Projects[i]));
            }

            for (var i = 0; i < assetCount; i++)
            {
                entities.Add(Entry("asset", string.Create(CultureInfo.InvariantCulture, $"ast_{i:D5}"), result.Assets[i]));
            }

            for (var i = 0; i < services; i++)
            {
                entities.Add(Entry("service", string.Create(CultureInfo.InvariantCulture, $"service-{i}"), result.Services[i]));
            }

            var encode = Stopwatch.StartNew();
            var data = FindingSnapshotCodec.Encode(records);
            var encodeMs = encode.Elapsed.TotalMilliseconds;
            var dir = Directory.CreateTempSubdirectory("mcpsec-risk-bench");
            try
            {
                await using var store = await Storage.Sqlite.SqliteStore.OpenAsync(Path.Combine(dir.FullName, "bench.db"), TimeProvider.System, ct).ConfigureAwait(false);
                var tenant = await store.CreateTenantAsync("bench", false, Actor.System("bench"), ct).ConfigureAwait(false);
                var write = Stopwatch.StartNew();
                await store.ForTenant(TenantScope.For(tenant.Id)).Risk.WriteSnapshotAsync(new RiskSnapshot(DateOnly.FromDateTime(DateTime.UtcNow), entities, data), Actor.System("bench"), ct).ConfigureAwait(false);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"snapshot: encode {n} finding scores {encodeMs:F0} ms ({data.Length / 1048576.0:F1} MiB gzip), store write (SQLite, {entities.Count} entity rows + blob, one transaction) {write.Elapsed.TotalMilliseconds:F0} ms, total {encodeMs + write.Elapsed.TotalMilliseconds:F0} ms")).ConfigureAwait(false);
            }
            finally
            {
                dir.Delete(recursive: true);
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static RiskSnapshotEntry Entry(string kind, string id, EntityRisk r) =>
        new(kind, id, null, Math.Round(r.Score, 2), r.Level.Name(), r.Findings, r.Critical, r.High);

    private static FindingRiskInput Synthetic(Random random)
    {
        var hasCvss = random.NextDouble() < 0.9;
        var hasEpss = random.NextDouble() < 0.8;
        var epss = (float)Math.Pow(random.NextDouble(), 6);
        var kev = random.NextDouble() < 0.02;
        return new FindingRiskInput
        {
            Cvss = hasCvss ? (float)Math.Round(random.NextDouble() * 10, 1) : float.NaN,
            SeverityRank = (byte)random.Next(0, 5),
            EpssProbability = hasEpss ? epss : float.NaN,
            EpssPercentile = hasEpss ? (float)Math.Min(1, epss * 3) : float.NaN,
            Kev = kev,
            KevRansomware = kev && random.NextDouble() < 0.2,
            KevDueInDays = kev ? random.Next(-60, 30) : int.MaxValue,
            Maturity = (ExploitMaturity)random.Next(0, 5),
            AssetTier = (sbyte)random.Next(-1, 4),
            InternetFacing = random.NextDouble() < 0.3,
            Data = (DataClassification)random.Next(0, 4),
            DependencyDepth = (byte)random.Next(0, 6),
            Control = random.NextDouble() < 0.9 ? ControlState.None : (ControlState)random.Next(1, 5),
            AgeDays = random.Next(0, 400),
        };
    }
}
