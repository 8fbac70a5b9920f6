using System.Globalization;
using System.IO.Compression;
using McpSecurity.Core.Risk;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Snapshots;

/// <summary>One finding's score on a snapshot day, with the inputs and breakdown that explain it.</summary>
/// <param name="Key">Stable identity across days: project, component reference and vulnerability id.</param>
/// <param name="VulnerabilityId">The vulnerability.</param>
/// <param name="Component">The component (purl or reference).</param>
/// <param name="ProjectId">The project.</param>
/// <param name="Score">Score 0–100.</param>
/// <param name="Level">Level.</param>
/// <param name="Input">The factors.</param>
/// <param name="Breakdown">The points per factor.</param>
public sealed record FindingSnapshot(string Key, string VulnerabilityId, string Component, string ProjectId, float Score, RiskLevel Level, FindingRiskInput Input, FindingRiskBreakdown Breakdown)
{
    /// <summary>The key of a finding in a project.</summary>
    public static string KeyOf(string projectId, string componentRef, string vulnerabilityId) => projectId + "|" + componentRef + "|" + vulnerabilityId;
}

/// <summary>
/// Compact encoding of a day's finding scores: a versioned binary record stream, GZip-compressed. Reading
/// checks the header and bounds, so a damaged blob gives a clear error instead of garbage.
/// </summary>
public static class FindingSnapshotCodec
{
    private const uint Magic = 0x3153524D; // "MRS1"

    /// <summary>Most records a snapshot may hold.</summary>
    public const int MaxRecords = 20_000_000;

    /// <summary>Encodes records.</summary>
    public static byte[] Encode(IReadOnlyCollection<FindingSnapshot> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var w = new BinaryWriter(new BufferedStream(gzip, 1 << 16)))
        {
            w.Write(Magic);
            w.Write(records.Count);
            foreach (var r in records)
            {
                w.Write(r.Key);
                w.Write(r.VulnerabilityId);
                w.Write(r.Component);
                w.Write(r.ProjectId);
                w.Write(r.Score);
                w.Write((byte)r.Level);
                var i = r.Input;
                w.Write(i.Cvss);
                w.Write(i.SeverityRank);
                w.Write(i.EpssProbability);
                w.Write(i.EpssPercentile);
                w.Write((byte)((i.Kev ? 1 : 0) | (i.KevRansomware ? 2 : 0) | (i.InternetFacing ? 4 : 0)));
                w.Write(i.KevDueInDays);
                w.Write((byte)i.Maturity);
                w.Write(i.AssetTier);
                w.Write((byte)i.Data);
                w.Write(i.DependencyDepth);
                w.Write((byte)i.Control);
                w.Write(i.AgeDays);
                var b = r.Breakdown;
                w.Write(b.Severity);
                w.Write(b.Threat);
                w.Write(b.Asset);
                w.Write(b.Exposure);
                w.Write(b.Data);
                w.Write(b.Depth);
                w.Write(b.Controls);
                w.Write(b.Age);
                w.Write(b.KevOverdue);
                w.Write(b.Cap);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes records; throws <see cref="InvalidDataException"/> naming the problem when the data is damaged.</summary>
    public static List<FindingSnapshot> Decode(ReadOnlyMemory<byte> data)
    {
        using var input = new MemoryStream(data.ToArray(), writable: false);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var r = new BinaryReader(gzip);
        try
        {
            if (r.ReadUInt32() != Magic)
            {
                throw new InvalidDataException("The risk snapshot has an unknown format (bad header).");
            }

            var count = r.ReadInt32();
            if (count is < 0 or > MaxRecords)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"The risk snapshot claims {count} records; at most {MaxRecords} are allowed."));
            }

            var list = new List<FindingSnapshot>(Math.Min(count, 1 << 20));
            for (var n = 0; n < count; n++)
            {
                var key = r.ReadString();
                var vuln = r.ReadString();
                var component = r.ReadString();
                var project = r.ReadString();
                var score = r.ReadSingle();
                var level = (RiskLevel)Math.Min(r.ReadByte(), (byte)4);
                var i = new FindingRiskInput
                {
                    Cvss = r.ReadSingle(),
                    SeverityRank = r.ReadByte(),
                    EpssProbability = r.ReadSingle(),
                    EpssPercentile = r.ReadSingle(),
                };
                var flags = r.ReadByte();
                i.Kev = (flags & 1) != 0;
                i.KevRansomware = (flags & 2) != 0;
                i.InternetFacing = (flags & 4) != 0;
                i.KevDueInDays = r.ReadInt32();
                i.Maturity = (ExploitMaturity)r.ReadByte();
                i.AssetTier = r.ReadSByte();
                i.Data = (DataClassification)(r.ReadByte() & 3);
                i.DependencyDepth = r.ReadByte();
                i.Control = (ControlState)r.ReadByte();
                i.AgeDays = r.ReadInt32();
                var b = new FindingRiskBreakdown
                {
                    Severity = r.ReadSingle(),
                    Threat = r.ReadSingle(),
                    Asset = r.ReadSingle(),
                    Exposure = r.ReadSingle(),
                    Data = r.ReadSingle(),
                    Depth = r.ReadSingle(),
                    Controls = r.ReadSingle(),
                    Age = r.ReadSingle(),
                    KevOverdue = r.ReadSingle(),
                    Cap = r.ReadSingle(),
                };
                list.Add(new FindingSnapshot(key, vuln, component, project, score, level, i, b));
            }

            return list;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The risk snapshot is truncated.", ex);
        }
    }
}
