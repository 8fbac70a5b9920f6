using System.CommandLine;
using McpSecurity.Server.Hosting;
using McpSecurity.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace McpSecurity.Cli.Commands;

/// <summary><c>mcpsec serve</c>: runs the platform.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080; env MCPSEC__URLS)" };
        var roles = new Option<string?>("--roles") { Description = "Roles of this process: api, ingest, detect, respond, report, all (default all; env MCPSEC__ROLES)" };
        var demo = new Option<bool>("--demo") { Description = "Load the demo data set (a demo tenant with users, a key and a first job)" };
        var command = new Command("serve", "Run the platform: REST API, background jobs and every module of the selected roles.");
        command.Add(urls);
        command.Add(roles);
        command.Add(demo);
        StoreCliOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var options = StoreCliOptions.Resolve(parse);
            options.Urls = parse.GetValue(urls) ?? options.Urls;
            options.Roles = parse.GetValue(roles) ?? options.Roles;
            options.Demo |= parse.GetValue(demo);
            options.Validate();
            var output = parse.InvocationConfiguration.Output;

            var store = await StoreCliOptions.OpenAsync(options, ct).ConfigureAwait(false);
            var (tenant, ownerKey) = await Bootstrap.EnsureInitialisedAsync(store, ct).ConfigureAwait(false);
            if (ownerKey is not null)
            {
                await output.WriteLineAsync($"Initialised tenant '{tenant.Name}'. Owner API key (shown once, store it now):").ConfigureAwait(false);
                await output.WriteLineAsync($"  {ownerKey}").ConfigureAwait(false);
            }

            if (options.Demo)
            {
                foreach (var line in await DemoData.LoadAsync(store, ct).ConfigureAwait(false))
                {
                    await output.WriteLineAsync(line).ConfigureAwait(false);
                }
            }

            var app = PlatformHost.Build(options, store, null, services => services.AddWebUi());
            app.MapWebUi();
            await app.StartAsync(ct).ConfigureAwait(false);
            if (options.Demo)
            {
                foreach (var line in await Server.Detection.DemoDetection.LoadAsync(app.Services, ct).ConfigureAwait(false))
                {
                    await output.WriteLineAsync(line).ConfigureAwait(false);
                }
            }

            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                await output.WriteLineAsync($"mcpsec is listening on {address} (store: {store.Provider}, data: {options.DataDir})").ConfigureAwait(false);
                await output.WriteLineAsync($"  try: curl -H \"Authorization: Bearer <key>\" {address}/api/v1/tenants").ConfigureAwait(false);
            }

            await output.FlushAsync(ct).ConfigureAwait(false);
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            return CliApp.Ok;
        });
        return command;
    }
}
