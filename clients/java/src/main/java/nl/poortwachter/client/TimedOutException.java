package nl.poortwachter.client;

/** No complete answer within the client's timeout. */
public class TimedOutException extends TransportException {
    private static final long serialVersionUID = 1L;

    public TimedOutException(String message, Throwable cause) {
        super(message, cause);
    }
}
