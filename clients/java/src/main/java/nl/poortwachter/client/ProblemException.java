package nl.poortwachter.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An RFC 9457 problem document ({@code application/problem+json}): the service could not decide the
 * request as sent, or at all. {@link #kind()} is the last part of the type
 * ({@code invalid-request}, {@code duplicate-key}, {@code batch-too-large}, {@code unauthenticated},
 * {@code decision-log-unavailable}, …); {@link #errors()} name the offending fields.
 */
public class ProblemException extends PoortwachterException {
    private static final long serialVersionUID = 1L;
    /** Where the service's problem types live. */
    public static final String TYPE_BASE = "https://poortwachter.nl/problems/";

    /** One offending field: dotted path, JSON Pointer, what was expected and what was sent. */
    public record FieldError(String field, String pointer, String expected, String got) {
    }

    private final int status;
    private final String type;
    private final String title;
    private final String detail;
    private final transient List<FieldError> errors;
    private final String requestId;
    private final Double retryAfter;

    public ProblemException(int status, String type, String title, String detail, List<FieldError> errors,
                            String requestId, Double retryAfter) {
        super(status + " " + (type.startsWith(TYPE_BASE) ? type.substring(TYPE_BASE.length()) : type) + ": " + detail);
        this.status = status;
        this.type = type;
        this.title = title;
        this.detail = detail;
        this.errors = List.copyOf(errors);
        this.requestId = requestId;
        this.retryAfter = retryAfter;
    }

    static ProblemException of(int status, Object document, String requestId, Double retryAfter) {
        Map<?, ?> doc = document instanceof Map<?, ?> m ? m : Map.of();
        List<FieldError> errors = new ArrayList<>();
        if (doc.get("errors") instanceof List<?> items) {
            for (Object item : items) {
                if (item instanceof Map<?, ?> e && e.get("field") instanceof String field) {
                    errors.add(new FieldError(field, text(e.get("pointer")), text(e.get("expected")),
                            text(e.get("got"))));
                }
            }
        }
        String type = doc.get("type") instanceof String t ? t : "about:blank";
        return new ProblemException(status, type, String.valueOf(doc.get("title")), String.valueOf(doc.get("detail")),
                errors, requestId, retryAfter);
    }

    private static String text(Object value) {
        return value == null ? null : String.valueOf(value);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    /** {@code invalid-request} for {@code https://poortwachter.nl/problems/invalid-request}; else the type. */
    public String kind() {
        return type.startsWith(TYPE_BASE) ? type.substring(TYPE_BASE.length()) : type;
    }

    public String title() {
        return title;
    }

    public String detail() {
        return detail;
    }

    public List<FieldError> errors() {
        return errors;
    }

    /** The X-Request-ID of the answer: quote it when you ask the operator. */
    public String requestId() {
        return requestId;
    }

    /** Seconds the service asked to wait before a retry (Retry-After), if it said. */
    public Optional<Double> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** True where the same request may succeed later (408, 503). */
    public boolean retryable() {
        return status == 408 || status == 503;
    }
}
