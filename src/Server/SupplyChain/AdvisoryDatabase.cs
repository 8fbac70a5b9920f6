using System.IO.Compression;
using System.Text;
using McpSecurity.Core;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Matching;

namespace McpSecurity.Server.SupplyChain;

/// <summary>Outcome of importing a path into the advisory database.</summary>
public sealed record AdvisoryImportSummary(int Advisories, int Inserted, int Updated, int Unchanged, int KevEntries, int EpssScores, IReadOnlyList<string> Errors);

/// <summary>
/// The advisory database: imports OSV (files, directories, <c>all.zip</c>), CISA KEV (JSON/CSV) and EPSS CSV
/// into the store, and keeps the in-memory match index built from it. The index is swapped atomically
/// after a reload; matches in flight finish on the old one.
/// </summary>
public sealed class AdvisoryDatabase(IStore store) : IDisposable
{
    private const int ParallelChunk = 512;

    /// <summary>Files read and parsed ahead of the writer in a directory import, per chunk.</summary>
    private const int ImportChunk = 1024;

    /// <summary>Advisories written per store transaction.</summary>
    private const int WriteBatch = 2048;
    private const long MaxFeedFileBytes = 512L << 20;

    /// <summary>Source name of the stored KEV catalogue.</summary>
    public const string KevSource = "kev";

    /// <summary>Source name of the stored EPSS scores.</summary>
    public const string EpssSource = "epss";

    /// <summary>Source name of NVD CVE records.</summary>
    public const string NvdSource = "nvd";

    /// <summary>Prefix of the stored ids of NVD CVE records, which keeps them apart from OSV advisories with CVE ids.</summary>
    public const string NvdIdPrefix = "nvd:";

    /// <summary>Largest single advisory document accepted.</summary>
    public const int MaxDocumentBytes = 16 << 20;

    private readonly SemaphoreSlim _rebuild = new(1, 1);
    private AdvisoryIndex _index = AdvisoryIndex.Build([]);

    /// <summary>The advisories the index was last built from, kept so an import can rebuild without re-reading the store.</summary>
    private Loaded? _loaded;

    /// <summary>
    /// Raised after an import that added or changed advisories (or replaced the KEV or EPSS data), once the
    /// index has been rebuilt; handlers must not throw.
    /// </summary>
    public event Action<AdvisoryImportSummary>? Changed;

    /// <summary>The current match index.</summary>
    public AdvisoryIndex Index => Volatile.Read(ref _index);

    /// <summary>
    /// Whether an import rebuilds the in-memory match index (true in the server). A one-shot command that
    /// only writes the store (<c>mcpsec db import</c>) turns it off: its index would be thrown away.
    /// </summary>
    public bool RebuildIndexAfterImport { get; init; } = true;

    /// <summary>Limits for <c>all.zip</c> archives (entry count, sizes, compression ratio).</summary>
    public ZipImportLimits ZipLimits { get; init; } = ZipImportLimits.Default;

    /// <inheritdoc />
    public void Dispose() => _rebuild.Dispose();

    /// <summary>
    /// The feed status in the store (each source with the time of its last import) the index was built at,
    /// or null before the first load.
    /// </summary>
    private string? _loadedStatus;

    /// <summary>
    /// Each source with the time of its last import, as one string: it changes whenever any process
    /// sharing the store imports advisories.
    /// </summary>
    public async Task<string> StatusFingerprintAsync(CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (var s in await store.Advisories.ListStatusAsync(cancellationToken).ConfigureAwait(false))
        {
            text.Append(s.Source).Append('=').Append(s.LastImport.ToUnixTimeMilliseconds()).Append(';');
        }

        return text.ToString();
    }

