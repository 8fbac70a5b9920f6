namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>
/// CVSS v4.0 scoring as specified by FIRST (CVSS v4.0 specification, section 8): the vector is
/// placed in a MacroVector (equivalence classes EQ1..EQ6), the MacroVector's score is read from the
/// official lookup table, and the score is lowered by the mean proportional severity distance to the
/// next lower MacroVector in each equivalence class, as the FIRST reference calculator does.
/// Threat (<c>E</c>) and environmental (<c>CR</c>/<c>IR</c>/<c>AR</c>, <c>M*</c>) metrics are applied;
/// supplemental metrics do not change the score.
/// </summary>
internal static class CvssV4
{
    /// <summary>Marks a MacroVector that does not exist in the lookup table.</summary>
    private const decimal Missing = -1m;

    // Severity levels in tenths, lower is more severe (reference calculator "levels").
    private const int AvN = 0, AvA = 1, AvL = 2, AvP = 3;
    private const int PrN = 0, PrL = 1, PrH = 2;
    private const int UiN = 0, UiP = 1, UiA = 2;
    private const int AcL = 0, AcH = 1;
    private const int AtN = 0, AtP = 1;
    private const int CiaH = 0, CiaL = 1, CiaN = 2;
    private const int SubS = 0, SubH = 1, SubL = 2, SubN = 3;
    private const int ReqH = 0, ReqM = 1, ReqL = 2;

    /// <summary>MacroVector scores indexed [eq1, eq2, eq3, eq4, eq5, eq6]; <see cref="Missing"/> where none exists.</summary>
    private static readonly decimal[,,,,,] Lookup = BuildLookup();

    // Highest-severity vectors of each MacroVector, per equivalence class (reference "max_composed").
    private static readonly int[][][] MaxEq1 =
    [
        [[AvN, PrN, UiN]],
        [[AvA, PrN, UiN], [AvN, PrL, UiN], [AvN, PrN, UiP]],
        [[AvP, PrN, UiN], [AvA, PrL, UiP]],
    ];

    private static readonly int[][][] MaxEq2 =
    [
        [[AcL, AtN]],
        [[AcH, AtN], [AcL, AtP]],
    ];

    // [eq3][eq6] -> list of (VC, VI, VA, CR, IR, AR); eq3 = 2 with eq6 = 0 does not exist.
    private static readonly int[][][][] MaxEq3Eq6 =
    [
        [
            [[CiaH, CiaH, CiaH, ReqH, ReqH, ReqH]],
            [[CiaH, CiaH, CiaL, ReqM, ReqM, ReqH], [CiaH, CiaH, CiaH, ReqM, ReqM, ReqM]],
        ],
        [
            [[CiaL, CiaH, CiaH, ReqH, ReqH, ReqH], [CiaH, CiaL, CiaH, ReqH, ReqH, ReqH]],
            [
                [CiaL, CiaH, CiaL, ReqH, ReqM, ReqH], [CiaL, CiaH, CiaH, ReqH, ReqM, ReqM],
                [CiaH, CiaL, CiaH, ReqM, ReqH, ReqM], [CiaH, CiaL, CiaL, ReqM, ReqH, ReqH],
                [CiaL, CiaL, CiaH, ReqH, ReqH, ReqM],
            ],
        ],
        [
            [],
            [[CiaL, CiaL, CiaL, ReqH, ReqH, ReqH]],
        ],
    ];

    private static readonly int[][][] MaxEq4 =
    [
        [[SubH, SubS, SubS]],
        [[SubH, SubH, SubH]],
        [[SubL, SubL, SubL]],
    ];

    // Depth of each MacroVector in tenths (reference "max_severity"; EQ5 never contributes).
    private static readonly int[] DepthEq1 = [1, 4, 5];
    private static readonly int[] DepthEq2 = [1, 2];
    private static readonly int[][] DepthEq3Eq6 = [[7, 6], [8, 8], [0, 10]];
    private static readonly int[] DepthEq4 = [6, 5, 4];

    /// <summary>Scores a validated v4.0 metric map.</summary>
    /// <param name="metrics">Metric key to value; all mandatory base metrics are present.</param>
    /// <param name="score">The CVSS v4.0 score, 0.0 to 10.0.</param>
    /// <param name="reason">Always null; scoring a validated vector cannot fail.</param>
    /// <returns>True.</returns>
    public static bool TryScore(Dictionary<string, string> metrics, out decimal score, out string? reason)
    {
        reason = null;
        var v = Effective.From(metrics);
        score = Score(in v);
        return true;
    }

