using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using McpSecurity.Server.Hosting;
using McpSecurity.Server.SupplyChain;
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
        var importFiles = new Option<int?>("--import-files") { Description = "Advisory files (real plus renamed copies) written to a temporary directory and imported from disk into a fresh store; default --advisories, 0 skips" };
        var filesDir = new Option<DirectoryInfo?>("--files") { Description = "Where to write the advisory files for the file import (kept, and reused when it already holds them); default a temporary directory, deleted afterwards" };
        var command = new Command("sbom", "Advisory import rate, index build time and whole-SBOM match latency (with --store postgres, the file import also runs against that database; use a scratch one).") { osv, advisories, components, runs, importFiles, filesDir };
        StoreCliOptions.AddTo(command);
        command.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            var postgres = p.GetValue(StoreCliOptions.Store) is not null ? StoreCliOptions.Resolve(p) : null;
            if (postgres is not null && !string.Equals(postgres.Store.Provider, "postgres", StringComparison.OrdinalIgnoreCase))
            {
                postgres = null;
            }

            var files = new List<byte[]>();
            foreach (var dir in p.GetValue(osv)!)
            {
                foreach (var file in Directory.GetFiles(dir.FullName, "*.json", SearchOption.AllDirectories))
                {
                    files.Add(File.ReadAllBytes(file));
                }
            }

            var sw = Stopwatch.StartNew();
            var parsed = new OsvAdvisory[files.Count];
            Parallel.For(0, files.Count, i => parsed[i] = OsvImporter.Parse(files[i], "bench"));
            var real = new List<OsvAdvisory>(parsed);
            var parseSeconds = sw.Elapsed.TotalSeconds;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parse: {real.Count} advisories parsed from memory in {parseSeconds * 1000:F0} ms on {Environment.ProcessorCount} cores = {real.Count / parseSeconds:F0} advisories/s (first run, JIT included)"));
            using (var process = Process.GetCurrentProcess())
            {
                // Warm, on this thread only: what parsing one document costs.
                var cpuBefore = process.TotalProcessorTime;
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                sw.Restart();
                for (var i = 0; i < files.Count; i++)
                {
                    OsvImporter.Parse(files[i], "bench");
                }

                var elapsed = sw.Elapsed.TotalMilliseconds;
                process.Refresh();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"parse, one thread, warm: {files.Count} advisories in {elapsed:F0} ms = {elapsed * 1000 / Math.Max(1, files.Count):F1} µs per advisory; {(process.TotalProcessorTime - cpuBefore).TotalMilliseconds * 1000 / Math.Max(1, files.Count):F1} µs CPU (GC included), {(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / Math.Max(1, files.Count)} bytes allocated per advisory"));
            }

            StoreImportAsync(p.GetValue(osv)!, output).GetAwaiter().GetResult();
            var fileCount = p.GetValue(importFiles) ?? p.GetValue(advisories);
            if (fileCount > 0)
            {
                FileImportAsync(p.GetValue(osv)!, fileCount, p.GetValue(filesDir), postgres, output).GetAwaiter().GetResult();
            }

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

            var queries = new ComponentQuery[sbom.Count];
            for (var i = 0; i < queries.Length; i++)
            {
                queries[i] = ComponentQuery.Of(sbom[i].Ecosystem, sbom[i].Name, sbom[i].Version);
            }

            var (single, singleCpu, allocated, _) = Measure(index, queries, p.GetValue(runs), 1);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"match, one thread: whole SBOM p50 {Percentile(single, 0.5):F1} ms, p99 {Percentile(single, 0.99):F1} ms; {singleCpu:F1} ms CPU and {allocated / 1024.0 / 1024.0:F1} MiB allocated per whole-SBOM match"));
            var (times, cpu, _, findings) = Measure(index, queries, p.GetValue(runs), -1);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"match, {Environment.ProcessorCount} cores: {sbom.Count} components, {findings} findings; whole SBOM p50 {Percentile(times, 0.5):F1} ms, p99 {Percentile(times, 0.99):F1} ms, {sbom.Count / (Percentile(times, 0.5) / 1000):F0} components/s; {cpu:F1} ms CPU per match (all threads, GC included)"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory: peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB, managed heap {GC.GetTotalMemory(false) / (1024 * 1024)} MiB"));
            return CliApp.Ok;
        });
        return command;
    }

    /// <summary>
    /// What <c>mcpsec db import DIR</c> does, into fresh SQLite stores in a temporary directory: read the files,
    /// parse and hash them on every core, write in batched transactions. Run twice into fresh stores (the first
    /// includes JIT compilation), then once more into the second store (every advisory unchanged), then the
    /// match index is rebuilt from the store, as the server does at start.
    /// </summary>
    private static async Task StoreImportAsync(DirectoryInfo[] directories, TextWriter output)
    {
        var dataDir = Directory.CreateTempSubdirectory("mcpsec-bench-import-");
        try
        {
            for (var run = 1; run <= 2; run++)
            {
                var options = new PlatformOptions { DataDir = Path.Combine(dataDir.FullName, "run" + run.ToString(CultureInfo.InvariantCulture)) };
                options.Validate();
                await using var store = await StoreFactory.OpenAsync(options, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
                using var database = new AdvisoryDatabase(store) { RebuildIndexAfterImport = false };
                await TimedImportAsync(database, directories, output, run == 1 ? "fresh store, first run (JIT included)" : "fresh store").ConfigureAwait(false);
                if (run == 2)
                {
                    await TimedImportAsync(database, directories, output, "again, every advisory unchanged").ConfigureAwait(false);
                    using var process = Process.GetCurrentProcess();
                    var cpuBefore = process.TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    var index = await new AdvisoryDatabase(store).ReloadAsync(CancellationToken.None).ConfigureAwait(false);
                    process.Refresh();
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"index reload from the store (read, parse, build): {index.AdvisoryCount} advisories in {sw.ElapsedMilliseconds} ms, {(process.TotalProcessorTime - cpuBefore).TotalMilliseconds:F0} ms CPU"));
                }
            }
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The import at the size of the advisory set: the real files plus renamed copies are written once to a
    /// temporary directory (not timed), then imported from disk as <c>mcpsec db import DIR</c> does, so reading
    /// the files is counted: into a fresh SQLite store, again (every advisory unchanged), the index is reloaded
    /// from that store as the server does at start, and with <c>--store postgres</c> the files are imported into
    /// that database too.
    /// </summary>
    private static async Task FileImportAsync(DirectoryInfo[] directories, int count, DirectoryInfo? keep, PlatformOptions? postgres, TextWriter output)
    {
        var root = keep ?? Directory.CreateTempSubdirectory("mcpsec-bench-files-");
        var storeDir = Directory.CreateTempSubdirectory("mcpsec-bench-store-");
        try
        {
            var sw = Stopwatch.StartNew();
            var files = Path.Combine(root.FullName, "osv-" + count.ToString(CultureInfo.InvariantCulture));
            if (!Directory.Exists(files))
            {
                var (written, bytes) = WriteAdvisoryFiles(directories, count, files + ".partial");
                Directory.Move(files + ".partial", files);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"advisory files: {written} written to {files} ({bytes / (1024.0 * 1024.0):F0} MiB, real plus renamed copies) in {sw.ElapsedMilliseconds} ms (not timed below; the page cache likely holds them)"));
            }
            else
            {
                output.WriteLine($"advisory files: reusing {files}");
            }

            var directory = new[] { new DirectoryInfo(files) };
            var options = new PlatformOptions { DataDir = storeDir.FullName };
            options.Validate();
            await using (var store = await StoreFactory.OpenAsync(options, TimeProvider.System, CancellationToken.None).ConfigureAwait(false))
            {
                using var database = new AdvisoryDatabase(store) { RebuildIndexAfterImport = false };
                await TimedImportAsync(database, directory, output, "SQLite", "files on disk, fresh store").ConfigureAwait(false);
                await TimedImportAsync(database, directory, output, "SQLite", "files on disk, again, every advisory unchanged").ConfigureAwait(false);
                using var process = Process.GetCurrentProcess();
                var cpuBefore = process.TotalProcessorTime;
                sw.Restart();
                var index = await new AdvisoryDatabase(store).ReloadAsync(CancellationToken.None).ConfigureAwait(false);
                process.Refresh();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"index reload from the store (read, parse, build): {index.AdvisoryCount} advisories in {sw.ElapsedMilliseconds} ms, {(process.TotalProcessorTime - cpuBefore).TotalMilliseconds:F0} ms CPU"));
            }

            if (postgres is not null)
            {
                await using var store = await StoreFactory.OpenAsync(postgres, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
                using var database = new AdvisoryDatabase(store) { RebuildIndexAfterImport = false };
                await TimedImportAsync(database, directory, output, "PostgreSQL", "files on disk").ConfigureAwait(false);
                await TimedImportAsync(database, directory, output, "PostgreSQL", "files on disk, again, every advisory unchanged").ConfigureAwait(false);
            }
        }
        finally
        {
            storeDir.Delete(recursive: true);
            if (keep is null)
            {
                root.Delete(recursive: true);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> OSV files under <paramref name="target"/>: the real ones byte for byte, then
    /// copies with the id, aliases and package names suffixed (purls dropped), one directory per copy.
    /// </summary>
    private static (int Files, long Bytes) WriteAdvisoryFiles(DirectoryInfo[] directories, int count, string target)
    {
        var sources = new List<(string Name, byte[] Bytes)>();
        foreach (var dir in directories)
        {
            var files = Directory.GetFiles(dir.FullName, "*.json", SearchOption.AllDirectories);
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var file in files)
            {
                sources.Add((Path.GetFileName(file), File.ReadAllBytes(file)));
            }
        }

        int written = 0;
        long bytes = 0;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        for (var copy = 0; written < count && sources.Count > 0; copy++)
        {
            var dir = Path.Combine(target, copy == 0 ? "real" : "c" + copy.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            var suffix = "-c" + copy.ToString(CultureInfo.InvariantCulture);
            foreach (var (name, content) in sources)
            {
                if (written >= count)
                {
                    break;
                }

                ReadOnlySpan<byte> data = content;
                if (copy > 0)
                {
                    buffer.ResetWrittenCount();
                    RenameDocument(content, suffix, buffer);
                    data = buffer.WrittenSpan;
                }

                File.WriteAllBytes(Path.Combine(dir, Path.GetFileNameWithoutExtension(name) + suffix + ".json"), data.ToArray());
                bytes += data.Length;
                written++;
            }
        }

        return (written, bytes);
    }

    /// <summary>Copies an OSV document with <c>id</c>, <c>aliases[]</c> and <c>affected[].package.name</c> suffixed and <c>affected[].package.purl</c> left out.</summary>
    private static void RenameDocument(byte[] json, string suffix, System.Buffers.IBufferWriter<byte> output)
    {
        var reader = new System.Text.Json.Utf8JsonReader(json);
        using var writer = new System.Text.Json.Utf8JsonWriter(output, new System.Text.Json.JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        // The property name that holds each open container, outermost first ("$" for the root).
        var containers = new List<string>();
        string? property = null;
        var skipValue = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case System.Text.Json.JsonTokenType.StartObject:
                case System.Text.Json.JsonTokenType.StartArray:
                    if (skipValue)
                    {
                        reader.Skip();
                        skipValue = false;
                        break;
                    }

                    containers.Add(property ?? (containers.Count == 0 ? "$" : containers[^1] + "[]"));
                    property = null;
                    if (reader.TokenType == System.Text.Json.JsonTokenType.StartObject)
                    {
                        writer.WriteStartObject();
                    }
                    else
                    {
                        writer.WriteStartArray();
                    }

                    break;
                case System.Text.Json.JsonTokenType.EndObject:
                    containers.RemoveAt(containers.Count - 1);
                    writer.WriteEndObject();
                    break;
                case System.Text.Json.JsonTokenType.EndArray:
                    containers.RemoveAt(containers.Count - 1);
                    writer.WriteEndArray();
                    break;
                case System.Text.Json.JsonTokenType.PropertyName:
                    property = reader.GetString();
                    if (property == "purl" && containers[^1] == "package")
                    {
                        skipValue = true;
                    }
                    else
                    {
                        writer.WritePropertyName(property!);
                    }

                    break;
                case System.Text.Json.JsonTokenType.String:
                    {
                        var value = reader.GetString()!;
                        var parent = containers[^1];
                        if (!skipValue)
                        {
                            var rename = (containers.Count == 1 && property == "id")
                                || (containers.Count == 2 && parent == "aliases")
                                || (property == "name" && parent == "package" && containers.Count == 4);
                            writer.WriteStringValue(rename ? value + suffix : value);
                        }

                        skipValue = false;
                        property = null;
                        break;
                    }

                default:
                    if (!skipValue)
                    {
                        writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                    }

                    skipValue = false;
                    property = null;
                    break;
            }
        }
    }

    private static async Task TimedImportAsync(AdvisoryDatabase database, DirectoryInfo[] directories, TextWriter output, string what) =>
        await TimedImportAsync(database, directories, output, "SQLite", what).ConfigureAwait(false);

    private static async Task TimedImportAsync(AdvisoryDatabase database, DirectoryInfo[] directories, TextWriter output, string provider, string what)
    {
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        int read = 0, inserted = 0, unchanged = 0;
        foreach (var dir in directories)
        {
            var summary = await database.ImportAsync(dir.FullName, null, CancellationToken.None).ConfigureAwait(false);
            read += summary.Advisories;
            inserted += summary.Inserted + summary.Updated;
            unchanged += summary.Unchanged;
        }

        var seconds = sw.Elapsed.TotalSeconds;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"import into the store ({provider}, as db import: read, parse, write), {what}: {read} advisories ({inserted} written, {unchanged} unchanged) in {seconds * 1000:F0} ms = {read / seconds:F0} advisories/s; {cpu:F0} ms CPU = {cpu * 1000 / Math.Max(1, read):F1} µs CPU per advisory"));
    }

    /// <summary>Times whole-SBOM matches: wall times sorted, mean CPU time per match (all threads), bytes allocated by the calling thread in the last one, findings.</summary>
    private static (double[] Times, double CpuMs, long Allocated, int Findings) Measure(AdvisoryIndex index, ComponentQuery[] queries, int runs, int threads)
    {
        var times = new double[Math.Max(1, runs)];
        var cpu = TimeSpan.Zero;
        long allocated = 0;
        var findings = 0;
        using var process = Process.GetCurrentProcess();
        var sw = new Stopwatch();
        for (var r = 0; r < times.Length; r++)
        {
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            sw.Restart();
            var results = index.MatchAll(queries, threads);
            times[r] = sw.Elapsed.TotalMilliseconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            process.Refresh();
            cpu += process.TotalProcessorTime - cpuBefore;
            findings = 0;
            foreach (var result in results)
            {
                findings += result.Findings.Count;
            }
        }

        Array.Sort(times);
        return (times, cpu.TotalMilliseconds / times.Length, allocated, findings);
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

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
