namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>CVSS v2.0 equations (base, temporal, environmental), in decimal arithmetic with half-up rounding.</summary>
internal static class CvssV2
{
    public static (decimal Base, decimal? Temporal, decimal? Environmental) Score(Dictionary<string, string> m)
    {
        var av = m["AV"] switch { "L" => 0.395m, "A" => 0.646m, _ => 1.0m };
        var ac = m["AC"] switch { "H" => 0.35m, "M" => 0.61m, _ => 0.71m };
        var au = m["Au"] switch { "M" => 0.45m, "S" => 0.56m, _ => 0.704m };
        var c = Cia(m["C"]);
        var i = Cia(m["I"]);
        var a = Cia(m["A"]);
        var e = Get(m, "E") switch { "U" => 0.85m, "POC" => 0.9m, "F" => 0.95m, _ => 1m };
        var rl = Get(m, "RL") switch { "OF" => 0.87m, "TF" => 0.90m, "W" => 0.95m, _ => 1m };
        var rc = Get(m, "RC") switch { "UC" => 0.90m, "UR" => 0.95m, _ => 1m };

        var impact = 10.41m * (1 - ((1 - c) * (1 - i) * (1 - a)));
        var baseScore = BaseEquation(impact, av, ac, au);

        var hasTemporal = m.ContainsKey("E") || m.ContainsKey("RL") || m.ContainsKey("RC");
        var hasEnvironmental = m.ContainsKey("CDP") || m.ContainsKey("TD") || m.ContainsKey("CR") || m.ContainsKey("IR") || m.ContainsKey("AR");
        decimal? temporal = hasTemporal ? Round1(baseScore * e * rl * rc) : null;
        decimal? environmental = null;
        if (hasEnvironmental)
        {
            var cdp = Get(m, "CDP") switch { "L" => 0.1m, "LM" => 0.3m, "MH" => 0.4m, "H" => 0.5m, _ => 0m };
            var td = Get(m, "TD") switch { "N" => 0m, "L" => 0.25m, "M" => 0.75m, _ => 1m };
            var cr = Requirement(Get(m, "CR"));
            var ir = Requirement(Get(m, "IR"));
            var ar = Requirement(Get(m, "AR"));
            var adjustedImpact = Math.Min(10m, 10.41m * (1 - ((1 - (c * cr)) * (1 - (i * ir)) * (1 - (a * ar)))));
            var adjustedTemporal = Round1(BaseEquation(adjustedImpact, av, ac, au) * e * rl * rc);
            environmental = Round1((adjustedTemporal + ((10 - adjustedTemporal) * cdp)) * td);
        }

        return (baseScore, temporal, environmental);
    }

    private static decimal BaseEquation(decimal impact, decimal av, decimal ac, decimal au)
    {
        var exploitability = 20m * av * ac * au;
        var f = impact == 0 ? 0m : 1.176m;
        return Round1(((0.6m * impact) + (0.4m * exploitability) - 1.5m) * f);
    }

    private static decimal Cia(string v) => v switch { "P" => 0.275m, "C" => 0.660m, _ => 0m };

    private static decimal Requirement(string? v) => v switch { "L" => 0.5m, "H" => 1.51m, _ => 1m };

    private static string? Get(Dictionary<string, string> m, string key) => m.GetValueOrDefault(key);

    private static decimal Round1(decimal x) => Math.Round(x, 1, MidpointRounding.AwayFromZero);
}
