using Microsoft.Extensions.Hosting;

namespace McpSecurity.Server.SupplyChain;

/// <summary>Builds the advisory match index from the store when the platform starts.</summary>
internal sealed class AdvisoryIndexLoader(AdvisoryDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.ReloadAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
