namespace McpSecurity.Detection.Engine;

/// <summary>
/// Evaluation state of one rule condition: the group's predicate bits, plus on-demand evaluation of the
/// predicates that are tested one by one (globs, regexes...), so they only run when a condition reads them.
/// </summary>
internal ref struct EvalContext
{
    public PredicateBits Bits;
    public PredicateBits Computed;
    public RuleGroup Group;
    public EventIndex Index;

    /// <summary>The character pairs of the event's most asked value (see <see cref="PairMap"/>).</summary>
    public PairMap Pairs;

    /// <summary>Reads a predicate, evaluating it first when it is tested one by one and not yet known.</summary>
    public bool Get(int id)
    {
        if (Bits.Get(id))
        {
            return true;
        }

        if (Computed.Get(id) || !Group.IsOther(id))
        {
            return false;
        }

        Computed.Set(id);
        if (Group.EvaluateOther(id, ref this))
        {
            Bits.Set(id);
            return true;
        }

        return false;
    }
}

/// <summary>Trigger predicates of which one is true whenever a condition is (see <see cref="CondNode.FindNecessary"/>).</summary>
/// <param name="Cost">Estimated probability that any of them is true.</param>
/// <param name="Ids">The trigger predicate ids.</param>
internal sealed record Necessary(double Cost, int[] Ids)
{
    /// <summary>The triggers <paramref name="ids"/> (alternatives: one of them is true), costed by summing.</summary>
    public static Necessary Of(int[] ids, double[] cost)
    {
        var sum = 0.0;
        foreach (var id in ids)
        {
            sum += cost[id];
        }

        return new Necessary(sum, ids);
    }
}

/// <summary>A compiled rule condition evaluated over the predicate bitset of its group.</summary>
internal abstract class CondNode
{
    public abstract bool Eval(PredicateBits bits);

    /// <summary>Evaluates with on-demand predicates (see <see cref="EvalContext"/>).</summary>
    public abstract bool Eval(ref EvalContext ctx);

    /// <summary>Three-valued evaluation (null = unknown) used at compile time to decide which rules can be skipped.</summary>
    public abstract bool? Tri(Func<int, bool?> bit);

    /// <summary>
    /// A set of trigger predicates at least one of which is true whenever this condition is true, chosen to be
    /// cheap (low estimated probability of being true), or null when no such set exists (the condition can
    /// hold through negations or predicates without a literal). <paramref name="trigger"/> gives the literal
    /// predicates a predicate implies (itself for a literal; for a regex, alternatives one of which every match
    /// contains) with their estimated cost, or null.
    /// </summary>
    public abstract Necessary? FindNecessary(Func<int, Necessary?> trigger);

    /// <summary>Calls <paramref name="action"/> for every <see cref="AnyBitNode"/> in the tree.</summary>
    public virtual void ForEachAnyBit(Action<AnyBitNode> action)
    {
    }

    protected static Necessary? Cheapest(IEnumerable<Necessary?> options)
    {
        Necessary? best = null;
        foreach (var o in options)
        {
            if (o is not null && (best is null || o.Cost < best.Cost))
            {
                best = o;
            }
        }

        return best;
    }

    protected static Necessary? Union(IReadOnlyList<Necessary?> parts)
    {
        var ids = new HashSet<int>();
        double cost = 0;
        foreach (var p in parts)
        {
            if (p is null)
            {
                return null;
            }

            ids.UnionWith(p.Ids);

            cost += p.Cost;
        }

        return new Necessary(cost, [.. ids]);
    }

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

    protected static bool Bit(PredicateBits bits, int id) => bits.Get(id);
}

/// <summary>True when any listed predicate holds.</summary>
internal sealed class AnyBitNode(int[] ids) : CondNode
{
    public int[] Ids { get; } = ids;

    /// <summary>
    /// Set when the operands computed on demand are many substrings of one field (a list of thousands of
    /// package names, say): they are then searched in one multi-pattern pass over the field's values instead of
    /// one scan each.
    /// </summary>
    public BulkLiterals? Bulk { get; set; }

    public override void ForEachAnyBit(Action<AnyBitNode> action) => action(this);

    public override bool? Tri(Func<int, bool?> bit) => AnyOf(Ids.Select(bit));

    public override Necessary? FindNecessary(Func<int, Necessary?> trigger) =>
        Union([.. Ids.Select(trigger)]);

