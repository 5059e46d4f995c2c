package nl.poortwachter.client;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * One AuthZEN decision. {@link #decision()} is true only for an allow the service gave; a deny is an
 * answer too (HTTP 200), with its reasons and what is missing.
 *
 * <p>Obligations are mandatory: use {@link #permits(Collection)} with the obligation ids your system
 * carries out, so an allow whose duties you cannot fulfil counts as the deny it is.
 */
public record Decision(boolean decision, Context context, Map<String, Object> raw) {

    /** Why: the decision id, the bundle that decided, the deciding rules, obligations, missing facts. */
    public record Context(String decisionId, BundleRef bundle, List<Reason> reasons, List<Obligation> obligations,
                          List<Missing> missing, List<String> errors, ItemError error) {
    }

    /** The bundle version that decided. */
    public record BundleRef(String name, String version, String revision) {
    }

    /** A deciding rule, with its text in Dutch and English and its legal basis. */
    public record Reason(String rule, String effect, String textNl, String textEn, List<String> basis,
                         List<String> source) {
    }

    /** A duty attached to the answer (AuthZEN Obligations profile); mandatory. */
    public record Obligation(String id, String textNl, String textEn) {
    }

    /** On a deny: a fact the caller could obtain that would make an allow rule apply. */
    public record Missing(String fact, String path, String rule, String from, String kind, String textNl,
                          String textEn) {
    }

    /** Why one evaluation of a batch or filter could not be decided (it is denied). */
    public record ItemError(int status, String message, String field, String pointer, String expected, String got) {
    }

    /** True for an allow whose every obligation is one of {@code supported}. */
    public boolean permits(Collection<String> supported) {
        if (!decision) {
            return false;
        }
        for (Obligation o : context.obligations()) {
            if (!supported.contains(o.id())) {
                return false;
            }
        }
        return true;
    }

    /** The ids of the obligations, in the answer's order. */
    public List<String> obligationIds() {
        return context.obligations().stream().map(Obligation::id).toList();
    }

    static Decision read(Object data, String where) throws ProtocolException {
        Map<String, Object> d = Read.object(data, where);
        return new Decision(Read.bool(d, "decision", where), readContext(d.get("context"), where + ".context"), d);
    }

    static Context readContext(Object data, String where) throws ProtocolException {
        Map<String, Object> d = Read.object(data, where);
        BundleRef bundle = null;
        if (d.get("bundle") != null) {
            Map<String, Object> b = Read.object(d.get("bundle"), where + ".bundle");
            bundle = new BundleRef(Read.str(b, "name", where), Read.str(b, "version", where),
                    Read.str(b, "revision", where));
        }
        List<Reason> reasons = new ArrayList<>();
        int i = 0;
        for (Object item : Read.list(d, "reasons", where)) {
            String w = where + ".reasons[" + i++ + "]";
            Map<String, Object> r = Read.object(item, w);
            Map<String, Object> text = Read.object(r.get("text"), w + ".text");
            reasons.add(new Reason(Read.str(r, "rule", w), Read.str(r, "effect", w), Read.str(text, "nl", w),
                    Read.str(text, "en", w), Read.strings(r, "basis", w), Read.strings(r, "source", w)));
        }
        List<Obligation> obligations = new ArrayList<>();
        i = 0;
        for (Object item : Read.list(d, "obligations", where)) {
            String w = where + ".obligations[" + i++ + "]";
            Map<String, Object> o = Read.object(item, w);
            Map<String, Object> props = o.get("properties") == null ? Map.of() : Read.object(o.get("properties"), w);
            Map<String, Object> text = props.get("text") == null ? Map.of() : Read.object(props.get("text"), w);
            obligations.add(new Obligation(Read.str(o, "id", w), Read.optStr(text, "nl", w), Read.optStr(text, "en", w)));
        }
        List<Missing> missing = new ArrayList<>();
        i = 0;
        for (Object item : Read.list(d, "missing", where)) {
            String w = where + ".missing[" + i++ + "]";
            Map<String, Object> m = Read.object(item, w);
            Map<String, Object> text = Read.object(m.get("text"), w + ".text");
            missing.add(new Missing(Read.str(m, "fact", w), Read.str(m, "path", w), Read.str(m, "rule", w),
                    Read.optStr(m, "from", w), Read.optStr(m, "kind", w), Read.str(text, "nl", w),
                    Read.str(text, "en", w)));
        }
        ItemError error = null;
        if (d.get("error") != null) {
            String w = where + ".error";
            Map<String, Object> e = Read.object(d.get("error"), w);
            error = new ItemError((int) Read.integer(e, "status", w), Read.str(e, "message", w),
                    Read.optStr(e, "field", w), Read.optStr(e, "pointer", w), Read.optStr(e, "expected", w),
                    Read.optStr(e, "got", w));
        }
        return new Context(Read.str(d, "decision_id", where), bundle, List.copyOf(reasons), List.copyOf(obligations),
                List.copyOf(missing), Read.strings(d, "errors", where), error);
    }
}
