package nl.poortwachter.client;

import java.net.URI;
import java.time.Duration;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Calls a real Poortwachter server and prints what came back, one {@code name key=value …} line per
 * check; tests/clients/test_java_client.py runs it and asserts the lines. Arguments: the server's base
 * URL, the URL of a server that accepts connections but never answers, a URL where nothing listens, and
 * the URL of a server that answers 200 with a "decision" that is not a boolean.
 */
public final class ClientCheck {
    private ClientCheck() {
    }

    private static final Map<String, Object> CLIENT =
            Map.of("id", "c-9", "birthdate", LocalDate.of(2019, 5, 30), "gezaghebbenden", List.of("p-123"));
    private static final Request.Subject PARENT = new Request.Subject("person", "p-123",
            Map.of("relation", "ouder", "gezag", true, "identity_verified", true));
    private static final Request.Resource GROWTH_CHART = new Request.Resource("dossier_item", "d-9/groei/2026-03-01",
            Map.of("dossier_type", "jgz", "category", "groei", "client", CLIENT));
    private static final Map<String, Object> CONTEXT =
            Map.of("time", OffsetDateTime.of(2026, 11, 22, 10, 0, 0, 0, ZoneOffset.ofHours(1)), "purpose", "care");

    public static void main(String[] args) throws Exception {
        PoortwachterClient pdp = PoortwachterClient.builder(URI.create(args[0])).build();
        System.out.println("ready ok=" + pdp.ready());

        Request.Evaluation allowRequest = new Request.Evaluation(PARENT, new Request.Action("read"), GROWTH_CHART, CONTEXT);
        Decision allow = pdp.evaluate(allowRequest);
        System.out.println("allow decision=" + allow.decision() + " rule=" + allow.context().reasons().get(0).rule()
                + " basis=" + String.join(",", allow.context().reasons().get(0).basis()).replace(' ', '_')
                + " obligations=" + String.join(",", allow.obligationIds())
                + " permits=" + allow.permits(Set.copyOf(allow.obligationIds()))
                + " permits_without_log=" + allow.permits(Set.of("redact_third_party", "respond_within_one_month"))
                + " bundle=" + allow.context().bundle().name() + "@" + allow.context().bundle().version()
                + " id=" + allow.context().decisionId());

        Request.Subject stranger = new Request.Subject("person", "p-999", Map.of("relation", "derde"));
        Decision deny = pdp.evaluate(new Request.Evaluation(stranger, new Request.Action("read"), GROWTH_CHART, CONTEXT));
        System.out.println("deny decision=" + deny.decision() + " permits=" + deny.permits(Set.of())
                + " rules=" + String.join(",", deny.context().reasons().stream().map(Decision.Reason::rule).toList())
                + " missing=" + String.join(",", deny.context().missing().stream().map(Decision.Missing::path).toList())
                + " text_nl=" + !deny.context().reasons().get(0).textNl().isEmpty());

        List<Decision> batch = pdp.evaluateBatch(new Request.Batch(
                new Request.Item(PARENT, new Request.Action("read"), GROWTH_CHART, CONTEXT),
                List.of(new Request.Item(null, null, null, null),
                        new Request.Item(null, new Request.Action("destroy"), null, null),
                        new Request.Item(null, new Request.Action("lezen"), null, null)),
                Request.Semantic.EXECUTE_ALL));
        System.out.println("batch size=" + batch.size() + " decisions="
                + String.join(",", batch.stream().map(d -> String.valueOf(d.decision())).toList())
                + " error_field=" + batch.get(2).context().error().field()
                + " error_status=" + batch.get(2).context().error().status());
        List<Decision> stopped = pdp.evaluateBatch(new Request.Batch(
                new Request.Item(PARENT, new Request.Action("read"), GROWTH_CHART, CONTEXT),
                List.of(new Request.Item(null, null, null, null), new Request.Item(null, new Request.Action("destroy"), null, null),
                        new Request.Item(null, null, null, null)),
                Request.Semantic.DENY_ON_FIRST_DENY));
        System.out.println("short_circuit size=" + stopped.size());

        Explanation why = pdp.explain(allowRequest);
        long applied = why.rules().stream().filter(Explanation.RuleTrace::applied).count();
        System.out.println("explain decision=" + why.decision().decision() + " age=" + why.facts().get("client.age")
                + " rules=" + why.rules().size() + " applied=" + applied);

        FilterAnswer screen = pdp.filter(Map.of("subject", PARENT, "action", new Request.Action("read"), "context", CONTEXT,
                "resource", Map.of("type", "dossier_item", "properties", Map.of("dossier_type", "jgz", "client", CLIENT)),
                "categories", List.of("groei", "geheim_adres", "vaccinatie")));
        System.out.println("filter allowed=" + String.join(",", screen.allowed()) + " denied="
                + String.join(",", screen.denied()) + " items=" + screen.items().size());

        try {
            pdp.evaluate(new Request.Evaluation(PARENT, new Request.Action("lezen"), GROWTH_CHART, CONTEXT));
            System.out.println("problem none");
        } catch (ProblemException p) {
            ProblemException.FieldError e = p.errors().get(0);
            System.out.println("problem status=" + p.status() + " kind=" + p.kind() + " field=" + e.field()
                    + " pointer=" + e.pointer() + " got=" + e.got() + " retryable=" + p.retryable()
                    + " request_id=" + (p.requestId() != null));
        }

        try {
            pdp.evaluate(Map.of("subject", PARENT, "action", new Request.Action("read")));
            System.out.println("missing_resource none");
        } catch (ProblemException p) {
            System.out.println("missing_resource status=" + p.status() + " field=" + p.errors().get(0).field());
        }

        PoortwachterClient silent = PoortwachterClient.builder(URI.create(args[1])).timeout(Duration.ofMillis(300)).build();
        long started = System.nanoTime();
        try {
            silent.evaluate(allowRequest);
            System.out.println("timeout none");
        } catch (TimedOutException e) {
            long ms = (System.nanoTime() - started) / 1_000_000;
            System.out.println("timeout exception=" + e.getClass().getSimpleName() + " within_3s=" + (ms < 3000)
                    + " is_poortwachter=" + (e instanceof PoortwachterException));
        }

        PoortwachterClient nobody = PoortwachterClient.builder(URI.create(args[2])).timeout(Duration.ofSeconds(1)).build();
        try {
            nobody.evaluate(allowRequest);
            System.out.println("refused none");
        } catch (TransportException e) {
            System.out.println("refused exception=" + e.getClass().getSimpleName());
        }

        PoortwachterClient impostor = PoortwachterClient.builder(URI.create(args[3])).build();
        try {
            Decision d = impostor.evaluate(allowRequest);
            System.out.println("impostor none decision=" + d.decision());
        } catch (ProtocolException e) {
            System.out.println("impostor exception=" + e.getClass().getSimpleName() + " status=" + e.status());
        }

        Object parsed = Json.parse("{\"a\":[1,-2.5e1,\"\\u00e9\\ud83d\\ude00\\n\",true,null],\"b\":{}}");
        String written = Json.write(parsed);
        boolean duplicate = false;
        try {
            Json.parse("{\"gezag\":false,\"gezag\":true}");
        } catch (IllegalArgumentException e) {
            duplicate = true;
        }
        System.out.println("json roundtrip=" + written.equals("{\"a\":[1,-25.0,\"é😀\\n\",true,null],\"b\":{}}")
                + " duplicate_refused=" + duplicate);
    }
}