    public override bool Eval(PredicateBits bits)
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
        if (Bulk is { } bulk)
        {
            return EvalBulk(bulk, ref ctx);
        }

        foreach (var id in Ids)
        {
            if (ctx.Get(id))
            {
                return true;
            }
        }

        return false;
    }

    private bool EvalBulk(BulkLiterals bulk, ref EvalContext ctx)
    {
        // Every operand is either searched already (its bit is known) or one of the bulk literals.
        foreach (var id in Ids)
        {
            if (ctx.Bits.Get(id))
            {
                return true;
            }
        }

        if (ctx.Computed.Get(bulk.Ids[0]))
        {
            return false;
        }

        var index = ctx.Index;
        for (var n = index.Head(bulk.Slot); n >= 0; n = index.Next(n))
        {
            var v = index.ValueOf(n);
            if (!index.IsNull(v))
            {
                bulk.Matcher.Search(index.Lower(v), ctx.Bits);
            }
        }

        var hit = false;
        foreach (var id in bulk.Ids)
        {
            ctx.Computed.Set(id);
            hit |= ctx.Bits.Get(id);
        }

        return hit;
    }
}

/// <summary>Substring literals of one field searched together (see <see cref="AnyBitNode.Bulk"/>).</summary>
/// <param name="Matcher">The multi-pattern matcher over the literals.</param>
/// <param name="Slot">Field slot searched.</param>
/// <param name="Ids">The operands the matcher computes.</param>
internal sealed record BulkLiterals(SubstringMatcher Matcher, int Slot, int[] Ids);

/// <summary>True when every listed predicate holds.</summary>
internal sealed class AllBitsNode(int[] ids) : CondNode
{
    public override bool? Tri(Func<int, bool?> bit) => AllOf(ids.Select(bit));

    public override Necessary? FindNecessary(Func<int, Necessary?> trigger) =>
        Cheapest(ids.Select(trigger));

    public override bool Eval(PredicateBits bits)
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
    public override void ForEachAnyBit(Action<AnyBitNode> action)
    {
        foreach (var item in items)
        {
            item.ForEachAnyBit(action);
        }
    }

    public override bool? Tri(Func<int, bool?> bit) => AllOf(items.Select(i => i.Tri(bit)));

    public override Necessary? FindNecessary(Func<int, Necessary?> trigger) =>
        Cheapest(items.Select(i => i.FindNecessary(trigger)));

    public override bool Eval(PredicateBits bits)
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
    public override void ForEachAnyBit(Action<AnyBitNode> action)
    {
        foreach (var item in items)
        {
            item.ForEachAnyBit(action);
        }
    }

    public override bool? Tri(Func<int, bool?> bit) => AnyOf(items.Select(i => i.Tri(bit)));

    public override Necessary? FindNecessary(Func<int, Necessary?> trigger) =>
        Union([.. items.Select(i => i.FindNecessary(trigger))]);

    public override bool Eval(PredicateBits bits)
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
    public override void ForEachAnyBit(Action<AnyBitNode> action) => item.ForEachAnyBit(action);

    public override bool Eval(PredicateBits bits) => !item.Eval(bits);

    public override bool Eval(ref EvalContext ctx) => !item.Eval(ref ctx);

    public override bool? Tri(Func<int, bool?> bit) => item.Tri(bit) is { } v ? !v : null;

    public override Necessary? FindNecessary(Func<int, Necessary?> trigger) => null;

}

internal sealed class AtLeastNode(int count, CondNode[] items) : CondNode
{
    public override void ForEachAnyBit(Action<AnyBitNode> action)
    {
        foreach (var item in items)
        {
            item.ForEachAnyBit(action);
        }
    }

    public override Necessary? FindNecessary(Func<int, Necessary?> trigger)
    {
        // With at least 'count' of n items true, any n - count + 1 of them include a true one: take the cheapest.
        if (count < 1)
        {
            return null;
        }

        var need = items.Length - count + 1;
        var found = new List<Necessary>();
        foreach (var item in items)
        {
            if (item.FindNecessary(trigger) is { } n)
            {
                found.Add(n);
            }
        }

        if (found.Count < need)
        {
            return null;
        }

        found.Sort((a, b) => a.Cost.CompareTo(b.Cost));
        return Union(found.GetRange(0, need));
    }

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
    public override bool Eval(PredicateBits bits)
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
