using MudBlazor;

namespace McpSecurity.Web.Components.Layout;

/// <summary>The UI's light and dark palettes (text contrast at least 4.5:1 on their backgrounds).</summary>
internal static class UiTheme
{
    public static MudTheme Theme { get; } = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#1f4e8c",
            Secondary = "#6a3d9a",
            AppbarBackground = "#1f4e8c",
            Background = "#f6f7f9",
            TextPrimary = "#1b1f24",
            TextSecondary = "#47505c",
            // Status colours dark enough for white text on them and for text on the page (at least 4.5:1).
            Success = "#1e7e34",
            Warning = "#b45309",
            Error = "#c62828",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#8ab4f8",
            Secondary = "#c5a3ff",
            AppbarBackground = "#1b2330",
            Background = "#11151b",
            Surface = "#1b2027",
            TextPrimary = "#e8eaed",
            TextSecondary = "#b4bac3",
            // Light colours on the dark surfaces, with dark text on top of them (at least 4.5:1 both ways).
            PrimaryContrastText = "#0d1b2a",
            Success = "#81c995",
            SuccessContrastText = "#0b1f12",
            Warning = "#ffb74d",
            WarningContrastText = "#1b1f24",
            Error = "#f28b82",
            ErrorContrastText = "#1b1f24",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"] },
        },
    };
}
