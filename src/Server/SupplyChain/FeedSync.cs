using McpSecurity.Core;
using McpSecurity.Server.Outbound;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Downloads feed files (OSV <c>all.zip</c>, CISA KEV JSON, EPSS CSV) over HTTPS through the outbound guard
/// and imports them with <see cref="AdvisoryDatabase.ImportAsync"/>. Plain HTTP is accepted only for hosts
/// in an allowed network (a local mirror or a test server).
/// </summary>
public sealed class FeedSync(AdvisoryDatabase database, OutboundGuard guard)
{
    /// <summary>Largest feed file downloaded.</summary>
    public const long MaxDownloadBytes = 2L << 30;

    /// <summary>Downloads and imports each URL in turn; returns one summary per URL.</summary>
    public async Task<IReadOnlyList<(string Url, AdvisoryImportSummary Summary)>> SyncAsync(IReadOnlyList<string> urls, CancellationToken cancellationToken)
    {
        var results = new List<(string, AdvisoryImportSummary)>();
        using var client = guard.CreateClient(TimeSpan.FromMinutes(10));
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                throw new ValidationException("feeds", $"Feed URL '{url}' is not an absolute http(s) URL.");
            }

            if (uri.Scheme == "http" && !(System.Net.IPAddress.TryParse(uri.Host, out var ip) && guard.IsAllowedByConfiguration(ip)))
            {
                throw new ValidationException("feeds", $"Feed URL '{url}' must use HTTPS (plain HTTP is only accepted for an address in Outbound:AllowedNetworks).");
            }

            var name = Path.GetFileName(uri.AbsolutePath);
            if (string.IsNullOrEmpty(name) || !(name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)))
            {
                throw new ValidationException("feeds", $"Feed URL '{url}' must name a .zip, .json or .csv file.");
            }

            var dir = Path.Combine(Path.GetTempPath(), "mcpsec-feed-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(dir);
            try
            {
                var file = Path.Combine(dir, name);
                using (var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false))
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new IOException($"Feed '{url}' answered {(int)response.StatusCode} {response.ReasonPhrase}.");
                    }

                    await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                    await using var target = File.Create(file);
                    var buffer = new byte[81920];
                    long total = 0;
                    int read;
                    while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        total += read;
                        if (total > MaxDownloadBytes)
                        {
                            throw new IOException($"Feed '{url}' is larger than {MaxDownloadBytes} bytes; download stopped.");
                        }

                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }
                }

                results.Add((url, await database.ImportAsync(file, null, cancellationToken).ConfigureAwait(false)));
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        return results;
    }
}