    /// <summary>
    /// The index, rebuilt from the store first when another process (another node, <c>mcpsec db import</c>)
    /// imported advisories since it was built: matching never runs on a stale index.
    /// </summary>
    public async Task<AdvisoryIndex> EnsureCurrentAsync(CancellationToken cancellationToken)
    {
        var status = await StatusFingerprintAsync(cancellationToken).ConfigureAwait(false);
        if (status == Volatile.Read(ref _loadedStatus))
        {
            return Index;
        }

        await _rebuild.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return status == _loadedStatus ? Index : await ReloadLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _rebuild.Release();
        }
    }

    /// <summary>Rebuilds the index from the store.</summary>
    public async Task<AdvisoryIndex> ReloadAsync(CancellationToken cancellationToken)
    {
        await _rebuild.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ReloadLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _rebuild.Release();
        }
    }

    private async Task<AdvisoryIndex> ReloadLockedAsync(CancellationToken cancellationToken)
    {
        // Read before the advisories: an import that lands while they are read makes the next check reload again.
        var status = await StatusFingerprintAsync(cancellationToken).ConfigureAwait(false);
        var advisories = new List<OsvAdvisory>();
        var nvd = new Dictionary<string, NvdRecord>(StringComparer.OrdinalIgnoreCase);
        var chunk = new List<StoredAdvisory>(ParallelChunk);
        var parsed = new OsvAdvisory?[ParallelChunk];

        // Stored OSV documents are parsed on every core, a chunk at a time, and kept in store order.
        void ParseChunk()
        {
            Parallel.For(0, chunk.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                try
                {
                    parsed[i] = OsvImporter.Parse(Encoding.UTF8.GetBytes(chunk[i].Document), chunk[i].Source);
                }
                catch (AdvisoryFormatException)
                {
                    // Stored documents were validated on import; one that no longer parses (e.g. after a model change) is skipped, not fatal.
                    parsed[i] = null;
                }
            });
            for (var i = 0; i < chunk.Count; i++)
            {
                if (parsed[i] is { } advisory)
                {
                    advisories.Add(advisory);
                }
            }

            chunk.Clear();
            Array.Clear(parsed);
        }

        await foreach (var stored in store.Advisories.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!stored.Id.StartsWith(NvdIdPrefix, StringComparison.Ordinal))
            {
                chunk.Add(stored);
                if (chunk.Count == ParallelChunk)
                {
                    ParseChunk();
                }

                continue;
            }

            try
            {
                var records = NvdImporter.Parse(Encoding.UTF8.GetBytes("{\"vulnerabilities\":[" + stored.Document + "]}"), stored.Source);
                nvd[records[0].Advisory.Id] = records[0];
            }
            catch (AdvisoryFormatException)
            {
                // As above: skipped, not fatal.
            }
        }

        ParseChunk();

        var raw = new Dictionary<string, OsvAdvisory>(advisories.Count, StringComparer.Ordinal);
        foreach (var a in advisories)
        {
            raw.TryAdd(a.Id, a);
        }

        var loaded = new Loaded(raw, nvd, await ReadKevAsync(cancellationToken).ConfigureAwait(false), await ReadEpssAsync(cancellationToken).ConfigureAwait(false));
        var index = Publish(loaded);
        Volatile.Write(ref _loadedStatus, status);
        return index;
    }

    /// <summary>
    /// After an import of OSV documents (and perhaps KEV or EPSS), rebuilds the index from the advisories
    /// already in memory plus the ones just imported, by the rule the store applies: a document replaces
    /// the stored one unless it is older (<c>modified</c>). Nothing is re-read or re-parsed.
    /// </summary>
    private async Task IncorporateAsync(List<OsvAdvisory> imported, bool kevChanged, bool epssChanged, CancellationToken cancellationToken)
    {
        await _rebuild.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded is not { } loaded)
            {
                await ReloadLockedAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            var raw = new Dictionary<string, OsvAdvisory>(loaded.Osv, StringComparer.Ordinal);
            foreach (var a in imported)
            {
                if (raw.TryGetValue(a.Id, out var old) && old.Modified is { } om && a.Modified is { } nm
                    && nm.ToUnixTimeMilliseconds() < om.ToUnixTimeMilliseconds())
                {
                    continue;
                }

                raw[a.Id] = a;
            }

            var status = await StatusFingerprintAsync(cancellationToken).ConfigureAwait(false);
            Publish(new Loaded(
                raw,
                loaded.Nvd,
                kevChanged ? await ReadKevAsync(cancellationToken).ConfigureAwait(false) : loaded.Kev,
                epssChanged ? await ReadEpssAsync(cancellationToken).ConfigureAwait(false) : loaded.Epss));

            // The status now includes this import. (An import by another process finishing in between would be
            // taken as seen; the scheduler's next poll of a changed status reloads in any case.)
            Volatile.Write(ref _loadedStatus, status);
        }
        finally
        {
            _rebuild.Release();
        }
    }

    private AdvisoryIndex Publish(Loaded loaded)
    {
        var advisories = new List<OsvAdvisory>(loaded.Osv.Values);

        // The store reads in id order; keep the same order so explanations come out the same either way.
        advisories.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        if (loaded.Nvd.Count > 0)
        {
            AttachNvd(advisories, loaded.Nvd);
        }

        var index = AdvisoryIndex.Build(advisories, loaded.Kev, loaded.Epss);
        _loaded = loaded;
        Volatile.Write(ref _index, index);
        return index;
    }

    private async Task<KevCatalog?> ReadKevAsync(CancellationToken cancellationToken) =>
        await store.Advisories.GetFeedDocumentAsync(KevSource, cancellationToken).ConfigureAwait(false) is { } kevBytes
            ? KevImporter.ParseJson(kevBytes, KevSource)
            : null;

    private async Task<EpssScores?> ReadEpssAsync(CancellationToken cancellationToken)
    {
        if (await store.Advisories.GetFeedDocumentAsync(EpssSource, cancellationToken).ConfigureAwait(false) is not { } epssBytes)
        {
            return null;
        }

        using var reader = new StringReader(Encoding.UTF8.GetString(epssBytes));
        return EpssImporter.Read(reader, EpssSource);
    }

    /// <summary>
    /// Imports a file or directory. Advisories are written in batches of one transaction each. A file that
    /// cannot be parsed is reported in the summary (naming the file and the JSON path) and not stored; a file
    /// over the size limit stops the import before anything is written.
    /// </summary>
    public async Task<AdvisoryImportSummary> ImportAsync(string path, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var batch = new List<StoredAdvisory>(WriteBatch);
        // Kept only when the index is rebuilt from them afterwards.
        var imported = RebuildIndexAfterImport ? new List<OsvAdvisory>() : null;
        int advisories = 0, inserted = 0, updated = 0, unchanged = 0, kevEntries = 0, epssScores = 0, nvdRecords = 0;

        async Task FlushAsync()
        {
            if (batch.Count == 0)
            {
                return;
            }

            var (i, u, n) = await store.Advisories.UpsertAsync(batch, cancellationToken).ConfigureAwait(false);
            inserted += i;
            updated += u;
            unchanged += n;
            batch.Clear();
        }

        async Task AddDocumentAsync(byte[] bytes, string name)
        {
            var kind = Classify(bytes, name);
            switch (kind)
            {
                case "kev-json":
                    kevEntries += KevImporter.ParseJson(bytes, name).Entries.Count;
                    await store.Advisories.SaveFeedDocumentAsync(KevSource, bytes, cancellationToken).ConfigureAwait(false);
                    break;
                case "kev-csv":
                    {
                        var catalog = KevImporter.ParseCsv(Encoding.UTF8.GetString(bytes), name);
                        kevEntries += catalog.Entries.Count;
                        throw new ValidationException("path", $"{name}: the KEV CSV was read ({catalog.Entries.Count} entries), but the database stores the KEV JSON form; import known_exploited_vulnerabilities.json instead.");
                    }

                case "nvd":
                    {
                        var records = NvdImporter.Parse(bytes, name);
                        using var json = System.Text.Json.JsonDocument.Parse(bytes);
                        var items = json.RootElement.GetProperty("vulnerabilities");
                        var i = 0;
                        foreach (var item in items.EnumerateArray())
                        {
                            var record = records[i++];
                            batch.Add(new StoredAdvisory(NvdIdPrefix + record.Advisory.Id, name, record.Advisory.Modified, record.Advisory.Withdrawn, item.GetRawText()));
                            nvdRecords++;
                            if (batch.Count >= WriteBatch)
                            {
                                await FlushAsync().ConfigureAwait(false);
                            }
                        }

                        break;
                    }

                case "epss":
                    {
                        using var reader = new StringReader(Encoding.UTF8.GetString(bytes));
                        epssScores += EpssImporter.Read(reader, name).Count;
                        await store.Advisories.SaveFeedDocumentAsync(EpssSource, bytes, cancellationToken).ConfigureAwait(false);
                        break;
                    }

                default:
                    {
                        var advisory = OsvImporter.Parse(bytes, name);
                        imported?.Add(advisory);
                        batch.Add(new StoredAdvisory(advisory.Id, name, advisory.Modified, advisory.Withdrawn, Encoding.UTF8.GetString(bytes)));
                        advisories++;
                        if (batch.Count >= WriteBatch)
                        {
                            await FlushAsync().ConfigureAwait(false);
                        }

                        break;
                    }
            }
        }

        async Task TryAddAsync(byte[] bytes, string name)
        {
            try
            {
                await AddDocumentAsync(bytes, name).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AdvisoryFormatException or FormatException or System.Text.Json.JsonException or ValidationException)
            {
                errors.Add($"{name}: {ex.Message}");
            }
        }

        if (Directory.Exists(path))
        {
            var files = FeedFiles(path);

            // Files are read and OSV documents parsed (and hashed) on every core, a chunk ahead of the writer:
            // while one chunk is written to the store in file order on this thread, the next one is being
            // parsed, so batches, errors and progress stay deterministic.
            using var readAhead = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var keepModel = imported is not null;
            Task<PreparedFile[]>? next = files.Length > 0 ? PrepareChunkAsync(files, 0, keepModel, readAhead.Token) : null;
            try
            {
                for (var start = 0; start < files.Length; start += ImportChunk)
                {
                    var prepared = await next!.ConfigureAwait(false);
                    next = start + ImportChunk < files.Length ? PrepareChunkAsync(files, start + ImportChunk, keepModel, readAhead.Token) : null;
                    for (var i = 0; i < prepared.Length; i++)
                    {
                        var file = prepared[i];
                        if (file.Fatal is { } fatal)
                        {
                            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fatal);
                        }

                        if (file.Error is { } error)
                        {
                            errors.Add($"{file.Name}: {error.Message}");
                        }
                        else if (file.Stored is { } stored)
                        {
                            imported?.Add(file.Advisory!);
                            batch.Add(stored);
                            advisories++;
                            if (batch.Count >= WriteBatch)
                            {
                                await FlushAsync().ConfigureAwait(false);
                            }
                        }
                        else if (file.Bytes is { } bytes)
                        {
                            await TryAddAsync(bytes, file.Name).ConfigureAwait(false);
                        }

                        progress?.Report((start + i + 1, files.Length));
                    }
                }
            }
            finally
            {
                if (next is not null)
                {
                    // Stopped early (an error, or cancelled): the read-ahead is abandoned, cancelled and waited for,
                    // so no file is still being read after the import has returned. Its outcome is moot.
                    await readAhead.CancelAsync().ConfigureAwait(false);
                    await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        else if (File.Exists(path) && path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            await ImportZipAsync(path, TryAddAsync, progress, cancellationToken).ConfigureAwait(false);
        }
        else if (File.Exists(path))
        {
            await TryAddAsync(await ReadBoundedAsync(path, cancellationToken).ConfigureAwait(false), path).ConfigureAwait(false);
            progress?.Report((1, 1));
        }
        else
        {
            throw new ValidationException("path", $"'{path}' is neither a file nor a directory.");
        }

        await FlushAsync().ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        if (advisories > 0)
        {
            await store.Advisories.SetStatusAsync(new FeedStatus("osv", advisories, now, $"{path}: {inserted} new, {updated} updated, {unchanged} unchanged, {errors.Count} errors"), cancellationToken).ConfigureAwait(false);
        }

        if (nvdRecords > 0)
        {
            await store.Advisories.SetStatusAsync(new FeedStatus(NvdSource, nvdRecords, now, path), cancellationToken).ConfigureAwait(false);
        }

        if (kevEntries > 0)
        {
            await store.Advisories.SetStatusAsync(new FeedStatus(KevSource, kevEntries, now, path), cancellationToken).ConfigureAwait(false);
        }

        if (epssScores > 0)
        {
            await store.Advisories.SetStatusAsync(new FeedStatus(EpssSource, epssScores, now, path), cancellationToken).ConfigureAwait(false);
        }

        if (RebuildIndexAfterImport && nvdRecords > 0)
        {
            // NVD data is attached across advisories by CVE alias: rebuild from the store.
            await ReloadAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (imported is not null && inserted + updated + kevEntries + epssScores > 0)
        {
            await IncorporateAsync(imported, kevEntries > 0, epssScores > 0, cancellationToken).ConfigureAwait(false);
        }

        var summary = new AdvisoryImportSummary(advisories + nvdRecords, inserted, updated, unchanged, kevEntries, epssScores, errors);
        if (inserted + updated + kevEntries + epssScores > 0)
        {
            Changed?.Invoke(summary);
        }

        return summary;
    }

    /// <summary>
    /// Gives OSV advisories the NVD data of their CVE (id or alias): CVSS vectors of versions the advisory
    /// does not score itself, and the description when it has none. CVEs no OSV advisory names are added
    /// as advisories of their own (no packages, so they never match a component by themselves).
    /// </summary>
    internal static void AttachNvd(List<OsvAdvisory> advisories, Dictionary<string, NvdRecord> nvd)
    {
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < advisories.Count; i++)
        {
            var a = advisories[i];
            NvdRecord? record = null;
            if (a.Id.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase) && nvd.TryGetValue(a.Id, out var direct))
            {
                record = direct;
            }
            else
            {
                foreach (var alias in a.Aliases)
                {
                    if (alias.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase) && nvd.TryGetValue(alias, out var byAlias))
                    {
                        record = byAlias;
                        break;
                    }
                }
            }

            if (record is null)
            {
                continue;
            }

            used.Add(record.Advisory.Id);
            var severity = new List<OsvSeverity>(a.Severity);
            foreach (var s in record.Advisory.Severity)
            {
                var present = false;
                foreach (var own in a.Severity)
                {
                    present |= string.Equals(own.Type, s.Type, StringComparison.Ordinal);
                }

                if (!present)
                {
                    severity.Add(s);
                }
            }

            advisories[i] = new OsvAdvisory
            {
                Id = a.Id,
                SchemaVersion = a.SchemaVersion,
                Modified = a.Modified,
                Published = a.Published,
                Withdrawn = a.Withdrawn,
                Aliases = a.Aliases,
                Related = a.Related,
                Summary = a.Summary,
                Details = a.Details ?? record.Advisory.Details,
                Severity = severity,
                Affected = a.Affected,
                References = a.References,
                DatabaseSpecific = a.DatabaseSpecific,
                Source = a.Source,
            };
        }

        foreach (var (id, record) in nvd)
        {
            if (!used.Contains(id) && !record.Advisory.IsWithdrawn)
            {
                advisories.Add(record.Advisory);
            }
        }
    }

    private async Task ImportZipAsync(string path, Func<byte[], string, Task> add, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        await using var archive = await ZipFile.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        var limits = ZipLimits;
        if (archive.Entries.Count > limits.MaxEntries)
        {
            throw new ValidationException("path", $"{path}: {archive.Entries.Count} entries exceed the limit of {limits.MaxEntries}.");
        }

        long total = 0;
        var done = 0;
        foreach (var entry in archive.Entries)
        {
            done++;
            if (!entry.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (entry.Length > limits.MaxEntryUncompressedBytes || (entry.CompressedLength > 0 && (double)entry.Length / entry.CompressedLength > limits.MaxCompressionRatio))
            {
                throw new ValidationException("path", $"{path}!{entry.FullName}: entry of {entry.Length} bytes (compressed {entry.CompressedLength}) exceeds the size or ratio limit; refusing a possible zip bomb.");
            }

            total += entry.Length;
            if (total > limits.MaxTotalUncompressedBytes)
            {
                throw new ValidationException("path", $"{path}: more than {limits.MaxTotalUncompressedBytes} bytes uncompressed; refusing a possible zip bomb.");
            }

            await using var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
            // The declared size is not trusted: read at most one byte more than it says.
            var buffer = new byte[entry.Length + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false)) > 0)
            {
                read += n;
            }

            if (read > entry.Length)
            {
                throw new ValidationException("path", $"{path}!{entry.FullName}: more data than the declared size; refusing the archive.");
            }

            await add(buffer[..read], $"{path}!{entry.FullName}").ConfigureAwait(false);
            progress?.Report((done, archive.Entries.Count));
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(string file, CancellationToken cancellationToken)
    {
        CheckFileSize(file);
        return await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
    }

    private static void CheckFileSize(string file)
    {
        var info = new FileInfo(file);
        if (info.Length > MaxFeedFileBytes)
        {
            throw new ValidationException("path", $"{file}: {info.Length} bytes is larger than the 512 MiB a feed file may have.");
        }
    }

    /// <summary>Which feed a file holds, from its name and the first 4 KiB of its bytes (searched as UTF-8, nothing decoded).</summary>
    private static string Classify(ReadOnlySpan<byte> bytes, string name)
    {
        var head = bytes[..Math.Min(bytes.Length, 4096)];
        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            return head.StartsWith("#model_version"u8) || head.StartsWith("cve,epss"u8) ? "epss" : "kev-csv";
        }

        if (head.IndexOf("\"catalogVersion\""u8) >= 0 && head.IndexOf("\"vulnerabilities\""u8) >= 0)
        {
            return "kev-json";
        }

        if (head.IndexOf("\"NVD_CVE\""u8) >= 0
            || (head.IndexOf("\"vulnerabilities\""u8) >= 0 && head.IndexOf("\"cve\""u8) >= 0 && head.IndexOf("\"sourceIdentifier\""u8) >= 0))
        {
            return "nvd";
        }

        return "osv";
    }

    /// <summary>
    /// The files of a directory (recursively, ordinal path order). The size of every feed file (<c>*.json</c>,
    /// <c>*.csv</c>) is checked first: a file over the limit stops the import before anything is read or written.
    /// </summary>
    private static string[] FeedFiles(string directory)
    {
        var files = new List<string>();
        var enumeration = new System.IO.Enumeration.FileSystemEnumerable<(string Path, long Length)>(
            directory, static (ref System.IO.Enumeration.FileSystemEntry e) => (e.ToFullPath(), IsFeedFile(e.FileName) ? e.Length : 0),
            new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = static (ref System.IO.Enumeration.FileSystemEntry e) => !e.IsDirectory,
        };
        foreach (var (file, length) in enumeration)
        {
            if (length > MaxFeedFileBytes)
            {
                throw new ValidationException("path", $"{file}: {length} bytes is larger than the 512 MiB a feed file may have; nothing was imported.");
            }

            files.Add(file);
        }

        var sorted = files.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        return sorted;
    }

    private static bool IsFeedFile(ReadOnlySpan<char> name) => name.EndsWith(".json", StringComparison.Ordinal) || name.EndsWith(".csv", StringComparison.Ordinal);

    private static Task<PreparedFile[]> PrepareChunkAsync(string[] files, int start, bool keepModel, CancellationToken cancellationToken) => Task.Run(() =>
    {
        var prepared = new PreparedFile[Math.Min(ImportChunk, files.Length - start)];
        Parallel.For(0, prepared.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => prepared[i] = PreparedFile.Read(files[start + i], keepModel));
        return prepared;
    }, cancellationToken);

    /// <summary>
    /// One file of a directory import, read (and, for an OSV document, parsed and hashed) off the writing thread:
    /// the row to store, and the parsed advisory when the index is rebuilt from it. Other feed kinds (KEV, EPSS,
    /// NVD) keep their bytes for the sequential path.
    /// </summary>
    private readonly record struct PreparedFile(string Name, byte[]? Bytes, StoredAdvisory? Stored, OsvAdvisory? Advisory, Exception? Error, Exception? Fatal = null)
    {
        public static PreparedFile Read(string file, bool keepModel)
        {
            if (!IsFeedFile(Path.GetFileName(file.AsSpan())))
            {
                return new PreparedFile(file, null, null, null, null);
            }

            // Read into a pooled buffer: an OSV document needs its bytes only until it is parsed, hashed and decoded.
            byte[] buffer;
            int length;
            bool pooled;
            try
            {
                (buffer, length, pooled) = ReadFeedFile(file);
            }
            catch (ValidationException ex)
            {
                // Grown past the limit since it was listed: stops the import, as an oversized file does.
                return new PreparedFile(file, null, null, null, null, ex);
            }

            try
            {
                var bytes = buffer.AsSpan(0, length);
                if (Classify(bytes, file) != "osv")
                {
                    return new PreparedFile(file, !pooled && length == buffer.Length ? buffer : bytes.ToArray(), null, null, null);
                }

                // Without an index to rebuild, the document is only validated (same rules and errors, no model built).
                var advisory = keepModel ? OsvImporter.Parse(bytes, file) : null;
                var info = advisory is null ? OsvImporter.Validate(bytes, file) : new OsvDocumentInfo(advisory.Id, advisory.Modified, advisory.Withdrawn);
                var text = Encoding.UTF8.GetString(bytes);

                // The stored hash is that of the text's UTF-8 bytes: for a valid UTF-8 file, the file's own bytes.
                var hash = System.Text.Unicode.Utf8.IsValid(bytes) ? System.Security.Cryptography.SHA256.HashData(bytes) : StoredAdvisory.HashOf(text);
                var stored = new StoredAdvisory(info.Id, file, info.Modified, info.Withdrawn, text) { ContentHash = hash };
                return new PreparedFile(file, null, stored, advisory, null);
            }
            catch (AdvisoryFormatException ex)
            {
                return new PreparedFile(file, null, null, null, ex);
            }
            finally
            {
                if (pooled)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }

        /// <summary>Files up to this size are read into pooled buffers; larger ones (KEV, NVD, EPSS) into their own.</summary>
        private const int PooledFileBytes = 1 << 20;

        /// <summary>Reads a file whose size was checked when listed; one that has grown past the limit since is refused.</summary>
        private static (byte[] Buffer, int Length, bool Pooled) ReadFeedFile(string file)
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = RandomAccess.GetLength(handle);
            if (length > MaxFeedFileBytes)
            {
                throw new ValidationException("path", $"{file}: {length} bytes is larger than the 512 MiB a feed file may have.");
            }

            var pooled = length <= PooledFileBytes;
            var buffer = pooled ? System.Buffers.ArrayPool<byte>.Shared.Rent((int)length) : new byte[length];
            var read = 0;
            try
            {
                while (read < length)
                {
                    // Shrunk since its length was read: what is there is read.
                    var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }
            }
            catch when (pooled)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            return (buffer, read, pooled);
        }
    }

    /// <summary>What the index was built from: raw OSV advisories by id, NVD records by CVE id, KEV and EPSS.</summary>
    private sealed record Loaded(Dictionary<string, OsvAdvisory> Osv, Dictionary<string, NvdRecord> Nvd, KevCatalog? Kev, EpssScores? Epss);
}
