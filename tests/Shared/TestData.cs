using System.Runtime.CompilerServices;

namespace McpSecurity.Testing;

/// <summary>
/// Locates the shared third-party test data (../shared/data beside the repository, or the folder
/// named by MCPSEC_TEST_DATA). Fails loudly when the folder is missing: tests never silently skip data.
/// </summary>
internal static class TestData
{
    private static readonly Lazy<string> LazyRoot = new(Locate);

    /// <summary>Absolute path of the data root.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>Absolute path of a file or folder under the data root; throws if it does not exist.</summary>
    public static string Path(params string[] parts)
    {
        var full = System.IO.Path.Combine([Root, .. parts]);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            throw new FileNotFoundException($"Test data '{string.Join('/', parts)}' not found under {Root}.", full);
        }

        return full;
    }

    private static string Locate()
    {
        var env = Environment.GetEnvironmentVariable("MCPSEC_TEST_DATA");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return Directory.Exists(env)
                ? System.IO.Path.GetFullPath(env)
                : throw new DirectoryNotFoundException($"MCPSEC_TEST_DATA points to '{env}', which does not exist.");
        }

        var dir = System.IO.Path.GetDirectoryName(ThisFile())!;
        while (dir is not null)
        {
            var candidate = System.IO.Path.Combine(dir, "shared", "data");
            if (Directory.Exists(candidate) && File.Exists(System.IO.Path.Combine(candidate, "README.md")))
            {
                return candidate;
            }

            candidate = System.IO.Path.Combine(dir, "..", "shared", "data");
            if (Directory.Exists(candidate) && File.Exists(System.IO.Path.Combine(candidate, "README.md")))
            {
                return System.IO.Path.GetFullPath(candidate);
            }

            dir = System.IO.Path.GetDirectoryName(dir);
        }

        throw new DirectoryNotFoundException(
            "The shared test data folder (../shared/data beside the repository) was not found. " +
            "Check it out next to the repository or set MCPSEC_TEST_DATA to its path.");
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
