using McpSecurity.Intel.Attack;
using McpSecurity.Server.Hosting;

namespace McpSecurity.Server.Reporting;

/// <summary>
/// The ATT&amp;CK catalogue of coverage reports: the file configured for reports (loaded once, on first use),
/// else the catalogue the detection module imported into the data directory (<c>mcpsec attack import</c>).
/// </summary>
internal static class AttackCatalogueSource
{
    public static Func<AttackCatalogue?> For(PlatformOptions options, Detection.AttackLibrary? library = null)
    {
        var path = options.Reports.AttackCatalogue;
        if (string.IsNullOrWhiteSpace(path))
        {
            return library is null ? static () => null : () => library.Catalogue;
        }

        var lazy = new Lazy<AttackCatalogue>(() => AttackCatalogue.LoadFile(path), LazyThreadSafetyMode.ExecutionAndPublication);
        return () => lazy.Value;
    }
}
