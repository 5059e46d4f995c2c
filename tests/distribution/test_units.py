"""The parts of bundle distribution that need no server: references, layouts, the backoff, the replay guard."""

from __future__ import annotations

import base64
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from support import free_port

from poortwachter.artifacts.artifact import ArtifactError
from poortwachter.artifacts.keys import load_keyring
from poortwachter.artifacts.remote import SourceError, parse_location
from poortwachter.artifacts.remote.client import Pulled, Remote, RemoteError
from poortwachter.artifacts.remote.layout import INDEX_TYPE, MAX_LAYERS, Blob, read_index, read_manifest
from poortwachter.cli import main
from poortwachter.service.source import SetNotActivated, check_set, next_delay
from poortwachter.service.source_state import SourceState, source_folder
from poortwachter.service.store import BundleStore

from .conftest import DENY_ALL, Keys, artifact


@pytest.mark.parametrize(("text", "why"), [
    ("ftp://x/index.json", "expected oci://"),
    ("oci://registry.example.nl/Upper/case:tag", "not a valid repository"),
    ("oci://registry.example.nl/repo@sha256:abc", "is not a sha256"),
    ("oci://registry.example.nl/repo:bad tag", "not a valid tag"),
    ("http://10.0.0.5/index.json", "loopback only"),
])
def test_unusable_sources_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(SourceError, match=why):
        parse_location(text)


def test_usable_sources() -> None:
    pinned = parse_location("oci://registry.example.nl:5443/team/bundles@sha256:" + "a" * 64)
    assert pinned.pinned and pinned.base == "https://registry.example.nl:5443" and pinned.repository == "team/bundles"
    assert not parse_location("oci://[::1]:5000/b:prod").pinned
    assert parse_location("oci://[::1]:5000/b:prod").base == "http://[::1]:5000"
    assert parse_location("https://cdn.example.nl/pw/index.json").kind == "index"
    assert parse_location("http://localhost:8080/index.json").kind == "index"


def _index(*entries: dict[str, object]) -> bytes:
    return orjson.dumps({"mediaType": INDEX_TYPE, "artifacts": list(entries)})


def test_an_index_names_plain_files_with_digests_and_bounded_sizes() -> None:
    good = {"path": "a-1.0.0.bundle.json", "digest": "sha256:" + "0" * 64, "size": 10}
    assert read_index(_index(good), "i") == [Blob("a-1.0.0.bundle.json", "sha256:" + "0" * 64, 10)]
    for bad, why in [({**good, "path": "../etc/passwd.bundle.json"}, "plain"), ({**good, "path": "x/a.bundle.json"}, "plain"),
                     ({**good, "digest": "md5:1"}, "digest"), ({**good, "size": 10**9}, "size"),
                     ({**good, "size": 0}, "size")]:
        with pytest.raises(ArtifactError, match=why):
            read_index(_index(bad), "i")
    with pytest.raises(ArtifactError, match="at most"):
        read_index(_index(*({**good, "path": f"a-{i}.0.0.bundle.json"} for i in range(MAX_LAYERS + 1))), "i")
    with pytest.raises(ArtifactError, match="twice"):
        read_index(_index(good, good), "i")
    with pytest.raises(ArtifactError, match="not a poortwachter bundle set"):
        read_manifest(orjson.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}), "m")


def test_the_backoff_grows_with_jitter_and_is_capped() -> None:
    assert 27 <= next_delay(30, 0, 300, lambda: 0.0) <= next_delay(30, 0, 300, lambda: 1.0) <= 33
    assert next_delay(1, 1, 300, lambda: 1.0) == 2 and next_delay(1, 3, 300, lambda: 1.0) == 8
    assert next_delay(1, 3, 300, lambda: 0.0) == 4  # a random half of the ceiling is waited
    assert next_delay(30, 50, 300, lambda: 1.0) == 300 and next_delay(30, 50, 300, lambda: 0.0) == 150


