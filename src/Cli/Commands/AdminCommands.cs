using System.CommandLine;
using System.Globalization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using McpSecurity.Core.Tenancy;
using McpSecurity.Server.Hosting;

namespace McpSecurity.Cli.Commands;

/// <summary>Administration on the host: init, tenants, API keys, users, audit verification.</summary>
internal static class AdminCommands
{
    private static readonly Actor Cli = new("system", "cli", $"cli:{Environment.UserName}");

    private static Option<string> TenantOption() => new("--tenant") { Description = "Tenant name or id", Required = true };

    public static Command Init()
    {
        var command = new Command("init", "Create the data directory, the store, the operator tenant and its owner API key (printed once).");
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var options = StoreCliOptions.Resolve(parse);
            await using var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var (tenant, key) = await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            if (key is null)
            {
                await output.WriteLineAsync($"Already initialised (operator tenant '{tenant.Name}'). Use 'mcpsec apikey create' for a new key.").ConfigureAwait(false);
                return CliApp.Ok;
            }

            await output.WriteLineAsync($"Initialised {store.Provider} store in {options.DataDir}; operator tenant '{tenant.Name}' ({tenant.Id}).").ConfigureAwait(false);
            await output.WriteLineAsync("Owner API key (shown once, store it now):").ConfigureAwait(false);
            await output.WriteLineAsync($"  {key}").ConfigureAwait(false);
            return CliApp.Ok;
        });
        return command;
    }

    public static Command Tenant()
    {
        var command = new Command("tenant", "Manage tenants.");
        StoreCliOptions.AddTo(command);

        var name = new Argument<string>("name") { Description = "Tenant name (unique, case-insensitive)" };
        var create = new Command("create", "Create a tenant and print its owner API key (once).") { name };
        create.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            var tenant = await store.CreateTenantAsync(parse.GetValue(name)!, false, Cli, ct).ConfigureAwait(false);
            var (_, secret) = await ApiKeyIssuer.IssueAsync(store.ForTenant(TenantScope.For(tenant.Id)), "owner (created with tenant)", Role.Owner, null, Cli, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync($"Created tenant '{tenant.Name}' ({tenant.Id}).").ConfigureAwait(false);
            await output.WriteLineAsync($"Owner API key (shown once): {secret}").ConfigureAwait(false);
            return CliApp.Ok;
        });

        var list = new Command("list", "List tenants.");
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync($"{"ID",-32} {"NAME",-32} {"OPERATOR",-8} CREATED").ConfigureAwait(false);
            foreach (var t in await store.ListAllTenantsAsync(ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"{t.Id,-32} {t.Name,-32} {(t.IsOperator ? "yes" : "no"),-8} {Iso(t.CreatedAt)}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });
        command.Add(create);
        command.Add(list);
        return command;
    }

    public static Command ApiKey()
    {
        var command = new Command("apikey", "Manage API keys of a tenant.");
        StoreCliOptions.AddTo(command);

        var tenantOpt = TenantOption();
        var name = new Option<string>("--name") { Description = "Key name (unique per tenant)", Required = true };
        var role = new Option<string>("--role") { Description = "Role: viewer, auditor, analyst, responder, admin, owner", DefaultValueFactory = _ => "viewer" };
        role.AcceptOnlyFromAmong("viewer", "auditor", "analyst", "responder", "admin", "owner");
        var expires = new Option<DateTimeOffset?>("--expires") { Description = "Expiry time (ISO 8601), e.g. 2027-01-31T00:00:00Z" };
        var create = new Command("create", "Create an API key and print its secret (once).") { tenantOpt, name, role, expires };
        create.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var ts = await ResolveTenantAsync(store, parse.GetValue(tenantOpt)!, ct).ConfigureAwait(false);
            var (key, secret) = await ApiKeyIssuer.IssueAsync(ts, parse.GetValue(name)!, Roles.Parse(parse.GetValue(role)), parse.GetValue(expires), Cli, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync($"Created API key '{key.Name}' ({key.Id}) with role {key.Role.Name()}.").ConfigureAwait(false);
            await output.WriteLineAsync($"Secret (shown once): {secret}").ConfigureAwait(false);
            return CliApp.Ok;
        });

        var listTenant = TenantOption();
        var list = new Command("list", "List API keys (never their secrets).") { listTenant };
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var ts = await ResolveTenantAsync(store, parse.GetValue(listTenant)!, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            var now = DateTimeOffset.UtcNow;
            await output.WriteLineAsync($"{"ID",-32} {"NAME",-28} {"PREFIX",-14} {"ROLE",-10} {"STATUS",-8} EXPIRES").ConfigureAwait(false);
            foreach (var k in await ts.ListApiKeysAsync(ct).ConfigureAwait(false))
            {
                var status = k.RevokedAt is not null ? "revoked" : k.IsActive(now) ? "active" : "expired";
                await output.WriteLineAsync($"{k.Id,-32} {k.Name,-28} {k.Prefix,-14} {k.Role.Name(),-10} {status,-8} {(k.ExpiresAt is { } e ? Iso(e) : "-")}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });

        var revokeTenant = TenantOption();
        var id = new Argument<string>("id") { Description = "API key id" };
        var revoke = new Command("revoke", "Revoke an API key.") { revokeTenant, id };
        revoke.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var ts = await ResolveTenantAsync(store, parse.GetValue(revokeTenant)!, ct).ConfigureAwait(false);
            var key = await ts.RevokeApiKeyAsync(parse.GetValue(id)!, Cli, ct).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync($"Revoked API key '{key.Name}' ({key.Id}).").ConfigureAwait(false);
            return CliApp.Ok;
        });
        command.Add(create);
        command.Add(list);
        command.Add(revoke);
        return command;
    }

    public static Command User()
    {
        var command = new Command("user", "Manage local users of a tenant (for the web UI).");
        StoreCliOptions.AddTo(command);

        var tenantOpt = TenantOption();
        var name = new Option<string>("--name") { Description = "User name (unique per tenant)", Required = true };
        var email = new Option<string?>("--email") { Description = "E-mail address" };
        var role = new Option<string>("--role") { Description = "Role: viewer, auditor, analyst, responder, admin, owner", DefaultValueFactory = _ => "viewer" };
        role.AcceptOnlyFromAmong("viewer", "auditor", "analyst", "responder", "admin", "owner");
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input (else from env MCPSEC_PASSWORD)" };
        var create = new Command("create", "Create a user. The password comes from stdin or MCPSEC_PASSWORD, never from an argument.") { tenantOpt, name, email, role, passwordStdin };
        create.SetAction(async (parse, ct) =>
        {
            var password = parse.GetValue(passwordStdin)
                ? (await Console.In.ReadLineAsync(ct).ConfigureAwait(false))?.TrimEnd('\r', '\n')
                : Environment.GetEnvironmentVariable("MCPSEC_PASSWORD");
            Credentials.ValidatePassword(password);
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var ts = await ResolveTenantAsync(store, parse.GetValue(tenantOpt)!, ct).ConfigureAwait(false);
            var user = await ts.CreateUserAsync(parse.GetValue(name)!, parse.GetValue(email), Roles.Parse(parse.GetValue(role)), Credentials.HashPassword(password!), Cli, ct).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync($"Created user '{user.Name}' ({user.Id}) with role {user.Role.Name()}.").ConfigureAwait(false);
            return CliApp.Ok;
        });

        var listTenant = TenantOption();
        var list = new Command("list", "List users.") { listTenant };
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var ts = await ResolveTenantAsync(store, parse.GetValue(listTenant)!, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync($"{"ID",-32} {"NAME",-24} {"ROLE",-10} {"STATUS",-8} EMAIL").ConfigureAwait(false);
            foreach (var u in await ts.ListUsersAsync(ct).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"{u.Id,-32} {u.Name,-24} {u.Role.Name(),-10} {(u.Disabled ? "disabled" : "active"),-8} {u.Email}").ConfigureAwait(false);
            }

            return CliApp.Ok;
        });

        var disableTenant = TenantOption();
        var id = new Argument<string>("id") { Description = "User id" };
        var disable = new Command("disable", "Disable a user (their sessions end at the next request).") { disableTenant, id };
        disable.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var ts = await ResolveTenantAsync(store, parse.GetValue(disableTenant)!, ct).ConfigureAwait(false);
            var user = await ts.SetUserDisabledAsync(parse.GetValue(id)!, true, Cli, ct).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync($"Disabled user '{user.Name}' ({user.Id}).").ConfigureAwait(false);
            return CliApp.Ok;
        });
        command.Add(create);
        command.Add(list);
        command.Add(disable);
        return command;
    }

    public static Command Audit()
    {
        var command = new Command("audit", "Audit log tools.");
        StoreCliOptions.AddTo(command);
        var tenant = new Option<string?>("--tenant") { Description = "Tenant name or id (default: every tenant)" };
        var verify = new Command("verify", "Verify the hash chain of the audit log; exit code 1 and the first broken link if tampered.") { tenant };
        verify.SetAction(async (parse, ct) =>
        {
            await using var store = await StoreCliOptions.OpenAsync(StoreCliOptions.Resolve(parse), ct).ConfigureAwait(false);
            var targets = new List<TenantScope>();
            if (parse.GetValue(tenant) is { } t)
            {
                targets.Add((await ResolveTenantAsync(store, t, ct).ConfigureAwait(false)).Scope);
            }
            else
            {
                foreach (var each in await store.ListAllTenantsAsync(ct).ConfigureAwait(false))
                {
                    targets.Add(TenantScope.For(each.Id));
                }
            }

            var output = parse.InvocationConfiguration.Output;
            var ok = true;
            foreach (var scope in targets)
            {
                var result = await store.ForTenant(scope).VerifyAuditAsync(ct).ConfigureAwait(false);
                ok &= result.Valid;
                await output.WriteLineAsync(result.Valid
                    ? $"{scope.TenantId}: ok ({result.EntriesChecked} entries)"
                    : $"{scope.TenantId}: BROKEN at entry {result.FirstBrokenSequence}: {result.Reason}").ConfigureAwait(false);
            }

            return ok ? CliApp.Ok : CliApp.Failure;
        });
        command.Add(verify);
        return command;
    }

    internal static async Task<ITenantStore> ResolveTenantAsync(IStore store, string nameOrId, CancellationToken ct)
    {
        var byName = await store.FindTenantByNameAsync(nameOrId, ct).ConfigureAwait(false);
        if (byName is not null)
        {
            return store.ForTenant(TenantScope.For(byName.Id));
        }

        foreach (var t in await store.ListAllTenantsAsync(ct).ConfigureAwait(false))
        {
            if (string.Equals(t.Id, nameOrId, StringComparison.Ordinal))
            {
                return store.ForTenant(TenantScope.For(t.Id));
            }
        }

        throw new NotFoundException($"No tenant named or with id '{nameOrId}'. 'mcpsec tenant list' shows the tenants.");
    }

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
