package nl.poortwachter.client;

/** No answer: the connection was refused, broke off or could not be made. */
public class TransportException extends PoortwachterException {
    private static final long serialVersionUID = 1L;

    public TransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
