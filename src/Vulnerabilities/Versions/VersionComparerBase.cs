namespace McpSecurity.Vulnerabilities.Versions;

/// <summary>Shared null handling: null sorts before every version.</summary>
internal abstract class VersionComparerBase : IVersionComparer
{
    public abstract string Name { get; }

    public int Compare(string? a, string? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        if (a is null)
        {
            return -1;
        }

        if (b is null)
        {
            return 1;
        }

        return Math.Sign(CompareCore(a.AsSpan().Trim(), b.AsSpan().Trim()));
    }

    public abstract bool IsValid(string version);

    public override string ToString() => Name;

    protected abstract int CompareCore(ReadOnlySpan<char> a, ReadOnlySpan<char> b);
}