    private static decimal Score(in Effective v)
    {
        // No impact on the vulnerable or subsequent system: the score is 0 whatever else is set.
        if (v.Vc == CiaN && v.Vi == CiaN && v.Va == CiaN && v.Sc == SubN && v.Si == SubN && v.Sa == SubN)
        {
            return 0.0m;
        }

        var eq1 = v.Av == AvN && v.Pr == PrN && v.Ui == UiN ? 0
            : (v.Av == AvN || v.Pr == PrN || v.Ui == UiN) && v.Av != AvP ? 1
            : 2;
        var eq2 = v.Ac == AcL && v.At == AtN ? 0 : 1;
        var eq3 = v.Vc == CiaH && v.Vi == CiaH ? 0
            : v.Vc == CiaH || v.Vi == CiaH || v.Va == CiaH ? 1
            : 2;
        var eq4 = v.Si == SubS || v.Sa == SubS ? 0
            : v.Sc == SubH || v.Si == SubH || v.Sa == SubH ? 1
            : 2;
        var eq5 = v.E;
        var eq6 = (v.Cr == ReqH && v.Vc == CiaH) || (v.Ir == ReqH && v.Vi == CiaH) || (v.Ar == ReqH && v.Va == CiaH) ? 0 : 1;

        var value = Lookup[eq1, eq2, eq3, eq4, eq5, eq6];

        // Scores of the next lower MacroVector in each equivalence class (Missing when there is none).
        var lowerEq1 = Get(eq1 + 1, eq2, eq3, eq4, eq5, eq6);
        var lowerEq2 = Get(eq1, eq2 + 1, eq3, eq4, eq5, eq6);
        decimal lowerEq3Eq6;
        if (eq3 == 0 && eq6 == 0)
        {
            // Two paths down (00 -> 01 and 00 -> 10): take the higher score.
            var left = Get(eq1, eq2, eq3, eq4, eq5, eq6 + 1);
            var right = Get(eq1, eq2, eq3 + 1, eq4, eq5, eq6);
            lowerEq3Eq6 = left > right ? left : right;
        }
        else if (eq3 == 1 && eq6 == 0)
        {
            lowerEq3Eq6 = Get(eq1, eq2, eq3, eq4, eq5, eq6 + 1);
        }
        else if (eq6 == 1 && eq3 <= 1)
        {
            lowerEq3Eq6 = Get(eq1, eq2, eq3 + 1, eq4, eq5, eq6);
        }
        else
        {
            lowerEq3Eq6 = Missing;
        }

        var lowerEq4 = Get(eq1, eq2, eq3, eq4 + 1, eq5, eq6);
        var lowerEq5 = Get(eq1, eq2, eq3, eq4, eq5 + 1, eq6);

        // Severity distance from the first highest-severity vector of the MacroVector that is at
        // least as severe as this vector in every metric (the last candidate if none is).
        int dAv = 0, dPr = 0, dUi = 0, dAc = 0, dAt = 0, dVc = 0, dVi = 0, dVa = 0;
        int dSc = 0, dSi = 0, dSa = 0, dCr = 0, dIr = 0, dAr = 0;
        var found = false;
        foreach (var m1 in MaxEq1[eq1])
        {
            foreach (var m2 in MaxEq2[eq2])
            {
                foreach (var m3 in MaxEq3Eq6[eq3][eq6])
                {
                    foreach (var m4 in MaxEq4[eq4])
                    {
                        dAv = v.Av - m1[0];
                        dPr = v.Pr - m1[1];
                        dUi = v.Ui - m1[2];
                        dAc = v.Ac - m2[0];
                        dAt = v.At - m2[1];
                        dVc = v.Vc - m3[0];
                        dVi = v.Vi - m3[1];
                        dVa = v.Va - m3[2];
                        dCr = v.Cr - m3[3];
                        dIr = v.Ir - m3[4];
                        dAr = v.Ar - m3[5];
                        dSc = v.Sc - m4[0];
                        dSi = v.Si - m4[1];
                        dSa = v.Sa - m4[2];
                        if (dAv >= 0 && dPr >= 0 && dUi >= 0 && dAc >= 0 && dAt >= 0 && dVc >= 0 && dVi >= 0 && dVa >= 0
                            && dCr >= 0 && dIr >= 0 && dAr >= 0 && dSc >= 0 && dSi >= 0 && dSa >= 0)
                        {
                            found = true;
                            break;
                        }
                    }

                    if (found)
                    {
                        break;
                    }
                }

                if (found)
                {
                    break;
                }
            }

            if (found)
            {
                break;
            }
        }

        var distanceEq1 = dAv + dPr + dUi;
        var distanceEq2 = dAc + dAt;
        var distanceEq3Eq6 = dVc + dVi + dVa + dCr + dIr + dAr;
        var distanceEq4 = dSc + dSi + dSa;

        var existing = 0;
        var sum = 0m;
        Accumulate(value, lowerEq1, distanceEq1, DepthEq1[eq1], ref sum, ref existing);
        Accumulate(value, lowerEq2, distanceEq2, DepthEq2[eq2], ref sum, ref existing);
        Accumulate(value, lowerEq3Eq6, distanceEq3Eq6, DepthEq3Eq6[eq3][eq6], ref sum, ref existing);
        Accumulate(value, lowerEq4, distanceEq4, DepthEq4[eq4], ref sum, ref existing);

        // EQ5 counts towards the mean but its proportional distance is always 0.
        if (lowerEq5 != Missing)
        {
            existing++;
        }

        if (existing > 0)
        {
            value -= sum / existing;
        }

        value = Math.Clamp(value, 0m, 10m);
        return Math.Round(value, 1, MidpointRounding.AwayFromZero);
    }

