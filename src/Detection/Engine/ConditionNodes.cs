namespace McpSecurity.Detection.Engine;

/// <summary>A compiled rule condition evaluated over the predicate bitset of its group.</summary>
internal abstract class CondNode
{
    public abstract bool Eval(ReadOnlySpan<ulong> bits);

    protected static bool Bit(ReadOnlySpan<ulong> bits, int id) => (bits[id >> 6] & (1UL << (id & 63))) != 0;
}

/// <summary>True when any listed predicate holds.</summary>
internal sealed class AnyBitNode(int[] ids) : CondNode
{
    public int[] Ids { get; } = ids;

    public override bool Eval(ReadOnlySpan<ulong> bits)
    {
        foreach (var id in Ids)
        {
            if (Bit(bits, id))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>True when every listed predicate holds.</summary>
internal sealed class AllBitsNode(int[] ids) : CondNode
{
    public override bool Eval(ReadOnlySpan<ulong> bits)
    {
        foreach (var id in ids)
        {
            if (!Bit(bits, id))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class AndNode(CondNode[] items) : CondNode
{
    public override bool Eval(ReadOnlySpan<ulong> bits)
    {
        foreach (var item in items)
        {
            if (!item.Eval(bits))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class OrNode(CondNode[] items) : CondNode
{
    public override bool Eval(ReadOnlySpan<ulong> bits)
    {
        foreach (var item in items)
        {
            if (item.Eval(bits))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class NotNode(CondNode item) : CondNode
{
    public override bool Eval(ReadOnlySpan<ulong> bits) => !item.Eval(bits);
}

internal sealed class AtLeastNode(int count, CondNode[] items) : CondNode
{
    public override bool Eval(ReadOnlySpan<ulong> bits)
    {
        var n = 0;
        foreach (var item in items)
        {
            if (item.Eval(bits) && ++n >= count)
            {
                return true;
            }
        }

        return false;
    }
}
