package nl.poortwachter.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A client for the Poortwachter decision API on {@code java.net.http} (Java 17+, no other dependency).
 *
 * <pre>{@code
 * PoortwachterClient pdp = PoortwachterClient.builder(URI.create("http://127.0.0.1:8181")).build();
 * try {
 *     Decision answer = pdp.evaluate(request);
 *     allowed = answer.permits(Set.of("log_access"));   // an allow whose obligations you carry out
 * } catch (PoortwachterException e) {
 *     allowed = false;                                 // no decision: fail closed
 * }
 * }</pre>
 *
 * <p>Every call answers or throws a {@link PoortwachterException}; none waits longer than the timeout
 * (2 seconds by default, connecting included). One instance is thread-safe; share it.
 */
public final class PoortwachterClient {
    /** The default bound on a whole call: a sidecar answers in milliseconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
    private static final String JSON = "application/json";
    private static final String PROBLEM_JSON = "application/problem+json";

    private final URI base;
    private final Duration timeout;
    private final String token;
    private final String historyToken;
    private final HttpClient http;

    private PoortwachterClient(Builder b) {
        String url = b.base.toString();
        this.base = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        this.timeout = b.timeout;
        this.token = b.token;
        this.historyToken = b.historyToken;
        this.http = b.http != null ? b.http
                : HttpClient.newBuilder().connectTimeout(b.timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** A builder for a service at {@code base}, e.g. {@code http://127.0.0.1:8181}. */
    public static Builder builder(URI base) {
        return new Builder(base);
    }

    /** Settings of a client: timeout, tokens, an own {@link HttpClient} (proxy, TLS). */
    public static final class Builder {
        private final URI base;
        private Duration timeout = DEFAULT_TIMEOUT;
        private String token;
        private String historyToken;
        private HttpClient http;

        private Builder(URI base) {
            this.base = Objects.requireNonNull(base, "base");
        }

