using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace McpSecurity.Testing;

/// <summary>
/// A throwaway PostgreSQL server on 127.0.0.1 and a free port, made with Debian's binaries
/// (/usr/lib/postgresql/*/bin) in a temporary directory and removed afterwards. Runs as the
/// 'postgres' user when the tests run as root. Without PostgreSQL installed, tests skip locally
/// and fail when CI=true.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private Process? _process;
    private string? _dir;
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private int _databases;

    /// <summary>Connection string of the server's admin database, or null when unavailable.</summary>
    public string? AdminConnectionString { get; private set; }

    /// <summary>Why the server is unavailable (null when it runs).</summary>
    public string? Unavailable { get; private set; }

    /// <summary>True when CI=true: then nothing may be skipped.</summary>
    public static bool OnCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        var bin = FindBinaries();
        if (bin is null)
        {
            Unavailable = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql).";
            if (OnCi)
            {
                throw new InvalidOperationException(Unavailable + " CI=true requires PostgreSQL tests to run.");
            }

            return;
        }

        var asRoot = Environment.UserName == "root";
        _dir = Path.Combine(Path.GetTempPath(), "mcpsec-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
        if (asRoot)
        {
            await RunAsync("chown", ["postgres:postgres", _dir]).ConfigureAwait(false);
        }

        var data = Path.Combine(_dir, "data");
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], asRoot).ConfigureAwait(false);
        var port = FreePort();
        var start = Command(Path.Combine(bin, "postgres"),
            ["-D", data, "-p", port.ToString(CultureInfo.InvariantCulture), "-k", _dir, "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"], asRoot);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start postgres.");
        _process.ErrorDataReceived += (_, _) => { };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();

        AdminConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=true;Timeout=5";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await using var c = new NpgsqlConnection(AdminConnectionString);
                await c.OpenAsync().ConfigureAwait(false);
                break;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Creates a fresh database and returns its connection string; skips or fails when PostgreSQL is missing.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        if (AdminConnectionString is null)
        {
            Assert.Skip(Unavailable ?? "PostgreSQL unavailable");
        }

        var name = "t" + Interlocked.Increment(ref _databases).ToString(CultureInfo.InvariantCulture) + "_" + Guid.NewGuid().ToString("N")[..8];
        await _createLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await using var c = new NpgsqlConnection(AdminConnectionString);
            await c.OpenAsync().ConfigureAwait(false);
            await using var cmd = c.CreateCommand();
            // The platform connects as an ordinary role that owns its database, as in production:
            // superusers bypass row-level security, so tests must not use one.
            cmd.CommandText = "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mcpsec_app') THEN CREATE ROLE mcpsec_app LOGIN; END IF; END $$;";
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
            cmd.CommandText = $"CREATE DATABASE {name} OWNER mcpsec_app";
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        finally
        {
            _createLock.Release();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Username = "mcpsec_app" }.ConnectionString;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process?.Dispose();
        _createLock.Dispose();
        if (_dir is not null && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string? FindBinaries()
    {
        if (!Directory.Exists("/usr/lib/postgresql"))
        {
            return null;
        }

        string? best = null;
        var bestVersion = 0;
        foreach (var dir in Directory.GetDirectories("/usr/lib/postgresql"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > bestVersion &&
                File.Exists(Path.Combine(dir, "bin", "initdb")) && File.Exists(Path.Combine(dir, "bin", "postgres")))
            {
                best = Path.Combine(dir, "bin");
                bestVersion = v;
            }
        }

        return best;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static ProcessStartInfo Command(string file, string[] args, bool asPostgresUser = false)
    {
        var psi = asPostgresUser ? new ProcessStartInfo("runuser") : new ProcessStartInfo(file);
        if (asPostgresUser)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add("postgres");
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(file);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.UseShellExecute = false;
        return psi;
    }

    private static async Task RunAsync(string file, string[] args, bool asPostgresUser = false)
    {
        var psi = Command(file, args, asPostgresUser);
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync().ConfigureAwait(false);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr.ConfigureAwait(false)}{await stdout.ConfigureAwait(false)}");
        }
    }
}
