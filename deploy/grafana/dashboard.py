"""Generates deploy/grafana/dashboards/poortwachter.json (run: python deploy/grafana/dashboard.py).

The dashboard is data drawn from this table of panels so that every query is in one readable place;
tests/operations/test_deploy.py checks that the JSON is current and that every metric it queries is one
the service really exports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards" / "poortwachter.json"
SEL = '{job=~"$job", instance=~"$instance"}'
R = "$__rate_interval"


DENY = 'decision="deny"'
HIT = 'result="hit"'
# the decision endpoints (AuthZEN, explain, filter): what the latency alert watches, too
DECIDING = 'endpoint=~"/access/v1/.*|/v1/decisions|/v1/filter"'


def sel(extra: str = "") -> str:
    return SEL if not extra else SEL[:-1] + ", " + extra + "}"


# (row, title, kind, unit, width, [(expr, legend)], description)
PANELS: list[tuple[str, str, str, str, int, list[tuple[str, str]], str]] = [
    ("Decisions", "Decisions per second", "timeseries", "reqps", 8,
     [(f"sum by (decision) (rate(poortwachter_decisions_total{sel()}[{R}]))", "{{decision}}")],
     "Every decision answered, allow and deny (batch items count one each)."),
    ("Decisions", "Deny ratio", "timeseries", "percentunit", 8,
     [((f'sum(rate(poortwachter_decisions_total{sel(DENY)}[{R}])) / '
       f"sum(rate(poortwachter_decisions_total{sel()}[{R}]))"), "deny ratio")],
     "Share of decisions that deny. Alert PoortwachterDenyRateSpike compares it with the day."),
    ("Decisions", "Decisions by action", "timeseries", "reqps", 8,
     [(f"sum by (action, decision) (rate(poortwachter_decisions_total{sel()}[{R}]))", "{{action}} {{decision}}")],
     "Per action of the vocabulary (read, copy, write, disclose, ...)."),
    ("Decisions", "Decisions by bundle version", "timeseries", "reqps", 8,
     [(f"sum by (bundle, version) (rate(poortwachter_decisions_total{sel()}[{R}]))", "{{bundle}} {{version}}")],
     "Which version decided: while two versions of a bundle are active (a law change), both show here."),
    ("Decisions", "Deciding rules (top 15)", "table", "reqps", 16,
     [(f"topk(15, sum by (bundle, version, rule, decision) (rate(poortwachter_decisions_total{sel()}[{R}])))", "")],
     "Which rules decide, per bundle version. default-deny means that no rule applied."),
    ("Latency and load", "Request latency, end to end (decision endpoints)", "timeseries", "s", 8,
     [(f"histogram_quantile({q}, sum by (le) (rate(poortwachter_request_duration_seconds_bucket{sel(DECIDING)}[{R}])))",
       f"p{int(q * 100)}") for q in (0.5, 0.9, 0.99)],
     ("From the request's arrival to its response being ready, including the wait for the decision log: what "
      "a client sees, less the network. Alert PoortwachterLatencyP99High watches the p99.")),
    ("Latency and load", "Request latency p99 by endpoint", "timeseries", "s", 8,
     [(f"histogram_quantile(0.99, sum by (endpoint, le) (rate(poortwachter_request_duration_seconds_bucket{sel()}[{R}])))",
       "{{endpoint}}")],
     "End to end, per route (unmatched: paths the service does not serve)."),
    ("Latency and load", "Decide part of the latency", "timeseries", "s", 8,
     [(f"histogram_quantile({q}, sum by (le) (rate(poortwachter_decision_duration_seconds_bucket{sel()}[{R}])))",
       f"p{int(q * 100)}") for q in (0.5, 0.99)],
     ("Time to decide one request or batch item, parse to verdict, without the decision-log wait. A high "
      "end-to-end p99 with a low decide part points at the decision log's storage.")),
    ("Latency and load", "Request latency heatmap (decision endpoints)", "heatmap", "s", 8,
     [(f"sum by (le) (increase(poortwachter_request_duration_seconds_bucket{sel(DECIDING)}[{R}]))", "{{le}}")],
     "End to end; buckets from 100 µs to 10 s."),
    ("Latency and load", "Batch size", "timeseries", "short", 8,
     [(f"histogram_quantile({q}, sum by (le) (rate(poortwachter_batch_size_bucket{sel()}[{R}])))",
       f"p{int(q * 100)}") for q in (0.5, 0.99)],
     "Evaluations per /access/v1/evaluations call and items per /v1/filter call."),
    ("Latency and load", "Decision cache hit ratio", "timeseries", "percentunit", 8,
     [((f'sum(rate(poortwachter_cache_requests_total{sel(HIT)}[{R}])) / '
       f"sum(rate(poortwachter_cache_requests_total{sel()}[{R}]))"), "hit ratio")],
     "Cache keyed by bundle revision and derived facts."),
    ("Latency and load", "Request errors by kind", "timeseries", "reqps", 8,
     [(f"sum by (kind) (rate(poortwachter_request_errors_total{sel()}[{R}]))", "{{kind}}")],
     ("Client errors (invalid request, too large, unsupported media type, unauthorised) and internal ones "
     "(evaluation error: answered deny; decision log unavailable: answered 503).")),
    ("Bundles", "Active bundles", "table", "short", 12,
     [(f"max by (bundle, version, revision) (poortwachter_bundle_info{sel()})", "")],
     "bundle, version and revision of the bundles each worker has active."),
    ("Bundles", "Bundle active on every worker", "stat", "short", 4,
     [(f"min(poortwachter_bundles_active{sel()})", "active")],
     "0 means not ready: decisions are refused. Alert PoortwachterNoActiveBundle."),
    ("Bundles", "Since last bundle load", "stat", "s", 4,
     [(f"time() - max(poortwachter_bundle_last_reload_timestamp_seconds{sel()})", "age")],
     "Time since a bundle was last (re)loaded successfully."),
    ("Bundles", "Bundle loads", "stat", "short", 4,
     [(f"sum by (result) (increase(poortwachter_bundle_loads_total{sel()}[$__range]))", "{{result}}")],
     "Successful and refused loads in the shown range. Alert PoortwachterBundleReloadFailing."),
    ("Bundles", "Instances per active revision", "table", "short", 12,
     [(f"count by (job, bundle, version, revision) (poortwachter_bundle_info{sel()} == 1)", "")],
     ("On how many instances each revision is active; a revision on fewer instances than the job has means "
      "the replicas disagree. Alert PoortwachterBundleRevisionsDisagree.")),
    ("Bundles", "Bundle source: since last success", "timeseries", "s", 6,
     [(f"time() - max by (instance) (poortwachter_bundle_source_last_success_timestamp_seconds{sel()})",
       "{{instance}}")],
     "Age of the newest successful read of the bundle source (registry). Alert PoortwachterBundleSourceStale."),
    ("Bundles", "Bundle source errors", "timeseries", "ops", 6,
     [(f"sum by (cause) (rate(poortwachter_bundle_source_errors_total{sel()}[{R}]))", "{{cause}}")],
     "Failed reads of the bundle source by cause. Alert PoortwachterBundleSourceErrors."),
    ("Decision log", "Decision log healthy", "stat", "short", 4,
     [(f"min(poortwachter_decision_log_healthy{sel()})", "healthy")],
     "1: records are written. 0: the log cannot be written and decisions are refused (fail closed)."),
    ("Decision log", "Records written and failed", "timeseries", "ops", 8,
     [(f"sum by (result) (rate(poortwachter_decision_log_records_total{sel()}[{R}]))", "{{result}}")],
     "failed records belong to requests that were answered 503, never with a decision."),
    ("Decision log", "Group commit: write + fsync time", "timeseries", "s", 6,
     [(f"histogram_quantile({q}, sum by (le) (rate(poortwachter_decision_log_flush_duration_seconds_bucket{sel()}[{R}])))",
       f"p{int(q * 100)}") for q in (0.5, 0.99)],
     "What a request waits for its record to be durable, at most one flush plus the one before it."),
    ("Decision log", "Records per flush", "timeseries", "short", 6,
     [((f"sum(rate(poortwachter_decision_log_flush_records_sum{sel()}[{R}])) / "
       f"sum(rate(poortwachter_decision_log_flush_records_count{sel()}[{R}]))"), "mean")],
     "How many decisions share one fsync (rises with concurrency)."),
    ("Decision log shipping", "Records waiting to be shipped", "timeseries", "short", 6,
     [(f"sum by (instance) (poortwachter_log_ship_pending_records{sel()})", "{{instance}}")],
     "Decision log records written locally but not yet shipped to the central store."),
    ("Decision log shipping", "Oldest unshipped record", "timeseries", "s", 6,
     [(f"max by (instance) (poortwachter_log_ship_oldest_pending_age_seconds{sel()})", "{{instance}}")],
     "The shipping lag. Alert PoortwachterLogShipLagging."),
    ("Decision log shipping", "Shipping errors", "timeseries", "ops", 6,
     [(f"sum by (cause) (rate(poortwachter_log_ship_errors_total{sel()}[{R}]))", "{{cause}}")],
     "Failed shipments by cause. Alert PoortwachterLogShipFailing."),
    ("Decision log shipping", "Since last successful shipment", "timeseries", "s", 6,
     [(f"time() - max by (instance) (poortwachter_log_ship_last_success_timestamp_seconds{sel()})",
       "{{instance}}")],
     "Grows while nothing is shipped; normal when nothing waits (see the panel on the left)."),
]


def panel(pid: int, x: int, y: int, title: str, kind: str, unit: str, width: int,
          targets: list[tuple[str, str]], description: str) -> dict[str, Any]:
    height = 8 if kind in ("timeseries", "heatmap", "table") else 5
    p: dict[str, Any] = {
        "id": pid, "type": kind, "title": title, "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": height, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             **({"instant": True, "format": "table"} if kind == "table" else {})}
            for i, (expr, legend) in enumerate(targets)
        ],
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "none"}
        if "healthy" in title or "active bundle" in title:
            p["fieldConfig"]["defaults"]["thresholds"] = {
                "mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]}
    if kind == "heatmap":
        p["options"] = {"calculate": False, "yAxis": {"unit": "s"}}
        p["targets"][0]["format"] = "heatmap"
    return p


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y, x, row, pid, row_height = 0, 0, None, 1, 0
    for row_title, title, kind, unit, width, targets, description in PANELS:
        if row_title != row:
            if row is not None:
                y += row_height
            panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            pid, y, x, row, row_height = pid + 1, y + 1, 0, row_title, 0
        if x + width > 24:
            y, x, row_height = y + row_height, 0, 0
        p = panel(pid, x, y, title, kind, unit, width, targets, description)
        panels.append(p)
        pid, x, row_height = pid + 1, x + width, max(row_height, p["gridPos"]["h"])
    return {
        "uid": "poortwachter", "title": "Poortwachter", "tags": ["poortwachter", "authorisation"],
        "description": "Decisions, latency, bundles, the decision log and its shipping of Poortwachter sidecars.",
        "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "timezone": "browser",
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
             "current": {"text": "Prometheus", "value": "prometheus"}},
            {"name": "job", "type": "query", "label": "Job", "includeAll": True, "multi": True,
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(poortwachter_bundles_active, job)", "refId": "job"},
             "definition": "label_values(poortwachter_bundles_active, job)", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
            {"name": "instance", "type": "query", "label": "Instance", "includeAll": True, "multi": True,
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": 'label_values(poortwachter_bundles_active{job=~"$job"}, instance)', "refId": "instance"},
             "definition": 'label_values(poortwachter_bundles_active{job=~"$job"}, instance)', "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