    private static void Accumulate(decimal value, decimal lower, int distance, int depth, ref decimal sum, ref int existing)
    {
        if (lower == Missing)
        {
            return;
        }

        existing++;
        var available = value - lower;
        sum += available * ((decimal)distance / depth);
    }

    private static decimal Get(int eq1, int eq2, int eq3, int eq4, int eq5, int eq6) =>
        eq1 > 2 || eq2 > 1 || eq3 > 2 || eq4 > 2 || eq5 > 2 || eq6 > 1 ? Missing : Lookup[eq1, eq2, eq3, eq4, eq5, eq6];

    /// <summary>Effective metric levels: modified metrics override base ones; <c>X</c> takes the worst case.</summary>
    private readonly record struct Effective(
        int Av, int Ac, int At, int Pr, int Ui, int Vc, int Vi, int Va, int Sc, int Si, int Sa, int E, int Cr, int Ir, int Ar)
    {
        public static Effective From(Dictionary<string, string> m) => new(
            Level(Pick(m, "MAV", "AV"), "N", "A", "L", "P"),
            Level(Pick(m, "MAC", "AC"), "L", "H"),
            Level(Pick(m, "MAT", "AT"), "N", "P"),
            Level(Pick(m, "MPR", "PR"), "N", "L", "H"),
            Level(Pick(m, "MUI", "UI"), "N", "P", "A"),
            Level(Pick(m, "MVC", "VC"), "H", "L", "N"),
            Level(Pick(m, "MVI", "VI"), "H", "L", "N"),
            Level(Pick(m, "MVA", "VA"), "H", "L", "N"),
            Level(Pick(m, "MSC", "SC"), "S", "H", "L", "N"),
            Level(Pick(m, "MSI", "SI"), "S", "H", "L", "N"),
            Level(Pick(m, "MSA", "SA"), "S", "H", "L", "N"),
            Level(Optional(m, "E", "A"), "A", "P", "U"),
            Level(Optional(m, "CR", "H"), "H", "M", "L"),
            Level(Optional(m, "IR", "H"), "H", "M", "L"),
            Level(Optional(m, "AR", "H"), "H", "M", "L"));

        private static string Pick(Dictionary<string, string> m, string modified, string baseKey) =>
            m.TryGetValue(modified, out var v) && v != "X" ? v : m[baseKey];

        private static string Optional(Dictionary<string, string> m, string key, string worst) =>
            m.TryGetValue(key, out var v) && v != "X" ? v : worst;

        private static int Level(string value, params ReadOnlySpan<string> order)
        {
            for (var i = 0; i < order.Length; i++)
            {
                if (order[i] == value)
                {
                    return i;
                }
            }

            throw new InvalidOperationException($"CVSS v4.0 value '{value}' was not validated.");
        }
    }

    private static decimal[,,,,,] BuildLookup()
    {
        var table = new decimal[3, 2, 3, 3, 3, 2];
        foreach (ref var cell in System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref table[0, 0, 0, 0, 0, 0], table.Length))
        {
            cell = Missing;
        }

