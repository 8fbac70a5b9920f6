using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace McpSecurity.Core.Audit;

/// <summary>A change to record in the audit log, before it is chained.</summary>
/// <param name="Action">Dotted verb, e.g. <c>user.create</c>.</param>
/// <param name="Target">What was changed, e.g. <c>user:usr_…</c>.</param>
/// <param name="Summary">Short before/after summary; never contains secrets.</param>
public sealed record AuditRecord(string Action, string Target, string Summary);

/// <summary>One link of a tenant's hash-chained audit log.</summary>
public sealed record AuditEntry(
    string TenantId,
    long Sequence,
    DateTimeOffset Time,
    string ActorKind,
    string ActorId,
    string ActorName,
    string Action,
    string Target,
    string Summary,
    string PreviousHash,
    string Hash)
{
    /// <summary>The hash before the first entry of a chain.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>
    /// SHA-256 over the previous hash and the entry's canonical bytes: a JSON array with the fields in a
    /// fixed order, times as Unix milliseconds. Any edit, deletion or reordering changes a later hash.
    /// </summary>
    public static string ComputeHash(
        string previousHash, string tenantId, long sequence, DateTimeOffset time,
        string actorKind, string actorId, string actorName, string action, string target, string summary)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(previousHash);
            writer.WriteStringValue(tenantId);
            writer.WriteNumberValue(sequence);
            writer.WriteNumberValue(time.ToUnixTimeMilliseconds());
            writer.WriteStringValue(actorKind);
            writer.WriteStringValue(actorId);
            writer.WriteStringValue(actorName);
            writer.WriteStringValue(action);
            writer.WriteStringValue(target);
            writer.WriteStringValue(summary);
            writer.WriteEndArray();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    /// <summary>Recomputes this entry's hash from its fields.</summary>
    public string Recompute() =>
        ComputeHash(PreviousHash, TenantId, Sequence, Time, ActorKind, ActorId, ActorName, Action, Target, Summary);
}

/// <summary>Result of verifying a tenant's audit chain.</summary>
/// <param name="Valid">True when every link checks out.</param>
/// <param name="EntriesChecked">How many entries were read.</param>
/// <param name="FirstBrokenSequence">Sequence number of the first broken link, if any.</param>
/// <param name="Reason">Why that link is broken.</param>
public sealed record AuditVerification(bool Valid, long EntriesChecked, long? FirstBrokenSequence, string? Reason);

/// <summary>Walks a chain in sequence order and reports the first broken link.</summary>
public sealed class AuditChainVerifier(string tenantId, long expectedHeadSequence, string expectedHeadHash)
{
    private long _checked;
    private long _expectedSequence = 1;
    private string _previousHash = AuditEntry.GenesisHash;
    private AuditVerification? _failure;

    /// <summary>Checks the next entry; returns false once the chain is broken.</summary>
    public bool Add(AuditEntry entry)
    {
        if (_failure is not null)
        {
            return false;
        }

        _checked++;
        if (!string.Equals(entry.TenantId, tenantId, StringComparison.Ordinal))
        {
            return Fail(entry.Sequence, "entry belongs to another tenant");
        }

        if (entry.Sequence != _expectedSequence)
        {
            return Fail(_expectedSequence, entry.Sequence > _expectedSequence
                ? $"entries {_expectedSequence}..{entry.Sequence - 1} are missing"
                : $"sequence {entry.Sequence} appears out of order");
        }

        if (!string.Equals(entry.PreviousHash, _previousHash, StringComparison.Ordinal))
        {
            return Fail(entry.Sequence, "previous-hash link does not match the preceding entry (reordered or replaced)");
        }

        if (!string.Equals(entry.Recompute(), entry.Hash, StringComparison.Ordinal))
        {
            return Fail(entry.Sequence, "entry content does not match its hash (edited)");
        }

        _previousHash = entry.Hash;
        _expectedSequence++;
        return true;
    }

    /// <summary>The verdict after all entries were added.</summary>
    public AuditVerification Complete()
    {
        if (_failure is not null)
        {
            return _failure;
        }

        var last = _expectedSequence - 1;
        if (last != expectedHeadSequence)
        {
            return new AuditVerification(false, _checked, last + 1,
                $"the chain ends at {last} but the tenant's recorded head is {expectedHeadSequence} (entries deleted from the end)");
        }

        if (last > 0 && !string.Equals(_previousHash, expectedHeadHash, StringComparison.Ordinal))
        {
            return new AuditVerification(false, _checked, last, "the last entry does not match the tenant's recorded head hash");
        }

        return new AuditVerification(true, _checked, null, null);
    }

    private bool Fail(long sequence, string reason)
    {
        _failure = new AuditVerification(false, _checked, sequence, reason);
        return false;
    }
}
