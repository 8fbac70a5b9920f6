using McpSecurity.Core;
using McpSecurity.Server.Access;
using MudBlazor;

namespace McpSecurity.Web;

/// <summary>Runs a UI action and shows its outcome; refusals and bad input become messages, other errors propagate.</summary>
public static class UiActions
{
    /// <summary>Runs <paramref name="action"/>; returns true when it succeeded.</summary>
    public static async Task<bool> RunAsync(ISnackbar snackbar, Func<Task> action, string? success = null)
    {
        ArgumentNullException.ThrowIfNull(snackbar);
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            await action().ConfigureAwait(true);
            if (success is not null)
            {
                snackbar.Add(success, Severity.Success);
            }

            return true;
        }
        catch (Exception ex) when (ex is ForbiddenException or ValidationException or NotFoundException or ConflictException)
        {
            snackbar.Add(ex.Message, Severity.Error);
            return false;
        }
    }
}
