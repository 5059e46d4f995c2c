package nl.poortwachter.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Which items or field categories may be shown ({@code POST /v1/filter}): {@code allowed} ids may be
 * shown (carry out their obligations), {@code denied} ids are hidden; {@code items} in request order.
 */
public record FilterAnswer(List<String> allowed, List<String> denied, List<Item> items) {

    /** One item's decision. */
    public record Item(String id, boolean decision, Decision.Context context) {
    }

    static FilterAnswer read(Object data) throws ProtocolException {
        Map<String, Object> d = Read.object(data, "answer");
        List<Item> items = new ArrayList<>();
        int i = 0;
        for (Object item : Read.requiredList(d, "items", "answer")) {
            String w = "answer.items[" + i++ + "]";
            Map<String, Object> it = Read.object(item, w);
            items.add(new Item(Read.str(it, "id", w), Read.bool(it, "decision", w),
                    Decision.readContext(it.get("context"), w + ".context")));
        }
        return new FilterAnswer(Read.strings(d, "allowed", "answer"), Read.strings(d, "denied", "answer"),
                List.copyOf(items));
    }
}