        /** Bound on a whole call, connecting included (default 2 s). */
        public Builder timeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("the timeout must be positive");
            }
            this.timeout = timeout;
            return this;
        }

        /** The decision token, when the service is configured with one. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** The history token, for {@link #explainHistory}. */
        public Builder historyToken(String historyToken) {
            this.historyToken = historyToken;
            return this;
        }

        /** Your own HttpClient (proxy, TLS, executor); the call timeout still applies. */
        public Builder httpClient(HttpClient http) {
            this.http = http;
            return this;
        }

        public PoortwachterClient build() {
            return new PoortwachterClient(this);
        }
    }

    /** One decision: {@code POST /access/v1/evaluation}. A deny is a Decision with decision() false. */
    public Decision evaluate(Request.Evaluation request) throws PoortwachterException {
        return evaluate(request.toJson());
    }

    /** One decision from a body given as a map (the names of docs/api.md). */
    public Decision evaluate(Map<String, ?> body) throws PoortwachterException {
        return Decision.read(post("/access/v1/evaluation", body, token), "answer");
    }

    /**
     * Many decisions in request order: {@code POST /access/v1/evaluations}. Shorter than the request when
     * the semantic stopped early; a malformed item is a deny whose context carries the error.
     */
    public List<Decision> evaluateBatch(Request.Batch request) throws PoortwachterException {
        return evaluateBatch(request.toJson());
    }

    /** Many decisions from a body given as a map. */
    public List<Decision> evaluateBatch(Map<String, ?> body) throws PoortwachterException {
        Map<String, Object> answer = Read.object(post("/access/v1/evaluations", body, token), "answer");
        if (!answer.containsKey("evaluations")) {
            return List.of(Decision.read(answer, "answer"));  // a body without items is one evaluation
        }
        List<Decision> out = new ArrayList<>();
        int i = 0;
        for (Object item : Read.requiredList(answer, "evaluations", "answer")) {
            out.add(Decision.read(item, "answer.evaluations[" + i++ + "]"));
        }
        return List.copyOf(out);
    }

    /** The decision with its facts and every rule's trace: {@code POST /v1/decisions}. */
    public Explanation explain(Request.Evaluation request) throws PoortwachterException {
        return explain(request.toJson());
    }

    public Explanation explain(Map<String, ?> body) throws PoortwachterException {
        return Explanation.read(post("/v1/decisions", body, token));
    }

    /** What would have been decided at {@code context.time}, with the history token. */
    public Explanation explainHistory(Map<String, ?> body) throws PoortwachterException {
        if (historyToken == null) {
            throw new IllegalStateException("explainHistory needs the builder's historyToken");
        }
        return Explanation.read(post("/v1/decisions", body, historyToken));
    }

    /** Which items or field categories one subject may see, in one call: {@code POST /v1/filter}. */
    public FilterAnswer filter(Map<String, ?> body) throws PoortwachterException {
        return FilterAnswer.read(post("/v1/filter", body, token));
    }

    /** {@code GET /readyz}: true when the service is ready to decide. */
    public boolean ready() throws PoortwachterException {
        Exchange answer = send(HttpRequest.newBuilder(URI.create(base + "/readyz")).GET(), "/readyz");
        return answer.status == 200;
    }

    private record Exchange(int status, Object json) {
    }

    private Object post(String path, Map<String, ?> body, String bearer) throws PoortwachterException {
        byte[] json = Json.write(body).getBytes(StandardCharsets.UTF_8);
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", JSON)
                .POST(HttpRequest.BodyPublishers.ofByteArray(json));
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        Exchange answer = send(request, path);
        if (answer.status != 200) {
            throw new ProtocolException("POST " + path + ": unexpected answer " + answer.status, answer.status);
        }
        return answer.json;
    }

    private Exchange send(HttpRequest.Builder request, String path) throws PoortwachterException {
        request.timeout(timeout).header("Accept", JSON + ", " + PROBLEM_JSON)
                .header("User-Agent", "poortwachter-client-java");
        CompletableFuture<HttpResponse<byte[]>> call =
                http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> response;
        try {
            response = call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);  // the whole call, body included
        } catch (TimeoutException e) {
            call.cancel(true);
            throw new TimedOutException(path + ": no answer within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            call.cancel(true);
            Thread.currentThread().interrupt();
            throw new TransportException(path + ": interrupted while waiting for the answer", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof java.net.http.HttpTimeoutException) {
                throw new TimedOutException(path + ": no answer within " + timeout.toMillis() + " ms", cause);
            }
            throw new TransportException(path + ": " + cause, cause);  // refused, reset, TLS, …
        }
        return interpret(response, path);
    }

    private static Exchange interpret(HttpResponse<byte[]> response, String path) throws PoortwachterException {
        int status = response.statusCode();
        String media = response.headers().firstValue("content-type").orElse("").split(";")[0].trim().toLowerCase();
        Object json = null;
        if (media.equals(JSON) || media.equals(PROBLEM_JSON)) {
            try {
                json = Json.parse(new String(response.body(), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new ProtocolException(path + ": " + status + " with a body that is not JSON (" + e.getMessage()
                        + ")", status);
            }
        }
        boolean problem = media.equals(PROBLEM_JSON)
                || status >= 400 && json instanceof Map<?, ?> m && m.containsKey("type") && m.containsKey("status");
        if (problem) {
            Double retry = response.headers().firstValue("retry-after").map(PoortwachterClient::seconds).orElse(null);
            throw ProblemException.of(status, json, response.headers().firstValue("x-request-id").orElse(null), retry);
        }
        if (!media.equals(JSON)) {
            throw new ProtocolException(path + ": unexpected answer " + status + " ("
                    + (media.isEmpty() ? "no media type" : media) + ")", status);
        }
        if (status != 200 && status != 503) {
            throw new ProtocolException(path + ": unexpected answer " + status, status);
        }
        return new Exchange(status, json);
    }

    private static Double seconds(String value) {
        try {
            return Double.valueOf(value.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
