"""deploy/k8s: each overlay renders with kustomize, validates against the Kubernetes schemas, and can be
applied twice without harm (no Secret, no placeholder, no ConfigMap that a second apply would overwrite).

The overlays are rendered by the small kustomize subset below (and compared with ``kubectl kustomize``
where kubectl is installed); the schemas come from kubernetes-validate (PyPI).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import support
import yaml

from poortwachter.service.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
# Created once by the operator (docs/operations.md, "Deploying on Kubernetes"), never by kustomize.
CREATED_OUTSIDE = {"Secret": {"poortwachter", "poortwachter-audit-db", "poortwachter-registry"}, "ConfigMap": {"poortwachter-trusted-keys"}}
# Environment names that are not settings fields: secrets and per-pod values read beside Settings.
NOT_SETTINGS = {"POD_NAME", "PGPASSWORD", "POORTWACHTER_BUNDLE_SOURCE_USERNAME",
                "POORTWACHTER_BUNDLE_SOURCE_PASSWORD"}




def _kustomize(folder: Path) -> list[dict[str, Any]]:
    """The subset of kustomize these manifests use: resources, components, namespace, JSON 6902 patches.

    kubectl (which embeds kustomize) is not in the package registries CI installs from, so the overlays are
    rendered here; where kubectl is installed, a test checks that both render the same objects."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for entry in spec.get("resources", []) + spec.get("components", []):
        path = folder / entry
        docs += _kustomize(path) if path.is_dir() else [d for d in yaml.safe_load_all(path.read_text()) if d]
    for patch in spec.get("patches", []):
        target = patch["target"]
        for doc in docs:
            if doc["kind"] == target["kind"] and doc["metadata"]["name"] == target["name"]:
                for op in yaml.safe_load(patch["patch"]):
                    _apply(doc, op)
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] != "Namespace":
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs


def _apply(doc: dict[str, Any], op: dict[str, Any]) -> None:
    assert op["op"] == "add", f"only 'add' is rendered here: {op}"
    *parents, last = op["path"].strip("/").split("/")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node.append(op["value"]) if last == "-" else node.insert(int(last), op["value"])
    else:
        node[last] = op["value"]


@cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    return _kustomize(K8S / "overlays" / overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubectl_kustomize_renders_the_same_objects(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (not in the package registries; the overlays are rendered here)")
    out = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True,
                         check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    by_kubectl = [d for d in yaml.safe_load_all(out.stdout) if d]

    def key(d: dict[str, Any]) -> str:
        return f"{d['kind']}/{d['metadata']['name']}"

    assert sorted(by_kubectl, key=key) == sorted(rendered(overlay), key=key)


def _pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == name]
    return found


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_manifest_validates_against_the_kubernetes_schema(overlay: str) -> None:
    kubernetes_validate = support.require_module("kubernetes_validate", why="validate the rendered manifests",
                                                 install="./scripts/setup (the test extra has kubernetes-validate)")

    for doc in rendered(overlay):
        kubernetes_validate.validate(doc, "1.33.0", strict=True)
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_applying_twice_overwrites_nothing_the_operator_created(overlay: str) -> None:
    docs = rendered(overlay)
    text = yaml.safe_dump_all(docs)
    assert not [d for d in docs if d["kind"] in ("Secret", "ConfigMap")], "created once outside kustomize"
    for placeholder in ("REPLACE-ME", "change-me", "changeme"):
        assert placeholder not in text
    referenced: dict[str, set[str]] = {"Secret": set(), "ConfigMap": set()}
    for doc in docs:
        _collect_references(doc, referenced)
    for kind, names in referenced.items():
        assert names <= CREATED_OUTSIDE[kind], f"{kind} {names - CREATED_OUTSIDE[kind]} is not documented"
    guide = (ROOT / "docs" / "operations.md").read_text()
    for names in CREATED_OUTSIDE.values():
        for name in names:
            assert f"create secret generic {name}" in guide or f"create configmap {name}" in guide, name


def _collect_references(node: Any, into: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            into["Secret"].add(node["secretKeyRef"]["name"])
        if "secret" in node and isinstance(node["secret"], dict):
            into["Secret"].add(node["secret"]["secretName"])
        if "configMap" in node and isinstance(node["configMap"], dict):
            into["ConfigMap"].add(node["configMap"]["name"])
        for value in node.values():
            _collect_references(value, into)
    elif isinstance(node, list):
        for value in node:
            _collect_references(value, into)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_poortwachter_variable_is_a_real_setting(overlay: str) -> None:
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    for container in _pod(rendered(overlay))["initContainers"]:
        for name in _env(container):
            assert name in fields or name in NOT_SETTINGS, f"{container['name']}: {name} is not a setting"


def test_the_registry_overlay_pulls_signed_bundles_and_holds_none() -> None:
    pod = _pod(rendered("registry"))
    env = _env(_container(pod, "poortwachter"))
    assert env["POORTWACHTER_BUNDLE_SOURCE"].startswith("oci://")
    assert "POORTWACHTER_BUNDLES" not in env
    assert "POORTWACHTER_TRUST_DEV_KEY" not in env  # production trusts only the organisation's keys
    assert env["POORTWACHTER_BUNDLE_SOURCE_PASSWORD"] == {
        "secretKeyRef": {"name": "poortwachter-registry", "key": "password"}}


def test_the_air_gapped_overlay_reads_a_read_only_bundle_volume() -> None:
    pod = _pod(rendered("air-gapped"))
    sidecar = _container(pod, "poortwachter")
    env = _env(sidecar)
    assert "POORTWACHTER_BUNDLE_SOURCE" not in env
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    bundles = mounts[env["POORTWACHTER_BUNDLES"]]
    assert bundles["readOnly"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[bundles["name"]]["persistentVolumeClaim"]["readOnly"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_sidecar_is_hardened_loopback_only_and_probed(overlay: str) -> None:
    pod = _pod(rendered(overlay))
    sidecar = _container(pod, "poortwachter")
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: up before the app, down after it
    env = _env(sidecar)
    assert env["POORTWACHTER_HOST"] == "127.0.0.1"
    assert env["POORTWACHTER_ADMIN_TOKEN_FILE"].startswith("/run/secrets/")
    assert env["POORTWACHTER_DECISION_LOG_KEY_FILE"].startswith("/run/secrets/")
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    for container in pod["initContainers"] + pod["containers"]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    for probe, path in (("startupProbe", "readyz"), ("readinessProbe", "readyz"), ("livenessProbe", "healthz")):
        assert sidecar[probe]["exec"]["command"][-1] == path
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert mounts["/etc/poortwachter/keys"]["readOnly"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "secret" in volumes[mounts["/run/secrets/poortwachter"]["name"]]
    assert "persistentVolumeClaim" in volumes[mounts["/var/lib/poortwachter/decisions"]["name"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_shipper_copies_this_pods_journal_to_postgresql(overlay: str) -> None:
    pod = _pod(rendered(overlay))
    sidecar, shipper = _container(pod, "poortwachter"), _container(pod, "poortwachter-shipper")
    assert shipper["restartPolicy"] == "Always"
    assert shipper["args"][:2] == ["log", "ship"]
    journal = _env(sidecar)["POORTWACHTER_DECISION_LOG"]
    assert shipper["args"][shipper["args"].index("--dir") + 1] == journal
    assert _env(sidecar)["POORTWACHTER_DECISION_LOG_SHIP"] == "sidecar"  # watches the backlog, never ships itself
    assert shipper["args"][shipper["args"].index("--metrics-address") + 1].endswith(":9465")
    env = _env(shipper)
    assert env["POORTWACHTER_DECISION_LOG_SHIP"].startswith("postgresql://")
    assert ":" not in env["POORTWACHTER_DECISION_LOG_SHIP"].split("//")[1].split("@")[0], "no password in the DSN"
    assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "poortwachter-audit-db", "key": "password"}}
    shared = {m["name"] for m in sidecar["volumeMounts"]} & {m["name"] for m in shipper["volumeMounts"]}
    assert "decision-log" in shared


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_app_and_metrics_ports_are_reachable(overlay: str) -> None:
    docs = rendered(overlay)
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "dossier-app"]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    assert policy["spec"]["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert ports == {8080, 9464, 9465}  # the app; the sidecar's and the shipper's metrics
    metrics_rule = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 9464)
    assert {p["port"] for p in metrics_rule["ports"]} == {9464, 9465}
    assert metrics_rule["from"]  # not from everywhere


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_command_is_one_the_cli_accepts(overlay: str) -> None:
    """A typo in a manifest's args would only show as a crash-looping pod; the real parser reads them here."""
    from poortwachter.cli import parser

    seen = 0
    for doc in rendered(overlay):
        spec = doc.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            if "poortwachter:" in container["image"]:
                parser().parse_args(container["args"])  # SystemExit (a failure) on an unknown option
                seen += 1
    assert seen == 4  # the sidecar, the shipper, the migration Job, the retention CronJob
