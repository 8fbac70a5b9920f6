using McpSecurity.Core;
using McpSecurity.Core.Storage.Sql;
using McpSecurity.Storage.Postgres;
using McpSecurity.Storage.Sqlite;
using McpSecurity.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace McpSecurity.Storage.Tests;

/// <summary>A dialect that runs the real one's migrations plus some extra ones.</summary>
internal sealed class ExtraMigrationsDialect(SqlDialect inner, IReadOnlyList<Migration> extra) : SqlDialect
{
    public override string Provider => inner.Provider;

    public override string ForUpdate => inner.ForUpdate;

    public override string ForUpdateOf(string alias) => inner.ForUpdateOf(alias);

    public override string SkipLocked => inner.SkipLocked;

    public override string? MigrationLockSql => inner.MigrationLockSql;

    public override IReadOnlyList<Migration> Migrations => [.. inner.Migrations, .. extra];

    public override ValueTask<System.Data.Common.DbConnection> OpenAsync(string? tenantId, CancellationToken cancellationToken) => inner.OpenAsync(tenantId, cancellationToken);

    public override ValueTask<System.Data.Common.DbTransaction> BeginWriteAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken) => inner.BeginWriteAsync(connection, cancellationToken);

    public override bool IsUniqueViolation(System.Data.Common.DbException exception) => inner.IsUniqueViolation(exception);

    public override string ComponentSearchPredicate => inner.ComponentSearchPredicate;

    public override string ComponentSearchQuery(IReadOnlyList<string> tokens) => inner.ComponentSearchQuery(tokens);
}

public sealed class SqliteStoreContractTests : StoreContract
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"mcpsec-test-{Guid.NewGuid():N}.db");

    protected override Task<SqlStore> CreateStoreAsync() => SqliteStore.OpenAsync(_path, TimeProvider.System, Ct);

    protected override async Task<int> ExecuteRawAsync(string sql)
    {
        await using var c = new SqliteConnection($"Data Source={_path};Pooling=False");
        await c.OpenAsync(Ct);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteNonQueryAsync(Ct);
    }

    protected override SqlStore CreateStoreWithExtraMigrations(params Migration[] extra) =>
        new(new ExtraMigrationsDialect(SqliteStore.CreateDialect(_path), extra), TimeProvider.System);

    protected override SqlStore CreateStoreWithClock(TimeProvider clock) => SqliteStore.Create(_path, clock);

    [Fact]
    public async Task Open_CorruptedFile_ClearErrorNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mcpsec-corrupt-{Guid.NewGuid():N}.db");
        await File.WriteAllBytesAsync(path, System.Text.Encoding.ASCII.GetBytes("this is not a database file, just text ".PadRight(8192, 'x')), Ct);
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => SqliteStore.OpenAsync(path, TimeProvider.System, Ct));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("backup", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_UsesWriteAheadLog()
    {
        await using var c = new SqliteConnection($"Data Source={_path};Pooling=False");
        await c.OpenAsync(Ct);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync(Ct));
    }
}

public sealed class PostgresStoreContractTests(PostgresServer server) : StoreContract
{
    private string _connection = "";

    protected override async Task<SqlStore> CreateStoreAsync()
    {
        _connection = await server.CreateDatabaseAsync();
        return await PostgresStore.OpenAsync(_connection, TimeProvider.System, Ct);
    }

    protected override async Task<int> ExecuteRawAsync(string sql)
    {
        await using var c = new NpgsqlConnection(_connection);
        await c.OpenAsync(Ct);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteNonQueryAsync(Ct);
    }

    protected override SqlStore CreateStoreWithExtraMigrations(params Migration[] extra) =>
        new(new ExtraMigrationsDialect(PostgresStore.CreateDialect(NpgsqlDataSource.Create(_connection)), extra), TimeProvider.System);

    protected override SqlStore CreateStoreWithClock(TimeProvider clock) => PostgresStore.Create(_connection, clock);

    [Fact]
    public async Task RowLevelSecurity_TenantSessionSeesOnlyItsRows()
    {
        var a = await Store.CreateTenantAsync("rls-a", false, Core.Access.Actor.System("t"), Ct);
        var b = await Store.CreateTenantAsync("rls-b", false, Core.Access.Actor.System("t"), Ct);
        await using var c = new NpgsqlConnection(_connection);
        await c.OpenAsync(Ct);
        await using var set = c.CreateCommand();
        set.CommandText = $"SELECT set_config('app.tenant_id', '{a.Id}', false)";
        await set.ExecuteNonQueryAsync(Ct);
        await using var count = c.CreateCommand();
        // No tenant filter in the query: row-level security alone must hide tenant b's audit entries.
        count.CommandText = "SELECT COUNT(DISTINCT tenant_id) FROM audit_log";
        Assert.Equal(1L, (long)(await count.ExecuteScalarAsync(Ct))!);
        count.CommandText = $"SELECT COUNT(*) FROM audit_log WHERE tenant_id = '{b.Id}'";
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync(Ct))!);
    }
}
