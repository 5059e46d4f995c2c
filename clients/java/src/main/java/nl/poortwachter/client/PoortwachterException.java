package nl.poortwachter.client;

/**
 * The root of every failure: the call produced no decision. Catch it and deny (fail closed).
 *
 * <p>Subclasses: {@link TransportException} (no answer; {@link TimedOutException} when the time ran
 * out), {@link ProtocolException} (an answer the API does not document) and {@link ProblemException}
 * (the service's problem document: the request could not be decided as sent).
 */
public class PoortwachterException extends Exception {
    private static final long serialVersionUID = 1L;

    public PoortwachterException(String message) {
        super(message);
    }

    public PoortwachterException(String message, Throwable cause) {
        super(message, cause);
    }
}
