namespace McpSecurity.Web.Components.Shared;

/// <summary>One labelled value of a chart.</summary>
/// <param name="Label">Axis label.</param>
/// <param name="Value">Value.</param>
public sealed record ChartPoint(string Label, double Value);
