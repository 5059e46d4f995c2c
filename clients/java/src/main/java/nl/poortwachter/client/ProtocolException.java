package nl.poortwachter.client;

/**
 * An answer that is not one the API documents: a proxy's error page, a body that is not JSON, a 200
 * whose {@code decision} is not a boolean. Never read as an allow.
 */
public class ProtocolException extends PoortwachterException {
    private static final long serialVersionUID = 1L;

    private final int status;

    public ProtocolException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** The HTTP status of the answer (0 when there was none to speak of). */
    public int status() {
        return status;
    }
}