def test_the_replay_guard(tmp_path: Path, prod_keys: Keys) -> None:
    keyring = load_keyring(prod_keys.folder)
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id)

    def pulled(*paths: Path) -> Pulled:
        return Pulled("sha256:x", None, tuple((Blob(p.name, "sha256:y", 1), p.read_bytes()) for p in paths))

    seen = {"svc-jgz": {"2026.2.0": "sha256:" + orjson.loads(v2.read_bytes())["manifest"]["sha256"]}}
    assert len(check_set(pulled(v2), keyring, seen, "s")) == 1
    with pytest.raises(SetNotActivated, match="older than svc-jgz@2026.2.0") as refused:
        check_set(pulled(v1), keyring, seen, "s")
    assert refused.value.cause == "downgrade"
    seen["svc-jgz"]["2026.1.0"] = "sha256:" + orjson.loads(v1.read_bytes())["manifest"]["sha256"]
    assert len(check_set(pulled(v1, v2), keyring, seen, "s")) == 2  # a version activated before may stay
    with pytest.raises(SetNotActivated, match="listed twice"):
        check_set(pulled(v2, v2), keyring, seen, "s")
    with pytest.raises(SetNotActivated, match="not among the trusted keys"):
        check_set(pulled(v2), {}, seen, "s")


def test_publish_refuses_what_the_sidecars_would_refuse_and_says_why(
        tmp_path: Path, prod_keys: Keys, other_keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = artifact(tmp_path, "2026.1.0", other_keys.private, other_keys.key_id)
    assert main(["publish", str(wrong), "--keys", str(prod_keys.folder), "--to", str(tmp_path / "out")]) == 2
    assert "signature does not match" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    right = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    assert main(["publish", str(right), "--to", f"oci://127.0.0.1:{free_port()}/pw/b:prod", "--timeout", "2"]) == 2
    assert "ConnectError" in capsys.readouterr().err
    assert main(["publish", str(right), "--to", "oci://127.0.0.1:5000/pw/b@sha256:" + "0" * 64]) == 2
    assert "publish to a tag" in capsys.readouterr().err
    assert main(["publish", str(right), "--to", "https://example.nl/x"]) == 2


def test_a_set_is_installed_whole_and_only_the_last_few_are_kept(tmp_path: Path) -> None:
    state = SourceState(tmp_path, "oci://127.0.0.1:5000/pw/b:prod")
    for n in range(5):
        state.install(f"sha256:{n:064x}", {"a-1.0.0.bundle.json": f"set {n}".encode()})
    current = source_folder(tmp_path)
    assert current.is_symlink() and (current / "a-1.0.0.bundle.json").read_bytes() == b"set 4"
    sets = sorted(p.name for p in (tmp_path / "source" / "sets").iterdir())
    assert sets == [f"{n:064x}" for n in (2, 3, 4)]
    state.install(f"sha256:{2:064x}", {"a-1.0.0.bundle.json": b"set 2"})  # an earlier set comes back
    assert (current / "a-1.0.0.bundle.json").read_bytes() == b"set 2"
    assert state.lead() and not SourceState(tmp_path, "x").lead()  # one poller per state folder
    state.release()


def _token_registry(realm: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    """A registry behind a token service (Harbor, GitLab, ACR): 401 with a Bearer challenge until the request
    carries the token the realm hands out for the robot's Basic credentials."""
    basic = "Basic " + base64.b64encode(b"robot:secret").decode()

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if str(request.url).startswith(realm):
            ok = request.headers.get("authorization") == basic and request.url.params.get("service") == "reg"
            return httpx.Response(200, json={"token": "tok-1"}) if ok else httpx.Response(401)
        if request.headers.get("authorization") != "Bearer tok-1":
            return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="reg",'
                                                                    'scope="repository:pw/b:pull"'})
        return httpx.Response(404)

    return httpx.MockTransport(handle)


