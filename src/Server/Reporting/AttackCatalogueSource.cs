using McpSecurity.Intel.Attack;
using McpSecurity.Server.Hosting;

namespace McpSecurity.Server.Reporting;

/// <summary>Loads the configured ATT&amp;CK catalogue once, on first use by a coverage report.</summary>
internal static class AttackCatalogueSource
{
    public static Func<AttackCatalogue?> For(PlatformOptions options)
    {
        var path = options.Reports.AttackCatalogue;
        if (string.IsNullOrWhiteSpace(path))
        {
            return static () => null;
        }

        var lazy = new Lazy<AttackCatalogue>(() => AttackCatalogue.LoadFile(path), LazyThreadSafetyMode.ExecutionAndPublication);
        return () => lazy.Value;
    }
}
