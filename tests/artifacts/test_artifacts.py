"""Signed bundle artifacts: build → load round trip, refusal of anything tampered with, unsigned or
signed by an unknown key, and several versions side by side decided by time or by name@version."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from poortwachter.artifacts.artifact import ArtifactError, build, canonical, load, verify
from poortwachter.artifacts.directory import load_directory
from poortwachter.artifacts.folder import load_folder
from poortwachter.artifacts.keys import fingerprint, generate, load_keyring, load_private, read_keyring
from poortwachter.core.decide import decide
from poortwachter.core.errors import RequestError
from poortwachter.core.routing import Routing

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MINI = Routing.replay({"jgz": "mini"})  # fixed times and pinned versions, as authors replay them


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    generate(folder / "test-key.key", folder / "test-key.pub")
    generate(folder / "other-key.key", folder / "other-key.pub")
    return folder


@pytest.fixture
def trusted(keys: Path, tmp_path: Path) -> Path:
    """A keyring folder that trusts test-key only."""
    folder = tmp_path / "trusted"
    folder.mkdir()
    shutil.copy(keys / "test-key.pub", folder / "test-key.pub")
    return folder


@pytest.fixture
def make(keys: Path, tmp_path: Path) -> Callable[..., Path]:
    """Build the artifact of a policy folder into tmp_path/bundles (signed with test-key by default)."""

    def run(folder: Path, key: str = "test-key", key_id: str | None = None) -> Path:
        bundle, _, content = load_folder(folder)
        return build(bundle, content, load_private(keys / f"{key}.key"), key_id or key, "git:test", tmp_path / "bundles")

    return run


def test_round_trip(make, trusted, policy_fixtures, mini, request_for):
    path = make(policy_fixtures / "mini")
    assert path.name == "mini-1.0.0.bundle.json"
    manifest, compiled = load(path, load_keyring(trusted))
    assert (manifest.name, manifest.version, manifest.effective_from) == ("mini", "1.0.0", "2020-01-01")
    assert (manifest.source_revision, manifest.key_id, manifest.extends) == ("git:test", "test-key", None)
    assert compiled.ref.revision == f"sha256:{manifest.sha256}" == manifest.revision
    assert compiled.bundle.rules == mini.bundle.rules  # rules, spans (file:line) and texts survive
    assert compiled.bundle.obligations == mini.bundle.obligations
    assert compiled.bundle.consent_by_age == mini.bundle.consent_by_age
    from poortwachter.core.catalog import Catalog

    for request in (request_for(), request_for(birthdate="2010-01-01"), request_for(action="copy")):
        a = decide(Catalog.of([mini]), request, NOW, MINI).verdict
        b = decide(Catalog.of([compiled]), request, NOW, MINI).verdict
        assert (a.decision, a.reasons, a.obligations, a.missing) == (b.decision, b.reasons, b.obligations, b.missing)


def test_build_is_reproducible(make, policy_fixtures):
    first = make(policy_fixtures / "mini").read_bytes()
    second = make(policy_fixtures / "mini").read_bytes()
    assert first == second


def test_overlay_artifact_is_self_contained(make, trusted, policy_fixtures, tmp_path):
    path = make(policy_fixtures / "mini-overlay")
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(path, alone / path.name)  # no base artifact beside it
    result = load_directory(alone, load_keyring(trusted))
    assert result.errors == {}
    [compiled] = result.catalog.versions["mini-overlay"]
    assert compiled.bundle.base_version == "1.0.0" and result.manifests["mini-overlay@1.0.0"].extends == "mini"
    assert "self-16-plus" in [r.id for r in compiled.bundle.rules]


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = orjson.loads(path.read_bytes())
    change(doc)
    path.write_bytes(orjson.dumps(doc))


def _first_rule(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["content"]["rules"][0][1][0]


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: _first_rule(d).update(effect="deny"), "content was changed after signing"),
    (lambda d: _first_rule(d)["reason"].update(en="From 12 you have access yourselF."),
     "content was changed after signing"),
    (lambda d: d["content"].update(base=None, extra=1), "content was changed after signing"),
    (lambda d: d["manifest"].update(version="1.0.1"), "signature does not match the manifest"),
    (lambda d: d["manifest"].update(effective_from="2000-01-01"), "signature does not match the manifest"),
    (lambda d: d["manifest"].update(sha256="0" * 64), "signature does not match the manifest"),
    (lambda d: d.pop("signature"), "unsigned artifact refused"),
    (lambda d: d.update(signature=""), "unsigned artifact refused"),
    (lambda d: d.update(signature="not base64!"), "signature does not match"),
    (lambda d: d.update(signature=base64.b64encode(b"\0" * 64).decode()), "signature does not match"),
    (lambda d: d["manifest"].update(key_id="stranger"), "signed with key 'stranger', which is not among the trusted keys"),
    (lambda d: d["manifest"].pop("key_id"), "signed with key None"),
    (lambda d: d.update(format="poortwachter-bundle/0"), "not a poortwachter-bundle/1 artifact"),
    (lambda d: d.pop("manifest"), "manifest or content missing"),
    (lambda d: d.update(content=[]), "manifest or content missing"),
])
def test_tampered_artifact_is_refused(make, trusted, policy_fixtures, change, words):
    path = make(policy_fixtures / "mini")
    _rewrite(path, change)
    with pytest.raises(ArtifactError) as err:
        load(path, load_keyring(trusted))
    assert words in str(err.value)
    assert str(err.value).startswith(str(path))


def test_a_changed_byte_is_refused(make, trusted, policy_fixtures):
    path = make(policy_fixtures / "mini")
    raw = path.read_bytes()
    at = raw.index(b"Vanaf 12 jaar")
    path.write_bytes(raw[:at] + b"Vanaf 13 jaar" + raw[at + len(b"Vanaf 12 jaar"):])
    with pytest.raises(ArtifactError, match="content was changed after signing"):
        load(path, load_keyring(trusted))
    path.write_bytes(raw[:-3])
    with pytest.raises(ArtifactError, match="not JSON"):
        load(path, load_keyring(trusted))


def test_signed_by_an_untrusted_key(make, trusted, policy_fixtures, keys):
    # signed with other-key, which the service does not trust
    path = make(policy_fixtures / "mini", key="other-key")
    with pytest.raises(ArtifactError, match="signed with key 'other-key', which is not among the trusted keys"):
        load(path, load_keyring(trusted))
    # signed with other-key but claiming to be test-key
    path = make(policy_fixtures / "mini", key="other-key", key_id="test-key")
    with pytest.raises(ArtifactError, match="signature does not match"):
        load(path, load_keyring(trusted))
    # no trusted keys at all
    with pytest.raises(ArtifactError, match="none configured"):
        load(path, {})


def test_signed_content_that_does_not_validate_is_refused(make, trusted, policy_fixtures, keys):
    path = make(policy_fixtures / "mini")
    doc = orjson.loads(path.read_bytes())
    _first_rule(doc)["effect"] = "perhaps"
    import hashlib

    doc["manifest"]["sha256"] = hashlib.sha256(canonical(doc["content"])).hexdigest()
    key = load_private(keys / "test-key.key")
    doc["signature"] = base64.b64encode(key.sign(canonical(doc["manifest"]))).decode()
    path.write_bytes(orjson.dumps(doc))
    with pytest.raises(ArtifactError, match="content does not validate: .*'effect' must be allow or deny"):
        load(path, load_keyring(trusted))


def test_manifest_must_name_the_content(make, trusted, policy_fixtures, keys):
    path = make(policy_fixtures / "mini")
    doc = orjson.loads(path.read_bytes())
    doc["manifest"]["name"] = "maxi"
    key = load_private(keys / "test-key.key")
    doc["signature"] = base64.b64encode(key.sign(canonical(doc["manifest"]))).decode()
    path.write_bytes(orjson.dumps(doc))
    with pytest.raises(ArtifactError, match="manifest says maxi@1.0.0, content mini@1.0.0"):
        load(path, load_keyring(trusted))


def test_verify_refuses_oversized_input(trusted):
    from poortwachter.artifacts import artifact

    with pytest.raises(ArtifactError, match="larger than"):
        verify(b" " * (artifact.MAX_ARTIFACT_BYTES + 1), load_keyring(trusted), "big.json")


@pytest.fixture
def two_versions(tmp_path, policy_fixtures, make) -> Path:
    """mini 1.0.0 (effective 2020-01-01) and a 2.0.0 (effective 2026-07-01) without the self-12-plus rule."""
    v2 = tmp_path / "src" / "mini-v2"
    shutil.copytree(policy_fixtures / "mini", v2)
    manifest = (v2 / "bundle.yaml").read_text()
    (v2 / "bundle.yaml").write_text(manifest.replace("version: 1.0.0", "version: 2.0.0")
                                    .replace("effective_from: 2020-01-01", "effective_from: 2026-07-01"))
    rules = (v2 / "rules" / "inzage.yaml").read_text()
    (v2 / "rules" / "inzage.yaml").write_text(rules.replace("id: self-12-plus", "id: self-12-plus-v2")
                                              .replace("age_at_least: 12}", "age_at_least: 16}"))
    make(policy_fixtures / "mini")
    make(v2)
    return tmp_path / "bundles"


def test_versions_side_by_side(two_versions, trusted, request_for):
    result = load_directory(two_versions, load_keyring(trusted))
    assert result.errors == {}
    assert sorted(result.manifests) == ["mini@1.0.0", "mini@2.0.0"]
    catalog = result.catalog
    child = {"subject_id": "c-1", "subject_props": {"relation": "self"}, "birthdate": "2012-01-01"}

    def rules(**kw: Any) -> tuple[str, ...]:
        return decide(catalog, request_for(**child, **kw), NOW, MINI).verdict.deciding_rules

    assert rules(time="2026-06-30T21:59:59Z") == ("self-12-plus",)       # 23:59:59 on 30 June in Amsterdam
    assert rules(time="2026-06-30T22:00:00Z") == ("default-deny",)       # 1 July in Amsterdam: 2.0.0
    assert rules(time="2026-08-01", context={"bundle": "mini@1.0.0"}) == ("self-12-plus",)
    assert rules(time="2026-01-01", context={"bundle": "mini@2.0.0"}) == ("default-deny",)
    with pytest.raises(RequestError, match="a version of mini in force on 2019-12-31"):
        decide(catalog, request_for(**child, time="2019-12-31T12:00:00+01:00"), NOW, MINI)
    with pytest.raises(RequestError, match=r"a version of mini that is loaded \(1.0.0, 2.0.0\), got 'mini@3.0.0'"):
        decide(catalog, request_for(**child, context={"bundle": "mini@3.0.0"}), NOW, MINI)


def test_directory_refuses_bad_files_and_keeps_the_good(two_versions, trusted):
    _rewrite(two_versions / "mini-2.0.0.bundle.json", lambda d: _first_rule(d).update(effect="deny"))
    (two_versions / "junk.bundle.json").write_text("{}")
    shutil.copy(two_versions / "mini-1.0.0.bundle.json", two_versions / "mini-copy.bundle.json")
    (two_versions / "notes.txt").write_text("ignored")
    result = load_directory(two_versions, load_keyring(trusted))
    assert sorted(result.manifests) == ["mini@1.0.0"]
    assert "content was changed after signing" in result.errors["mini-2.0.0.bundle.json"]
    assert "not a poortwachter-bundle/1 artifact" in result.errors["junk.bundle.json"]
    assert "mini@1.0.0 is already loaded from another file" in result.errors["mini-copy.bundle.json"]
    assert [b.bundle.version for b in result.catalog.versions["mini"]] == ["1.0.0"]


def test_keyring(keys, tmp_path):
    ring = load_keyring(keys)
    assert sorted(ring) == ["other-key", "test-key"]
    assert oct((keys / "test-key.key").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "bad.pub").write_bytes((keys / "test-key.key").read_bytes())
    with pytest.raises(ValueError):
        load_keyring(tmp_path)


def test_the_dev_key_is_an_ed25519_public_key():
    root = Path(__file__).resolve().parents[2]
    assert "dev-signing" in load_keyring(root / "keys")


def test_read_keyring_leaves_out_and_reports_what_it_cannot_trust(keys: Path, trusted: Path, tmp_path: Path) -> None:
    """A running service re-reads its keys: a broken key file or a missing folder trusts nothing, and says so."""
    (trusted / "broken.pub").write_text("not a key")
    ring, problems = read_keyring(trusted, tmp_path / "gone")
    assert set(ring) == {"test-key"}
    assert "not trusted" in problems[str(trusted / "broken.pub")]
    assert "missing" in problems[str(tmp_path / "gone")]
    assert fingerprint(ring["test-key"]) == fingerprint(load_keyring(keys)["test-key"])
    assert len(fingerprint(ring["test-key"])) == 32
    with pytest.raises(ValueError):
        load_keyring(trusted)  # startup stays strict: a broken key file stops `serve`
