package nl.poortwachter.client;

import java.util.List;
import java.util.Map;

/** Strict reading of answer JSON: a missing or mistyped field is a {@link ProtocolException}, never a default. */
final class Read {
    private Read() {
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object value, String where) throws ProtocolException {
        if (value instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        throw new ProtocolException(where + ": expected an object, got " + describe(value), 200);
    }

    static boolean bool(Map<String, Object> data, String key, String where) throws ProtocolException {
        if (data.get(key) instanceof Boolean b) {
            return b;
        }
        throw new ProtocolException(where + "." + key + ": expected true or false, got " + describe(data.get(key)), 200);
    }

    static long integer(Map<String, Object> data, String key, String where) throws ProtocolException {
        if (data.get(key) instanceof Long n) {
            return n;
        }
        throw new ProtocolException(where + "." + key + ": expected an integer, got " + describe(data.get(key)), 200);
    }

    static String str(Map<String, Object> data, String key, String where) throws ProtocolException {
        if (data.get(key) instanceof String s) {
            return s;
        }
        throw new ProtocolException(where + "." + key + ": expected a string, got " + describe(data.get(key)), 200);
    }

    static String optStr(Map<String, Object> data, String key, String where) throws ProtocolException {
        return data.get(key) == null ? null : str(data, key, where);
    }

    /** A list; absent means empty (the answer leaves out empty lists in some places). */
    static List<?> list(Map<String, Object> data, String key, String where) throws ProtocolException {
        Object value = data.get(key);
        if (value == null && !data.containsKey(key)) {
            return List.of();
        }
        if (value instanceof List<?> items) {
            return items;
        }
        throw new ProtocolException(where + "." + key + ": expected a list, got " + describe(value), 200);
    }

    /** A list that must be there. */
    static List<?> requiredList(Map<String, Object> data, String key, String where) throws ProtocolException {
        if (data.get(key) instanceof List<?> items) {
            return items;
        }
        throw new ProtocolException(where + "." + key + ": expected a list, got " + describe(data.get(key)), 200);
    }

    static List<String> strings(Map<String, Object> data, String key, String where) throws ProtocolException {
        List<?> items = list(data, key, where);
        for (Object item : items) {
            if (!(item instanceof String)) {
                throw new ProtocolException(where + "." + key + ": expected strings, got " + describe(item), 200);
            }
        }
        return items.stream().map(String.class::cast).toList();
    }

    static String describe(Object value) {
        if (value == null) {
            return "nothing";
        }
        String text = value instanceof String s ? "'" + s + "'" : String.valueOf(value);
        return text.length() > 80 ? text.substring(0, 80) + "…" : text;
    }
}
