using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Core.Tenancy;
using McpSecurity.Reporting;
using McpSecurity.Reporting.Data;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec bench report</c>: generation time and peak memory of the vulnerability report of a project with
/// many findings and of the executive report of a tenant with many projects, in HTML and PDF, through the same
/// generator the API uses (store read, build, render). The data is written to a scratch store first.
/// </summary>
internal static class ReportBench
{
    private static readonly string[] Severity = ["CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW"];

    public static Command Create()
    {
        var findings = new Option<int>("--findings") { Description = "Findings of the project in the vulnerability report", DefaultValueFactory = _ => 50_000 };
        var assets = new Option<int>("--assets") { Description = "Projects (assets) of the tenant in the executive report", DefaultValueFactory = _ => 1_000 };
        var perAsset = new Option<int>("--findings-per-asset") { Description = "Findings per project in the executive report", DefaultValueFactory = _ => 20 };
        var runs = new Option<int>("--runs") { Description = "Runs per report and format (the fastest is printed with the mean)", DefaultValueFactory = _ => 3 };
        var command = new Command("report", "Generation time and peak memory of vulnerability and executive reports in HTML and PDF (scratch store unless --data-dir).")
            { findings, assets, perAsset, runs };
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var options = StoreCliOptions.Resolve(parse);
            string? scratch = null;
            if (parse.GetValue(StoreCliOptions.DataDir) is null && parse.GetValue(StoreCliOptions.Connection) is null)
            {
                scratch = Path.Combine(Path.GetTempPath(), "mcpsec-bench-report-" + Guid.NewGuid().ToString("N")[..8]);
                options.DataDir = scratch;
            }

            try
            {
                await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
                var tenant = await store.CreateTenantAsync("bench-" + Guid.NewGuid().ToString("N")[..8], false, Actor.System("bench"), ct).ConfigureAwait(false);
                var ts = store.ForTenant(TenantScope.For(tenant.Id));
                var n = Math.Max(1, parse.GetValue(findings));
                var a = Math.Max(1, parse.GetValue(assets));
                var per = Math.Max(0, parse.GetValue(perAsset));

                var sw = Stopwatch.StartNew();
                await SeedProjectAsync(ts, "big-project", "1.0.0", n, 0, ct).ConfigureAwait(false);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"seeded project with {n} findings in {sw.Elapsed.TotalSeconds:F1} s ({store.Provider})")).ConfigureAwait(false);
                sw.Restart();
                for (var i = 0; i < a; i++)
                {
                    await SeedProjectAsync(ts, "asset-" + i.ToString("D4", CultureInfo.InvariantCulture), "1.0", per, i, ct).ConfigureAwait(false);
                }

                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"seeded {a} projects with {per} findings each in {sw.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);

                var generator = new ReportGenerator(new UnavailableReportFeeds(), TimeProvider.System);
                var r = Math.Max(1, parse.GetValue(runs));
                foreach (var format in (ReportFormat[])[ReportFormat.Html, ReportFormat.Pdf])
                {
                    await MeasureAsync(output, $"vulnerability ({n} findings)", generator, ts, new ReportRequest(ReportKind.Vulnerability, format, "big-project"), r, ct).ConfigureAwait(false);
                }

                foreach (var format in (ReportFormat[])[ReportFormat.Html, ReportFormat.Pdf])
                {
                    await MeasureAsync(output, $"executive ({a + 1} assets)", generator, ts, new ReportRequest(ReportKind.Executive, format), r, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                if (scratch is not null)
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    Directory.Delete(scratch, recursive: true);
                }
            }

