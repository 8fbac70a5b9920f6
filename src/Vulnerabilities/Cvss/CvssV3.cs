namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>CVSS v3.0 and v3.1 equations (base, temporal, environmental) in decimal arithmetic.</summary>
internal static class CvssV3
{
    public static (decimal Base, decimal Temporal, decimal Environmental) Score(Dictionary<string, string> m, bool v31)
    {
        var scopeChanged = m["S"] == "C";
        var impactBase = Iss(Cia(m["C"]), Cia(m["I"]), Cia(m["A"]));
        var impact = scopeChanged
            ? (7.52m * (impactBase - 0.029m)) - (3.25m * Pow(impactBase - 0.02m, 15))
            : 6.42m * impactBase;
        var exploitability = 8.22m * Av(m["AV"]) * Ac(m["AC"]) * Pr(m["PR"], scopeChanged) * Ui(m["UI"]);
        var baseScore = impact <= 0
            ? 0m
            : RoundUp(Math.Min((scopeChanged ? 1.08m : 1m) * (impact + exploitability), 10m), v31);

        var e = Get(m, "E") switch { "F" => 0.97m, "P" => 0.94m, "U" => 0.91m, _ => 1m };
        var rl = Get(m, "RL") switch { "W" => 0.97m, "T" => 0.96m, "O" => 0.95m, _ => 1m };
        var rc = Get(m, "RC") switch { "R" => 0.96m, "U" => 0.92m, _ => 1m };
        var temporal = RoundUp(baseScore * e * rl * rc, v31);

        var modifiedScopeChanged = Modified(m, "MS", "S") == "C";
        var miss = Math.Min(
            1 - ((1 - (Requirement(Get(m, "CR")) * Cia(Modified(m, "MC", "C"))))
                * (1 - (Requirement(Get(m, "IR")) * Cia(Modified(m, "MI", "I"))))
                * (1 - (Requirement(Get(m, "AR")) * Cia(Modified(m, "MA", "A"))))),
            0.915m);
        var modifiedImpact = modifiedScopeChanged
            ? (7.52m * (miss - 0.029m)) - (3.25m * Pow(v31 ? (miss * 0.9731m) - 0.02m : miss - 0.02m, v31 ? 13 : 15))
            : 6.42m * miss;
        var modifiedExploitability = 8.22m
            * Av(Modified(m, "MAV", "AV"))
            * Ac(Modified(m, "MAC", "AC"))
            * Pr(Modified(m, "MPR", "PR"), modifiedScopeChanged)
            * Ui(Modified(m, "MUI", "UI"));
        decimal environmental;
        if (modifiedImpact <= 0)
        {
            environmental = 0m;
        }
        else
        {
            var sum = Math.Min((modifiedScopeChanged ? 1.08m : 1m) * (modifiedImpact + modifiedExploitability), 10m);
            environmental = RoundUp(RoundUp(sum, v31) * e * rl * rc, v31);
        }

        return (baseScore, temporal, environmental);
    }

    private static decimal Iss(decimal c, decimal i, decimal a) => 1 - ((1 - c) * (1 - i) * (1 - a));

    private static decimal Av(string v) => v switch { "N" => 0.85m, "A" => 0.62m, "L" => 0.55m, _ => 0.2m };

    private static decimal Ac(string v) => v == "L" ? 0.77m : 0.44m;

    private static decimal Pr(string v, bool scopeChanged) => v switch
    {
        "N" => 0.85m,
        "L" => scopeChanged ? 0.68m : 0.62m,
        _ => scopeChanged ? 0.5m : 0.27m,
    };

    private static decimal Ui(string v) => v == "N" ? 0.85m : 0.62m;

    private static decimal Cia(string v) => v switch { "H" => 0.56m, "L" => 0.22m, _ => 0m };

    private static decimal Requirement(string? v) => v switch { "H" => 1.5m, "L" => 0.5m, _ => 1m };

    private static string? Get(Dictionary<string, string> m, string key) => m.GetValueOrDefault(key);

    private static string Modified(Dictionary<string, string> m, string modified, string baseKey) =>
        m.TryGetValue(modified, out var v) && v != "X" ? v : m[baseKey];

    private static decimal Pow(decimal x, int n)
    {
        var result = 1m;
        for (var k = 0; k < n; k++)
        {
            result *= x;
        }

        return result;
    }

    /// <summary>Round up to one decimal; v3.1 uses the specification's integer-based Roundup.</summary>
    private static decimal RoundUp(decimal x, bool v31)
    {
        if (!v31)
        {
            return Math.Ceiling(x * 10m) / 10m;
        }

        var intInput = Math.Round(x * 100000m, MidpointRounding.AwayFromZero);
        return intInput % 10000m == 0 ? intInput / 100000m : (Math.Floor(intInput / 10000m) + 1m) / 10m;
    }
}
