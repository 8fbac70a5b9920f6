using System.Net.Http.Json;
using McpSecurity.Server.Apis;

namespace McpSecurity.Server.Tests.Support;

/// <summary>Waiting for background jobs over the REST API.</summary>
public static class JobPolling
{
    /// <summary>Polls <c>GET /api/v1/jobs/{id}</c> until the job succeeded, failed or was cancelled.</summary>
    public static async Task<JobDto> FinishedAsync(HttpClient client, string id, int seconds = 60)
    {
        ArgumentNullException.ThrowIfNull(client);
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < seconds * 20; i++)
        {
            var job = (await client.GetFromJsonAsync<JobDto>($"/api/v1/jobs/{id}", ct))!;
            if (job.State is "succeeded" or "failed" or "cancelled")
            {
                return job;
            }

            await Task.Delay(50, ct);
        }

        throw new TimeoutException($"job {id} did not finish within {seconds} s");
    }
}
