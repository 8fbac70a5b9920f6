using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace McpSecurity.Risk.Llm;

/// <summary>
/// Sends one JSON request with the options' limits: a timeout per attempt, retries with exponential
/// backoff on 429, 5xx and timeouts (a 429's Retry-After wins, up to <see cref="LlmOptions.MaxRetryDelay"/>),
/// and a cap on the bytes read from the answer.
/// </summary>
internal static class LlmHttp
{
    public static async Task<byte[]> PostAsync(HttpClient http, LlmOptions options, Uri uri, byte[] body, Action<HttpRequestHeaders> headers, TimeProvider time, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Timeout);
            TimeSpan? wait;
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                headers(request.Headers);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                var content = await ReadCappedAsync(response.Content, options.MaxResponseBytes, timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return content;
                }

                failure = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode} from {uri.GetLeftPart(UriPartial.Path)}: {Excerpt(content)}");
                if (response.StatusCode != HttpStatusCode.TooManyRequests && (int)response.StatusCode < 500)
                {
                    throw new LlmException(failure);
                }

                wait = RetryAfter(response, time);
                if (wait > options.MaxRetryDelay)
                {
                    throw new LlmException(string.Create(CultureInfo.InvariantCulture,
                        $"{failure}; the server asks to retry after {wait.Value.TotalSeconds:0} s, longer than the {options.MaxRetryDelay.TotalSeconds:0} s allowed."));
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failure = string.Create(CultureInfo.InvariantCulture, $"no answer from {uri.GetLeftPart(UriPartial.Path)} within {options.Timeout.TotalSeconds:0.#} s");
                wait = null;
            }
            catch (HttpRequestException ex)
            {
                failure = $"request to {uri.GetLeftPart(UriPartial.Path)} failed: {ex.Message}";
                wait = null;
            }

            if (attempt >= options.MaxRetries)
            {
                throw new LlmException(string.Create(CultureInfo.InvariantCulture, $"{failure} (after {attempt + 1} attempt(s))"));
            }

            var delay = wait ?? options.RetryDelay * Math.Pow(2, attempt);
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var d = date - time.GetUtcNow();
            return d > TimeSpan.Zero ? d : TimeSpan.Zero;
        }

        return null;
    }

    private static async Task<byte[]> ReadCappedAsync(HttpContent content, int max, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > max)
        {
            throw new LlmException(string.Create(CultureInfo.InvariantCulture, $"The answer is {content.Headers.ContentLength} bytes, more than the {max} allowed."));
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw new LlmException(string.Create(CultureInfo.InvariantCulture, $"The answer exceeds the {max} bytes allowed."));
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static string Excerpt(byte[] content)
    {
        var text = System.Text.Encoding.UTF8.GetString(content, 0, Math.Min(content.Length, 300));
        return text.ReplaceLineEndings(" ");
    }
}
