package nl.poortwachter.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Request bodies of the decision API with the names of docs/api.md: {@link Subject}, {@link Action},
 * {@link Resource}, a context map, and the {@link Evaluation} and batch bodies built from them.
 *
 * <p>Properties and the context stay maps ({@code Map.of("relation", "ouder", "gezag", true)}): the
 * service checks every value and answers a wrong one with a 400 problem naming the field. Dates and
 * times may be {@link java.time.LocalDate} / {@link java.time.OffsetDateTime} values.
 */
public final class Request {
    private Request() {
    }

    /** Something the client writes as a JSON object. */
    public interface Body {
        Map<String, Object> toJson();
    }

    /** Who asks: type {@code person}, {@code professional} or {@code organisation}. */
    public record Subject(String type, String id, Map<String, ?> properties) implements Body {
        public Subject {
            Objects.requireNonNull(type, "subject type");
            Objects.requireNonNull(id, "subject id");
        }

        public Subject(String type, String id) {
            this(type, id, null);
        }

        @Override
        public Map<String, Object> toJson() {
            return entity("type", type, "id", id, properties);
        }
    }

    /** What the subject wants to do: {@code read}, {@code copy}, {@code write}, {@code disclose}, … */
    public record Action(String name, Map<String, ?> properties) implements Body {
        public Action {
            Objects.requireNonNull(name, "action name");
        }

        public Action(String name) {
            this(name, null);
        }

        @Override
        public Map<String, Object> toJson() {
            return entity("name", name, null, null, properties);
        }
    }

    /** What the action is on: {@code dossier_item} or {@code dossier}, with dossier_type, category, client, … */
    public record Resource(String type, String id, Map<String, ?> properties) implements Body {
        public Resource {
            Objects.requireNonNull(type, "resource type");
            Objects.requireNonNull(id, "resource id");
        }

        @Override
        public Map<String, Object> toJson() {
            return entity("type", type, "id", id, properties);
        }
    }

    /** One decision: {@code POST /access/v1/evaluation} (and {@code /v1/decisions}). Context may be null. */
    public record Evaluation(Subject subject, Action action, Resource resource, Map<String, ?> context)
            implements Body {
        public Evaluation {
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(resource, "resource");
        }

        @Override
        public Map<String, Object> toJson() {
            return entities(subject, action, resource, context);
        }
    }

    /** One item of a batch: each non-null part replaces the batch default of that part. */
    public record Item(Subject subject, Action action, Resource resource, Map<String, ?> context) implements Body {
        @Override
        public Map<String, Object> toJson() {
            return entities(subject, action, resource, context);
        }
    }

    /** How a batch ends: every item, or stop at the first deny or permit. */
    public enum Semantic {
        EXECUTE_ALL("execute_all"), DENY_ON_FIRST_DENY("deny_on_first_deny"),
        PERMIT_ON_FIRST_PERMIT("permit_on_first_permit");

        private final String wire;

        Semantic(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }
    }

    /** Many decisions: {@code POST /access/v1/evaluations}; the defaults' parts apply to every item. */
    public record Batch(Item defaults, List<Item> evaluations, Semantic semantic) implements Body {
        public Batch {
            Objects.requireNonNull(evaluations, "evaluations");
        }

        @Override
        public Map<String, Object> toJson() {
            Map<String, Object> out = defaults == null ? new LinkedHashMap<>() : defaults.toJson();
            List<Object> items = new ArrayList<>(evaluations);
            out.put("evaluations", items);
            if (semantic != null) {
                out.put("options", Map.of("evaluations_semantic", semantic.wire()));
            }
            return out;
        }
    }

    private static Map<String, Object> entity(String k1, String v1, String k2, String v2, Map<String, ?> properties) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put(k1, v1);
        if (k2 != null) {
            out.put(k2, v2);
        }
        if (properties != null) {
            out.put("properties", properties);
        }
        return out;
    }

    private static Map<String, Object> entities(Subject subject, Action action, Resource resource,
                                                Map<String, ?> context) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (subject != null) {
            out.put("subject", subject);
        }
        if (action != null) {
            out.put("action", action);
        }
        if (resource != null) {
            out.put("resource", resource);
        }
        if (context != null) {
            out.put("context", context);
        }
        return out;
    }
}
