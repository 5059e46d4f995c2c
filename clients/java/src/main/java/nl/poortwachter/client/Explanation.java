package nl.poortwachter.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A decision with everything behind it ({@code POST /v1/decisions}): the derived facts the rules saw
 * ({@code client.age}, {@code consent.self}, …) and every rule of the bundle: did it cover the request,
 * did it apply, which conditions failed.
 */
public record Explanation(Decision decision, Map<String, Object> facts, List<RuleTrace> rules) {

    /** One rule of the bundle and why it did or did not apply. */
    public record RuleTrace(String rule, String effect, boolean considered, boolean applied, List<String> failed) {
    }

    static Explanation read(Object data) throws ProtocolException {
        Decision decision = Decision.read(data, "answer");
        Map<String, Object> d = decision.raw();
        List<RuleTrace> rules = new ArrayList<>();
        int i = 0;
        for (Object item : Read.requiredList(d, "rules", "answer")) {
            String w = "answer.rules[" + i++ + "]";
            Map<String, Object> r = Read.object(item, w);
            rules.add(new RuleTrace(Read.str(r, "rule", w), Read.str(r, "effect", w), Read.bool(r, "considered", w),
                    Read.bool(r, "applied", w), Read.strings(r, "failed", w)));
        }
        return new Explanation(decision, Read.object(d.get("facts"), "answer.facts"), List.copyOf(rules));
    }
}