        // FIRST CVSS v4.0 MacroVector lookup table: digits are EQ1..EQ6, value is the MacroVector score.
        ReadOnlySpan<decimal> scores =
        [
            10m, 9.9m, 9.8m, 9.5m, 9.5m, 9.2m, 10m, 9.6m, 9.3m, 8.7m, 9.1m, 8.1m, 9.3m, 9m, 8.9m, 8m, 8.1m, 6.8m,
            9.8m, 9.5m, 9.5m, 9.2m, 9m, 8.4m, 9.3m, 9.2m, 8.9m, 8.1m, 8.1m, 6.5m, 8.8m, 8m, 7.8m, 7m, 6.9m, 4.8m,
            9.2m, 8.2m, 7.2m, 7.9m, 6.9m, 5m, 6.9m, 5.5m, 2.7m,
            9.9m, 9.7m, 9.5m, 9.2m, 9.2m, 8.5m, 9.5m, 9.1m, 9m, 8.3m, 8.4m, 7.1m, 9.2m, 8.1m, 8.2m, 7.1m, 7.2m, 5.3m,
            9.5m, 9.3m, 9.2m, 8.5m, 8.5m, 7.3m, 9.2m, 8.2m, 8m, 7.2m, 7m, 5.9m, 8.4m, 7m, 7.1m, 5.2m, 5m, 3m,
            8.6m, 7.5m, 5.2m, 7.1m, 5.2m, 2.9m, 6.3m, 2.9m, 1.7m,
            9.8m, 9.5m, 9.4m, 8.7m, 9.1m, 8.1m, 9.4m, 8.9m, 8.6m, 7.4m, 7.7m, 6.4m, 8.7m, 7.5m, 7.4m, 6.3m, 6.3m, 4.9m,
            9.4m, 8.9m, 8.8m, 7.7m, 7.6m, 6.7m, 8.6m, 7.6m, 7.4m, 5.8m, 5.9m, 5m, 7.2m, 5.7m, 5.7m, 5.2m, 5.2m, 2.5m,
            8.3m, 7m, 5.4m, 6.5m, 5.8m, 2.6m, 5.3m, 2.1m, 1.3m,
            9.5m, 9m, 8.8m, 7.6m, 7.6m, 7m, 9m, 7.7m, 7.5m, 6.2m, 6.1m, 5.3m, 7.7m, 6.6m, 6.8m, 5.9m, 5.2m, 3m,
            8.9m, 7.8m, 7.6m, 6.7m, 6.2m, 5.8m, 7.4m, 5.9m, 5.7m, 5.7m, 4.7m, 2.3m, 6.1m, 5.2m, 5.7m, 2.9m, 2.4m, 1.6m,
            7.1m, 5.9m, 3m, 5.8m, 2.6m, 1.5m, 2.3m, 1.3m, 0.6m,
            9.3m, 8.7m, 8.6m, 7.2m, 7.5m, 5.8m, 8.6m, 7.4m, 7.4m, 6.1m, 5.6m, 3.4m, 7m, 5.4m, 5.2m, 4m, 4m, 2.2m,
            8.5m, 7.5m, 7.4m, 5.5m, 6.2m, 5.1m, 7.2m, 5.7m, 5.5m, 4.1m, 4.6m, 1.9m, 5.3m, 3.6m, 3.4m, 1.9m, 1.9m, 0.8m,
            6.4m, 5.1m, 2m, 4.7m, 2.1m, 1.1m, 2.4m, 0.9m, 0.4m,
            8.8m, 7.5m, 7.3m, 5.3m, 6m, 5m, 7.3m, 5.5m, 5.9m, 4m, 4.1m, 2m, 5.4m, 4.3m, 4.5m, 2.2m, 2m, 1.1m,
            7.5m, 5.5m, 5.8m, 4.5m, 4m, 2.1m, 6.1m, 5.1m, 4.8m, 1.8m, 2m, 0.9m, 4.6m, 1.8m, 1.7m, 0.7m, 0.8m, 0.2m,
            5.3m, 2.4m, 1.4m, 2.4m, 1.2m, 0.5m, 1m, 0.3m, 0.1m,
        ];

        // The table lists MacroVectors in ascending order of their six digits; eq3 = 2 exists only with eq6 = 1.
        var k = 0;
        for (var e1 = 0; e1 < 3; e1++)
        {
            for (var e2 = 0; e2 < 2; e2++)
            {
                for (var e3 = 0; e3 < 3; e3++)
                {
                    for (var e4 = 0; e4 < 3; e4++)
                    {
                        for (var e5 = 0; e5 < 3; e5++)
                        {
                            for (var e6 = 0; e6 < 2; e6++)
                            {
                                if (e3 == 2 && e6 == 0)
                                {
                                    continue;
                                }

                                table[e1, e2, e3, e4, e5, e6] = scores[k++];
                            }
                        }
                    }
                }
            }
        }

        return k == scores.Length ? table : throw new InvalidOperationException("CVSS v4.0 lookup table is incomplete.");
    }
}
