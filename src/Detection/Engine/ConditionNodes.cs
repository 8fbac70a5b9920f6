namespace McpSecurity.Detection.Engine;

/// <summary>
/// Evaluation state of one rule condition: the group's predicate bits, plus on-demand evaluation of the
/// predicates that are tested one by one (globs, regexes...), so they only run when a condition reads them.
/// </summary>
internal ref struct EvalContext
{
    public Span<ulong> Bits;
    public Span<ulong> Computed;
    public RuleGroup Group;
    public EventIndex Index;

    /// <summary>Reads a predicate, evaluating it first when it is tested one by one and not yet known.</summary>
    public bool Get(int id)
    {
        var mask = 1UL << (id & 63);
        var w = id >> 6;
        if ((Bits[w] & mask) != 0)
        {
            return true;
        }

        if ((Computed[w] & mask) != 0 || !Group.IsOther(id))
        {
            return false;
        }

        Computed[w] |= mask;
        if (Group.EvaluateOther(id, Index))
        {
            Bits[w] |= mask;
            return true;
        }

        return false;
    }
}

/// <summary>A compiled rule condition evaluated over the predicate bitset of its group.</summary>
internal abstract class CondNode
{
    public abstract bool Eval(ReadOnlySpan<ulong> bits);

    /// <summary>Evaluates with on-demand predicates (see <see cref="EvalContext"/>).</summary>
    public abstract bool Eval(ref EvalContext ctx);

    /// <summary>Three-valued evaluation (null = unknown) used at compile time to decide which rules can be skipped.</summary>
    public abstract bool? Tri(Func<int, bool?> bit);

    protected static bool? AnyOf(IEnumerable<bool?> values)
    {
        var unknown = false;
        foreach (var v in values)
        {
            if (v == true)
            {
                return true;
            }

            unknown |= v is null;
        }

        return unknown ? null : false;
    }

    protected static bool? AllOf(IEnumerable<bool?> values)
    {
        var unknown = false;
        foreach (var v in values)
        {
            if (v == false)
            {
                return false;
            }

            unknown |= v is null;
        }

        return unknown ? null : true;
    }

    protected static bool Bit(ReadOnlySpan<ulong> bits, int id) => (bits[id >> 6] & (1UL << (id & 63))) != 0;
}

/// <summary>True when any listed predicate holds.</summary>
internal sealed class AnyBitNode(int[] ids) : CondNode
{
    public int[] Ids { get; } = ids;

    public override bool? Tri(Func<int, bool?> bit) => AnyOf(Ids.Select(bit));

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

    public override bool Eval(ref EvalContext ctx)
    {
        foreach (var id in Ids)
        {
            if (ctx.Get(id))
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
    public override bool? Tri(Func<int, bool?> bit) => AllOf(ids.Select(bit));
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

    public override bool Eval(ref EvalContext ctx)
    {
        foreach (var id in ids)
        {
            if (!ctx.Get(id))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class AndNode(CondNode[] items) : CondNode
{
    public override bool? Tri(Func<int, bool?> bit) => AllOf(items.Select(i => i.Tri(bit)));
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

    public override bool Eval(ref EvalContext ctx)
    {
        foreach (var item in items)
        {
            if (!item.Eval(ref ctx))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class OrNode(CondNode[] items) : CondNode
{
    public override bool? Tri(Func<int, bool?> bit) => AnyOf(items.Select(i => i.Tri(bit)));
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

    public override bool Eval(ref EvalContext ctx)
    {
        foreach (var item in items)
        {
            if (item.Eval(ref ctx))
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

    public override bool Eval(ref EvalContext ctx) => !item.Eval(ref ctx);

    public override bool? Tri(Func<int, bool?> bit) => item.Tri(bit) is { } v ? !v : null;
}

internal sealed class AtLeastNode(int count, CondNode[] items) : CondNode
{
    public override bool? Tri(Func<int, bool?> bit)
    {
        int yes = 0, unknown = 0;
        foreach (var item in items)
        {
            switch (item.Tri(bit))
            {
                case true: yes++; break;
                case null: unknown++; break;
            }
        }

        return yes >= count ? true : yes + unknown < count ? false : null;
    }
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

    public override bool Eval(ref EvalContext ctx)
    {
        var n = 0;
        foreach (var item in items)
        {
            if (item.Eval(ref ctx) && ++n >= count)
            {
                return true;
            }
        }

        return false;
    }
}
