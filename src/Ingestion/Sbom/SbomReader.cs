using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using McpSecurity.Ingestion.Sbom.CycloneDx;
using McpSecurity.Ingestion.Sbom.Spdx;

namespace McpSecurity.Ingestion.Sbom;

/// <summary>
/// Reads CycloneDX (JSON 1.2-1.7, XML 1.0-1.7), SPDX 2.2/2.3 (JSON and tag-value) and SPDX 3.0 (JSON-LD)
/// bills of materials into one normalised <see cref="SbomDocument"/>.
/// </summary>
/// <remarks>
/// Input is untrusted: size and nesting depth are limited by <see cref="SbomReaderOptions"/>, XML DTDs
/// are refused, and every failure — malformed syntax, limits, broken schema rules — surfaces as an
/// <see cref="SbomFormatException"/> that names the file, the location and the rule.
/// </remarks>
public static class SbomReader
{
    private const int InitialBufferSize = 64 * 1024;
    private const int SniffLength = 64 * 1024;

    /// <summary>Reads a bill of materials from a stream, detecting its format.</summary>
    /// <param name="stream">The document. It is read to the end but not disposed.</param>
    /// <param name="fileNameHint">The file name, used in error messages and as a format hint; may be null.</param>
    /// <param name="options">Limits and strictness; <see cref="SbomReaderOptions.Default"/> when null.</param>
    /// <returns>The normalised document.</returns>
    /// <exception cref="SbomFormatException">The input is not a readable or valid bill of materials.</exception>
    public static SbomDocument Read(Stream stream, string? fileNameHint = null, SbomReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= SbomReaderOptions.Default;
        var buffer = ReadAll(stream, fileNameHint, options, out var length);
        try
        {
            return ReadCore(buffer.AsMemory(0, length), fileNameHint, options);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads a bill of materials held in memory, detecting its format.</summary>
    /// <param name="content">The document bytes (UTF-8 for JSON and tag-value; any declared encoding for XML).</param>
    /// <param name="fileNameHint">The file name, used in error messages and as a format hint; may be null.</param>
    /// <param name="options">Limits and strictness; <see cref="SbomReaderOptions.Default"/> when null.</param>
    /// <returns>The normalised document.</returns>
    /// <exception cref="SbomFormatException">The input is not a readable or valid bill of materials.</exception>
    public static SbomDocument Read(ReadOnlyMemory<byte> content, string? fileNameHint = null, SbomReaderOptions? options = null)
    {
        options ??= SbomReaderOptions.Default;
        if (content.Length > options.MaxInputBytes)
        {
            throw TooLarge(fileNameHint, options);
        }

        return ReadCore(content, fileNameHint, options);
    }

    /// <summary>Reads a bill of materials from a file, detecting its format.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="options">Limits and strictness; <see cref="SbomReaderOptions.Default"/> when null.</param>
    /// <returns>The normalised document.</returns>
    /// <exception cref="SbomFormatException">The file is not a readable or valid bill of materials.</exception>
    public static SbomDocument ReadFile(string path, SbomReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return Read(stream, Path.GetFileName(path), options);
    }

    /// <summary>
    /// Detects the format from the first bytes of a document (content wins over the file name; the
    /// name is used only when the content is ambiguous).
    /// </summary>
    /// <param name="content">The start of the document (64 KiB is plenty).</param>
    /// <param name="fileNameHint">The file name, when known.</param>
    /// <returns>The detected format, or <see cref="SbomFormat.Unknown"/>.</returns>
    public static SbomFormat DetectFormat(ReadOnlySpan<byte> content, string? fileNameHint = null)
    {
        var head = content.Length > SniffLength ? content[..SniffLength] : content;
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            head = head[3..];
        }

        var start = 0;
        while (start < head.Length && head[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        if (start == head.Length)
        {
            return SbomFormat.Unknown;
        }

        head = head[start..];
        if (head[0] == (byte)'{')
        {
            if (head.IndexOf("\"bomFormat\""u8) >= 0)
            {
                return SbomFormat.CycloneDxJson;
            }

            if (head.IndexOf("\"spdxVersion\""u8) >= 0)
            {
                return SbomFormat.Spdx2Json;
            }

            if (head.IndexOf("\"@context\""u8) >= 0 || head.IndexOf("\"@graph\""u8) >= 0)
            {
                return SbomFormat.Spdx3JsonLd;
            }

            if (head.IndexOf("\"specVersion\""u8) >= 0)
            {
                return SbomFormat.CycloneDxJson;
            }

            return FromFileName(fileNameHint, json: true);
        }

        if (head[0] == (byte)'<')
        {
            return SbomFormat.CycloneDxXml;
        }

        if (head.IndexOf("SPDXVersion:"u8) >= 0)
        {
            return SbomFormat.Spdx2TagValue;
        }

        return FromFileName(fileNameHint, json: false);
    }

    private static SbomFormat FromFileName(string? fileName, bool json)
    {
        if (fileName is null)
        {
            return SbomFormat.Unknown;
        }

        if (json)
        {
            if (fileName.EndsWith(".spdx.json", StringComparison.OrdinalIgnoreCase))
            {
                return SbomFormat.Spdx2Json;
            }

            if (fileName.EndsWith(".spdx3.json", StringComparison.OrdinalIgnoreCase) || fileName.EndsWith(".jsonld", StringComparison.OrdinalIgnoreCase))
            {
                return SbomFormat.Spdx3JsonLd;
            }

            return fileName.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? SbomFormat.CycloneDxJson : SbomFormat.Unknown;
        }

        return fileName.EndsWith(".spdx", StringComparison.OrdinalIgnoreCase) ? SbomFormat.Spdx2TagValue : SbomFormat.Unknown;
    }

    private static SbomDocument ReadCore(ReadOnlyMemory<byte> content, string? fileName, SbomReaderOptions options)
    {
        var format = DetectFormat(content.Span, fileName);
        try
        {
            return format switch
            {
                SbomFormat.CycloneDxJson => CycloneDxJsonParser.Parse(content, fileName, options),
                SbomFormat.CycloneDxXml => CycloneDxXmlParser.Parse(content, fileName, options),
                SbomFormat.Spdx2Json => Spdx2JsonParser.Parse(content, fileName, options),
                SbomFormat.Spdx2TagValue => Spdx2TagValueParser.Parse(content, fileName, options),
                SbomFormat.Spdx3JsonLd => Spdx3JsonLdParser.Parse(content, fileName, options),
                SbomFormat.Unknown => throw new SbomFormatException(
                    fileName,
                    null,
                    "not a recognised bill of materials: expected CycloneDX JSON/XML, SPDX 2 JSON or tag-value, or SPDX 3 JSON-LD"),
                _ => throw new SbomFormatException(fileName, null, $"format {format} is not supported"),
            };
        }
        catch (XmlException ex)
        {
            var location = ex.LineNumber > 0
                ? string.Create(CultureInfo.InvariantCulture, $"line {ex.LineNumber}, position {ex.LinePosition}")
                : "document type declaration";
            var reason = ex.Message.Contains("DTD", StringComparison.Ordinal)
                ? "a DTD (<!DOCTYPE ...>) is not allowed in SBOM XML: DTDs enable entity expansion and external entity (XXE) attacks; remove the DOCTYPE"
                : "malformed XML: " + ex.Message;
            throw new SbomFormatException(fileName, location, reason, ex);
        }
        catch (JsonException ex)
        {
            throw new SbomFormatException(fileName, null, "malformed JSON: " + ex.Message, ex);
        }
        catch (InvalidOperationException ex)
        {
            // JsonElement.GetString throws this for string values that are not valid UTF-8.
            throw new SbomFormatException(fileName, null, "unreadable text: " + ex.Message, ex);
        }
        catch (DecoderFallbackException ex)
        {
            throw new SbomFormatException(fileName, null, "the document is not valid UTF-8: " + ex.Message, ex);
        }
    }

    private static byte[] ReadAll(Stream stream, string? fileName, SbomReaderOptions options, out int length)
    {
        if (stream.CanSeek && stream.Length - stream.Position > options.MaxInputBytes)
        {
            throw TooLarge(fileName, options);
        }

        var max = (int)Math.Min(options.MaxInputBytes, Array.MaxLength - 1);
        var buffer = ArrayPool<byte>.Shared.Rent(stream.CanSeek ? (int)Math.Min(max + 1L, Math.Max(1, stream.Length - stream.Position + 1)) : InitialBufferSize);
        length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max)
                    {
                        throw TooLarge(fileName, options);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1L));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = stream.Read(buffer, length, buffer.Length - length);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > max)
                {
                    throw TooLarge(fileName, options);
                }
            }

            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static SbomFormatException TooLarge(string? fileName, SbomReaderOptions options) =>
        new(fileName, null, string.Create(
            CultureInfo.InvariantCulture,
            $"the input is larger than the limit of {options.MaxInputBytes} bytes (SbomReaderOptions.MaxInputBytes)"));
}