def test_the_bearer_token_challenge_is_answered_and_credentials_stay_on_https() -> None:
    seen: list[httpx.Request] = []
    location = parse_location("oci://registry.example.nl/pw/b:prod")
    remote = Remote(location, 5, ("robot", "secret"), transport=_token_registry("https://auth.example.nl/token", seen))
    with pytest.raises(RemoteError, match="HTTP 404"):  # through the challenge to the (missing) manifest
        remote.pull(None, lambda _: None)
    assert [r.url.host for r in seen] == ["registry.example.nl", "auth.example.nl", "registry.example.nl"]
    assert seen[-1].headers["authorization"] == "Bearer tok-1"
    seen.clear()
    with pytest.raises(RemoteError, match="HTTP 404"):  # the token is kept for the next request
        remote.pull(None, lambda _: None)
    assert len(seen) == 1
    remote.close()
    seen.clear()
    plain = Remote(location, 5, ("robot", "secret"), transport=_token_registry("http://auth.example.nl/token", seen))
    with pytest.raises(RemoteError, match="HTTP 401"):  # a plain-http realm never sees the password
        plain.pull(None, lambda _: None)
    assert all("authorization" not in r.headers for r in seen if r.url.host == "auth.example.nl")
    plain.close()


def test_a_reload_reads_one_set_whole_while_current_is_swapped(tmp_path: Path, prod_keys: Keys) -> None:
    """A worker's scan lists ``current`` and reads its files: a swap in between (the lead installing the next
    set) must not make it read the files of another set than it listed (a spurious 'No such file' refusal
    during every roll-out, logged and counted as a refused bundle)."""
    state_dir = tmp_path / "state"
    state = SourceState(state_dir, "oci://127.0.0.1:5000/pw/b:prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
    state.install("sha256:" + "1" * 64, {v1.name: v1.read_bytes()})
    store = BundleStore(source_folder(state_dir), load_keyring(prod_keys.folder), state_dir)
    assert store.reload().changed == ["svc-jgz"]

    class SwapAfterListing(type(store.folder)):  # type: ignore[misc]
        def glob(self, pattern: str, **kw: Any) -> Any:
            listed = list(super().glob(pattern, **kw))
            state.install("sha256:" + "2" * 64, {v2.name: v2.read_bytes()})  # the lead, between list and read
            return iter(listed)

    plain = store.folder
    store.folder = SwapAfterListing(plain)
    report = store.reload()
    store.folder = plain
    assert report.refused == {}, report.refused
    assert [x.manifest.version for x in store.snapshot.active["svc-jgz"]] == ["2026.1.0"]  # the set it listed
    store.reload()  # the swap's own reload
    assert [x.manifest.version for x in store.snapshot.active["svc-jgz"]] == ["2026.2.0"]
    assert store.refused == {}


class _Drip:
    """A source that answers one byte at a time, each well within the read timeout: the headers (``where`` =
    "headers") or a large body ("body"). Every read is on time, so only a bound on the whole request stops it."""

    def __init__(self, where: str) -> None:
        self.where, self.stop = where, threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
            dripped = head + b"X-Slow: " + b"a" * 10_000 if self.where == "headers" else head + b"\r\n"
            if self.where == "body":
                conn.sendall(dripped)
                dripped = b"{" + b" " * 99_999
            for i in range(len(dripped)):
                if self.stop.wait(0.05):
                    return
                try:
                    conn.sendall(dripped[i:i + 1])
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.server.close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_source_that_drips_its_answer_is_cut_off_after_the_timeout(where: str) -> None:
    """Every request to the bundle source is bounded as a whole (``bundle_source_timeout``), not only each read:
    a registry (or whatever answers in its place) that sends a byte every 50 ms kept the poller's thread for
    hours, the fleet silently on its old set, and /readyz saying nothing."""
    drip = _Drip(where)
    remote = Remote(parse_location(f"http://127.0.0.1:{drip.port}/index.json"), timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(RemoteError, match="longer than 1 s") as caught:
            remote.pull(None, lambda digest: None)
    finally:
        remote.close()
        drip.close()
    assert time.monotonic() - started < 3, time.monotonic() - started
    assert caught.value.cause == "network"
