using System.Numerics;
using System.Runtime.CompilerServices;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// The predicate bitset of one group evaluation, with a summary word per 64 data words so that finding the
/// set bits and clearing them costs in proportion to what was set, not to the size of the group (tens of
/// thousands of predicates for process creation).
/// </summary>
internal sealed class PredicateBits
{
    private ulong[] _data = [];
    private ulong[] _summary = [];

    /// <summary>Data words (64 predicates each).</summary>
    public ulong[] Data => _data;

    /// <summary>Bit w set when data word w may be non-zero.</summary>
    public ulong[] Summary => _summary;

    public void EnsureCapacity(int words)
    {
        if (_data.Length < words)
        {
            _data = new ulong[words];
            _summary = new ulong[(words + 63) / 64];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int id)
    {
        var w = id >> 6;
        _data[w] |= 1UL << id;
        _summary[w >> 6] |= 1UL << w;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Get(int id) => (_data[id >> 6] & (1UL << id)) != 0;

    /// <summary>Clears every set bit.</summary>
    public void Clear()
    {
        var summary = _summary;
        for (var s = 0; s < summary.Length; s++)
        {
            var word = summary[s];
            if (word == 0)
            {
                continue;
            }

            summary[s] = 0;
            while (word != 0)
            {
                _data[(s << 6) + BitOperations.TrailingZeroCount(word)] = 0;
                word &= word - 1;
            }
        }
    }
}