            return CliApp.Ok;
        });
        return command;
    }

    private static async Task MeasureAsync(TextWriter output, string label, ReportGenerator generator, ITenantStore tenant, ReportRequest request, int runs, CancellationToken ct)
    {
        var times = new double[runs];
        long peak = 0, allocated = 0, size = 0;
        for (var i = 0; i < runs; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var baseline = GC.GetTotalMemory(false);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            using var sampler = new PeakSampler();
            var sw = Stopwatch.StartNew();
            var report = await generator.GenerateAsync(tenant, request, null, ct).ConfigureAwait(false);
            times[i] = sw.Elapsed.TotalMilliseconds;
            peak = Math.Max(peak, sampler.Stop() - baseline);
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            size = report.Content.Length;
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{label,-32} {request.Format.Name(),-4}: best {times.Min(),8:F0} ms, mean {times.Average(),8:F0} ms; peak managed heap +{peak / 1048576.0,7:F1} MiB; allocated {allocated / 1048576.0,8:F1} MiB; output {size / 1048576.0,6:F2} MiB")).ConfigureAwait(false);
    }

    internal static async Task SeedProjectAsync(ITenantStore tenant, string project, string version, int findings, int seed, CancellationToken ct)
    {
        var components = new List<StoredComponent>(Math.Max(1, findings / 2));
        var count = Math.Max(1, findings / 2);
        for (var i = 0; i < count; i++)
        {
            var name = "package-" + ((i * 7919) + seed).ToString(CultureInfo.InvariantCulture);
            var v = "1." + (i % 40).ToString(CultureInfo.InvariantCulture) + "." + (i % 7).ToString(CultureInfo.InvariantCulture);
            components.Add(new StoredComponent("c" + i.ToString(CultureInfo.InvariantCulture), name, v, $"pkg:npm/{name}@{v}", "npm", name, "library", null));
        }

        var sbom = await tenant.SupplyChain.AddSbomAsync(new SbomUpload(project, version, "CycloneDxJson", "1.6", null, new string('0', 64), components, [], """{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}"""u8.ToArray()),
            Actor.System("bench"), ct).ConfigureAwait(false);
        var list = new List<NewFinding>(findings);
        for (var i = 0; i < findings; i++)
        {
            var c = components[i % components.Count];
            var id = "CVE-20" + (20 + (i % 6)).ToString(CultureInfo.InvariantCulture) + "-" + (10000 + i).ToString(CultureInfo.InvariantCulture);
            var kev = i % 97 == 0 ? ""","kev":{"dateAdded":"2025-01-01T00:00:00Z","dueDate":null,"knownRansomwareCampaignUse":false}""" : string.Empty;
            var explanation = $$"""{"epss":{"probability":0.0{{i % 9}}1,"percentile":0.5}{{kev}},"matches":[{"advisory":"GHSA-{{i:x6}}","source":"bench","reason":"range","rangeType":"SEMVER","introduced":"0","closedBy":"fixed 2.0.0","scheme":"SemVer","text":"{{c.Name}} {{c.Version}} is in the SEMVER range (introduced 0, fixed 2.0.0) of GHSA-{{i:x6}} for npm/{{c.Name}}; compared as SemVer"}]}""";
            list.Add(new NewFinding(c.Ref, c.Purl, id, ["GHSA-" + i.ToString("x6", CultureInfo.InvariantCulture)], Severity[i % Severity.Length], 3.1 + (i % 68) / 10.0, ["2.0.0"], explanation));
        }

        await tenant.SupplyChain.ReplaceFindingsAsync(sbom.Id, list, "upload", Actor.System("bench"), ct).ConfigureAwait(false);
    }

    /// <summary>Samples the managed heap size every few milliseconds and keeps the largest value.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;
        private long _peak;

        public PeakSampler()
        {
            _peak = GC.GetTotalMemory(false);
            _task = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    _peak = Math.Max(Volatile.Read(ref _peak), GC.GetTotalMemory(false));
                    await Task.Delay(5).ConfigureAwait(false);
                }
            });
        }

        public long Stop()
        {
            _stop.Cancel();
            _task.GetAwaiter().GetResult();
            return Math.Max(_peak, GC.GetTotalMemory(false));
        }

        public void Dispose() => _stop.Dispose();
    }
}
