using System.IO.Compression;
using System.Text.Json;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>
/// Reads OSV advisories: one JSON document, a directory of <c>*.json</c> files, or the
/// <c>all.zip</c> archive that OSV publishes per ecosystem. Documents are strict: a malformed
/// document is rejected with its file and JSON path. When reading many documents, each bad one
/// is recorded in <see cref="AdvisoryImportResult.Errors"/> and the rest are still read.
/// </summary>
public static class OsvImporter
{
    /// <summary>Parses one OSV document from UTF-8 JSON.</summary>
    /// <param name="utf8Json">The document bytes (a UTF-8 byte order mark is allowed).</param>
    /// <param name="source">The file or entry name used in error messages and kept on the advisory.</param>
    /// <returns>The advisory.</returns>
    /// <exception cref="AdvisoryFormatException">The document is not valid JSON or not a valid OSV advisory.</exception>
    public static OsvAdvisory Parse(ReadOnlySpan<byte> utf8Json, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (utf8Json.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        return OsvReader.Parse(utf8Json, source);
    }

    /// <summary>
    /// Validates one OSV document by exactly the rules of <see cref="Parse"/>, with the same errors, without
    /// building the model: for storing documents whose model is not needed (<c>mcpsec db import</c>).
    /// </summary>
    /// <param name="utf8Json">The document bytes (a UTF-8 byte order mark is allowed).</param>
    /// <param name="source">The file or entry name used in error messages.</param>
    /// <returns>The advisory's id, <c>modified</c> and <c>withdrawn</c>.</returns>
    /// <exception cref="AdvisoryFormatException">The document is not valid JSON or not a valid OSV advisory.</exception>
    public static OsvDocumentInfo Validate(ReadOnlySpan<byte> utf8Json, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (utf8Json.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        return OsvReader.Validate(utf8Json, source);
    }

    /// <summary>Reads one OSV JSON file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The advisory.</returns>
    /// <exception cref="AdvisoryFormatException">The document is malformed.</exception>
    public static OsvAdvisory ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads every <c>*.json</c> file under a directory (recursively, in ordinal path order).</summary>
    /// <param name="directory">The directory.</param>
    /// <param name="cancellationToken">Stops the import between files.</param>
    /// <returns>The advisories read and one error per rejected file.</returns>
    public static AdvisoryImportResult ReadDirectory(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var files = Directory.GetFiles(directory, "*.json", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        var advisories = new List<OsvAdvisory>(files.Length);
        var errors = new List<AdvisoryImportError>();
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                advisories.Add(Parse(File.ReadAllBytes(file), file));
            }
            catch (AdvisoryFormatException ex)
            {
                errors.Add(new AdvisoryImportError(file, ex.Message));
            }
        }

        return new AdvisoryImportResult(advisories, errors);
    }

    /// <summary>
    /// Reads the <c>*.json</c> entries of an OSV zip archive (such as <c>all.zip</c>), enforcing
    /// <paramref name="limits"/> against zip bombs: entry count, declared and actual uncompressed
    /// sizes and compression ratio. A limit breach stops the import with an exception.
    /// </summary>
    /// <param name="path">The archive path.</param>
    /// <param name="limits">The limits; <see cref="ZipImportLimits.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the import between entries.</param>
    /// <returns>The advisories read and one error per rejected entry.</returns>
    /// <exception cref="AdvisoryFormatException">The archive breaks a limit or is not a zip file.</exception>
    public static AdvisoryImportResult ReadZip(string path, ZipImportLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return ReadZip(stream, path, limits, cancellationToken);
    }

    /// <summary>Reads the <c>*.json</c> entries of an OSV zip archive from a seekable stream.</summary>
    /// <param name="archive">The archive stream; left open.</param>
    /// <param name="source">The archive name for messages.</param>
    /// <param name="limits">The limits; <see cref="ZipImportLimits.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops the import between entries.</param>
    /// <returns>The advisories read and one error per rejected entry.</returns>
    /// <exception cref="AdvisoryFormatException">The archive breaks a limit or is not a zip file.</exception>
    public static AdvisoryImportResult ReadZip(Stream archive, string source, ZipImportLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        ArgumentNullException.ThrowIfNull(source);
        limits ??= ZipImportLimits.Default;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(archive, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            throw new AdvisoryFormatException(source, "archive", $"not a readable zip file ({ex.Message})", ex);
        }

        using (zip)
        {
            var entries = zip.Entries;
            if (entries.Count > limits.MaxEntries)
            {
                throw new AdvisoryFormatException(source, "archive", $"{entries.Count} entries exceed the limit of {limits.MaxEntries} (ZipImportLimits.MaxEntries)");
            }

            var advisories = new List<OsvAdvisory>(entries.Count);
            var errors = new List<AdvisoryImportError>();
            long total = 0;
            byte[] buffer = [];
            foreach (var entry in entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!entry.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var name = $"{source}!{entry.FullName}";
                var declared = entry.Length;
                if (declared > limits.MaxEntryUncompressedBytes)
                {
                    throw new AdvisoryFormatException(name, "entry", $"uncompressed size {declared} bytes exceeds the limit of {limits.MaxEntryUncompressedBytes} (ZipImportLimits.MaxEntryUncompressedBytes)");
                }

                CheckRatio(name, declared, entry.CompressedLength, limits);
                total += declared;
                if (total > limits.MaxTotalUncompressedBytes)
                {
                    throw new AdvisoryFormatException(name, "archive", $"total uncompressed size exceeds the limit of {limits.MaxTotalUncompressedBytes} bytes (ZipImportLimits.MaxTotalUncompressedBytes)");
                }

                if (buffer.Length < declared + 1)
                {
                    buffer = new byte[Math.Max(declared + 1, Math.Min(buffer.Length * 2L, limits.MaxEntryUncompressedBytes + 1))];
                }

                int read;
                try
                {
                    read = ReadEntry(entry, buffer, (int)declared);
                }
                catch (InvalidDataException ex)
                {
                    errors.Add(new AdvisoryImportError(name, $"{name}: entry: cannot be decompressed ({ex.Message})"));
                    continue;
                }

                if (read > declared)
                {
                    // The entry inflates past its declared size: the header lies, treat it as a bomb.
                    throw new AdvisoryFormatException(name, "entry", $"decompresses to more than its declared {declared} bytes");
                }

                try
                {
                    advisories.Add(Parse(buffer.AsSpan(0, read), name));
                }
                catch (AdvisoryFormatException ex)
                {
                    errors.Add(new AdvisoryImportError(name, ex.Message));
                }
            }

            return new AdvisoryImportResult(advisories, errors);
        }
    }

    private static void CheckRatio(string name, long uncompressed, long compressed, ZipImportLimits limits)
    {
        if (uncompressed < limits.RatioCheckMinimumBytes)
        {
            return;
        }

        if (compressed <= 0 || (double)uncompressed / compressed > limits.MaxCompressionRatio)
        {
            throw new AdvisoryFormatException(name, "entry", $"compression ratio {uncompressed}:{compressed} exceeds the limit of {limits.MaxCompressionRatio} (ZipImportLimits.MaxCompressionRatio)");
        }
    }

    /// <summary>Reads up to <paramref name="declared"/> + 1 bytes, so an oversized entry is detected without inflating it.</summary>
    private static int ReadEntry(ZipArchiveEntry entry, byte[] buffer, int declared)
    {
        using var s = entry.Open();
        var total = 0;
        var limit = declared + 1;
        while (total < limit)
        {
            var n = s.Read(buffer, total, limit - total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    internal static string JsonLocation(JsonException ex)
    {
        var path = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
        return ex.LineNumber is { } line ? $"{path} (line {line + 1})" : path;
    }

    internal static string FirstSentence(string message)
    {
        // System.Text.Json appends "Path: ... | LineNumber: ..." (the reader: "LineNumber: ...") which the location already gives.
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>What identifies a validated OSV document.</summary>
/// <param name="Id">The advisory id.</param>
/// <param name="Modified">When it was last changed; null when unknown.</param>
/// <param name="Withdrawn">When it was withdrawn; null when it stands.</param>
public sealed record OsvDocumentInfo(string Id, DateTimeOffset? Modified, DateTimeOffset? Withdrawn);

/// <summary>The outcome of reading many advisory documents.</summary>
/// <param name="Advisories">The advisories that were read.</param>
/// <param name="Errors">One entry per document that was rejected.</param>
public sealed record AdvisoryImportResult(IReadOnlyList<OsvAdvisory> Advisories, IReadOnlyList<AdvisoryImportError> Errors);

/// <summary>A document that could not be read.</summary>
/// <param name="Document">The file or archive entry.</param>
/// <param name="Message">Why it was rejected, with the JSON path.</param>
public sealed record AdvisoryImportError(string Document, string Message);

/// <summary>Limits applied to zip archives, against zip bombs.</summary>
public sealed record ZipImportLimits
{
    /// <summary>The defaults: 2,000,000 entries, 32 MiB per entry, 16 GiB in total, ratio 200 for entries of 1 MiB or more.</summary>
    public static ZipImportLimits Default { get; } = new();

    /// <summary>The most entries the archive may have.</summary>
    public int MaxEntries { get; init; } = 2_000_000;

    /// <summary>The largest uncompressed size of one entry, in bytes.</summary>
    public int MaxEntryUncompressedBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>The largest total uncompressed size of the JSON entries, in bytes.</summary>
    public long MaxTotalUncompressedBytes { get; init; } = 16L * 1024 * 1024 * 1024;

    /// <summary>The largest uncompressed:compressed ratio of one entry.</summary>
    public double MaxCompressionRatio { get; init; } = 200;

    /// <summary>Entries smaller than this many uncompressed bytes are not ratio-checked (tiny JSON compresses well).</summary>
    public long RatioCheckMinimumBytes { get; init; } = 1024 * 1024;
}
