namespace McpSecurity.Benchmarks.Vulnerabilities;

/// <summary>Finds ../shared/data (or MCPSEC_TEST_DATA) for the vulnerability benchmarks.</summary>
internal static class BenchmarkData
{
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root(), .. parts]);

    private static string Root()
    {
        var env = Environment.GetEnvironmentVariable("MCPSEC_TEST_DATA");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { System.IO.Path.Combine(dir.FullName, "shared", "data"), System.IO.Path.Combine(dir.FullName, "..", "shared", "data") })
            {
                if (File.Exists(System.IO.Path.Combine(candidate, "README.md")))
                {
                    return System.IO.Path.GetFullPath(candidate);
                }
            }
        }

        throw new DirectoryNotFoundException("The shared test data folder was not found; set MCPSEC_TEST_DATA.");
    }
}
