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
        },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"] },
        },
    };
}
