using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Matching;

namespace McpSecurity.Cli.Commands;

/// <summary>
/// <c>mcpsec bench sbom</c>: advisory import rate, index build time and whole-SBOM match latency on this
/// machine, from OSV directories the user points at. The advisory set is grown to the target size with
/// renamed copies (package names suffixed), and the SBOM is built from real package names and versions
/// taken from the advisories, so every component exercises a real range.
/// </summary>
internal static class SbomBench
{
    public static Command Create()
    {
        var osv = new Option<DirectoryInfo[]>("--osv") { Description = "OSV advisory directories (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var advisories = new Option<int>("--advisories") { Description = "Advisories in the index (real plus renamed copies)", DefaultValueFactory = _ => 200_000 };
        var components = new Option<int>("--components") { Description = "Components in the synthetic SBOM", DefaultValueFactory = _ => 5_000 };
        var runs = new Option<int>("--runs") { Description = "Whole-SBOM match runs", DefaultValueFactory = _ => 50 };
        var command = new Command("sbom", "Advisory import rate, index build time and whole-SBOM match latency.") { osv, advisories, components, runs };
        command.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            var files = new List<byte[]>();
            foreach (var dir in p.GetValue(osv)!)
            {
                foreach (var file in Directory.GetFiles(dir.FullName, "*.json", SearchOption.AllDirectories))
                {
                    files.Add(File.ReadAllBytes(file));
                }
            }

            var sw = Stopwatch.StartNew();
            var real = new List<OsvAdvisory>(files.Count);
            foreach (var bytes in files)
            {
                real.Add(OsvImporter.Parse(bytes, "bench"));
            }

            var parseSeconds = sw.Elapsed.TotalSeconds;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"import: {real.Count} advisories parsed in {parseSeconds * 1000:F0} ms = {real.Count / parseSeconds:F0} advisories/s"));

            var all = new List<OsvAdvisory>(p.GetValue(advisories));
            all.AddRange(real);
            for (var copy = 1; all.Count < p.GetValue(advisories) && real.Count > 0; copy++)
            {
                foreach (var a in real)
                {
                    if (all.Count >= p.GetValue(advisories))
                    {
                        break;
                    }

                    all.Add(Renamed(a, "-c" + copy.ToString(CultureInfo.InvariantCulture)));
                }
            }

            sw.Restart();
            var index = AdvisoryIndex.Build(all);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"index: {index.AdvisoryCount} advisories, {index.PackageCount} packages, built in {sw.ElapsedMilliseconds} ms"));

            var random = new Random(7);
            var sbom = new List<(string Ecosystem, string Name, string Version)>();
            while (sbom.Count < p.GetValue(components) && all.Count > 0)
            {
                var a = all[random.Next(all.Count)];
                if (a.Affected.Count == 0 || a.Affected[0].Package is not { } package)
                {
                    continue;
                }

                var candidates = new List<string>(a.Affected[0].Versions);
                foreach (var range in a.Affected[0].Ranges)
                {
                    foreach (var e in range.Events)
                    {
                        if (range.Type != OsvRangeType.Git && e.Version != "0")
                        {
                            candidates.Add(e.Version);
                        }
                    }
                }

                if (candidates.Count > 0)
                {
                    sbom.Add((package.Ecosystem, package.Name, candidates[random.Next(candidates.Count)]));
                }
            }

            var times = new double[Math.Max(1, p.GetValue(runs))];
            var findings = 0;
            for (var r = 0; r < times.Length; r++)
            {
                sw.Restart();
                findings = 0;
                foreach (var (ecosystem, name, version) in sbom)
                {
                    findings += index.Match(ecosystem, name, version).Findings.Count;
                }

                times[r] = sw.Elapsed.TotalMilliseconds;
            }

            Array.Sort(times);
            var p50 = times[times.Length / 2];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"match: {sbom.Count} components, {findings} findings; whole SBOM p50 {p50:F1} ms, p99 {times[Math.Min(times.Length - 1, (int)(times.Length * 0.99))]:F1} ms, {sbom.Count / (p50 / 1000):F0} components/s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory: peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB, managed heap {GC.GetTotalMemory(false) / (1024 * 1024)} MiB"));
            return CliApp.Ok;
        });
        return command;
    }

    private static OsvAdvisory Renamed(OsvAdvisory a, string suffix)
    {
        var affected = new OsvAffected[a.Affected.Count];
        for (var i = 0; i < affected.Length; i++)
        {
            var x = a.Affected[i];
            affected[i] = new OsvAffected { Package = x.Package is null ? null : x.Package with { Name = x.Package.Name + suffix, Purl = null }, Ranges = x.Ranges, Versions = x.Versions, Severity = x.Severity };
        }

        var aliases = new string[a.Aliases.Count];
        for (var i = 0; i < aliases.Length; i++)
        {
            aliases[i] = a.Aliases[i] + suffix;
        }

        return new OsvAdvisory { Id = a.Id + suffix, Aliases = aliases, Summary = a.Summary, Severity = a.Severity, Withdrawn = a.Withdrawn, Modified = a.Modified, Affected = affected, Source = a.Source };
    }
}
