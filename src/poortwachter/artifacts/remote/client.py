"""Plain OCI distribution-spec calls (and a static index over HTTP), with httpx.

Why not the ``oras`` SDK: a bundle set needs five calls (blob HEAD, upload POST + PUT, manifest PUT; manifest
and blob GET), and the puller must control every one of them: a timeout per request, a size cap while the
body streams in, ``If-None-Match`` on the manifest, a digest check of every blob, and no retries of its own
(the poller backs off with jitter). ``oras`` brings ``requests`` and its own retry loop and reads whole
bodies; httpx is one well-kept dependency with exactly these controls.

Credentials (for Harbor, ACR, ECR, GitLab …) come from the caller, never from a setting: the registry's
``WWW-Authenticate`` challenge decides between HTTP Basic and a bearer token from its token service; a
credential is sent over https only (or to a loopback host).
"""

from __future__ import annotations

import base64
import re
import socket
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx

from ...core.errors import PoortwachterError
from ..artifact import ArtifactError
from .layout import (
    EMPTY,
    MANIFEST_TYPE,
    MAX_DOCUMENT_BYTES,
    Blob,
    Described,
    read_index,
    read_manifest,
    sha256,
)
from .reference import Location, is_loopback

__all__ = ["Credentials", "Pulled", "RegistryAuth", "Remote", "RemoteError"]

Credentials = tuple[str, str]  # (username, password or token)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RemoteError(PoortwachterError):
    """A source or target could not be used this time. ``cause`` is one of a few constants (a metric label):
    ``network`` (connect, timeout), ``http`` (an unexpected status), ``format`` (not a bundle set),
    ``digest`` (bytes differ from the digest they were listed under)."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class Pulled:
    """A bundle set as listed at ``digest`` (the manifest's or index's), each artifact's bytes digest-checked."""

    digest: str
    etag: str | None
    files: tuple[tuple[Blob, bytes], ...]


def _safe_for_credentials(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))


class RegistryAuth(httpx.Auth):
    """Answers a registry's 401 challenge once per token: Basic, or a bearer token from its realm."""

    requires_response_body = True

    def __init__(self, credentials: Credentials | None) -> None:
        self.credentials = credentials
        self.header: str | None = None

    def _basic(self) -> str:
        assert self.credentials is not None
        return "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.header:
            request.headers["Authorization"] = self.header
        response = yield request
        if response.status_code != 401:
            return
        scheme, _, rest = response.headers.get("www-authenticate", "").partition(" ")
        params = dict(_CHALLENGE.findall(rest))
        if scheme.lower() == "basic" and self.credentials and _safe_for_credentials(str(request.url)):
            self.header = self._basic()
        elif scheme.lower() == "bearer" and params.get("realm"):
            realm = params["realm"]
            token_request = httpx.Request("GET", realm, params={k: v for k, v in params.items()
                                                                if k in ("service", "scope")},
                                          extensions=request.extensions)  # the same deadline (_Deadline)
            if self.credentials and _safe_for_credentials(realm):
                token_request.headers["Authorization"] = self._basic()
            token_response = yield token_request
            if token_response.status_code != 200:
                return
            try:
                body = token_response.json()
                token = body.get("token") or body.get("access_token")
            except ValueError:
                return
            if not isinstance(token, str):
                return
            self.header = f"Bearer {token}"
        else:
            return
        request.headers["Authorization"] = self.header
        yield request


class _Deadline:
    """Ends a request ``seconds`` after it began, however slowly it is answered. httpx's timeouts bound each
    connect and each read, so a peer that sends a byte just within the read timeout keeps a request (and the
    poller's thread) for hours; at the deadline this shuts down the request's sockets, which ends the
    blocked read at once. The sockets are learnt from httpcore's ``trace`` events (one per connection:
    redirects and the token request included; the client keeps no connection alive between requests)."""

    def __init__(self, seconds: float) -> None:
        self.passed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            sock = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._sockets.append(sock)
                if self.passed:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Shut the connection down under the thread reading it. ``socket.socket.shutdown`` also for a TLS socket:
    ``SSLSocket.shutdown`` would drop its TLS state under that thread. A plain socket that TLS took over is
    detached (no descriptor): the TLS socket is shut instead."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # closed, or detached
        pass


class Remote:
    """One source or target; ``timeout`` bounds every request as a whole (connect, headers, body)."""

    def __init__(self, location: Location, timeout: float, credentials: Credentials | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.location = location
        self.timeout = timeout
        self.client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True, trust_env=True,
                                   auth=RegistryAuth(credentials), transport=transport,
                                   limits=httpx.Limits(max_keepalive_connections=0),  # each request its own sockets
                                   headers={"User-Agent": "poortwachter"})

    def close(self) -> None:
        self.client.close()

    def _request(self, method: str, url: str, *, limit: int = MAX_DOCUMENT_BYTES,
                 **kwargs: object) -> tuple[httpx.Response, bytes]:
        """The response and its body (at most ``limit`` bytes), all within ``timeout`` seconds; RemoteError on
        network trouble, a request past its deadline, or overflow."""
        deadline = _Deadline(self.timeout)
        try:
            with deadline, self.client.stream(method, url, extensions={"trace": deadline.trace},
                                              **kwargs) as response:  # type: ignore[arg-type]
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise RemoteError("format", f"{method} {url}: answer larger than {limit} bytes")
                    if deadline.passed:
                        raise httpx.ReadTimeout("deadline")
                return response, bytes(body)
        except httpx.HTTPError as exc:
            if deadline.passed:
                raise RemoteError("network", f"{method} {url}: took longer than {self.timeout:g} s "
                                             f"(bundle_source_timeout bounds the whole request)") from None
            raise RemoteError("network", f"{method} {url}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _expect(response: httpx.Response, body: bytes, *statuses: int) -> None:
        if response.status_code not in statuses:
            text = body[:300].decode("utf-8", "replace").strip()
            raise RemoteError("http", f"{response.request.method} {response.request.url}: HTTP "
                                      f"{response.status_code} {text}")

    # ------------------------------------------------------------------------------------- pulling

    def pull(self, etag: str | None, have: Callable[[str], bytes | None]) -> Pulled | None:
        """The set now at the source, or None when it is still ``etag``. ``have``: bytes already held for a
        digest (they are not fetched again)."""
        loc = self.location
        if loc.kind == "oci":
            url = f"{loc.base}/v2/{loc.repository}/manifests/{loc.reference}"
            headers = {"Accept": MANIFEST_TYPE}
        else:
            url, headers = loc.base, {"Accept": "application/json"}
        if etag:
            headers["If-None-Match"] = etag
        response, body = self._request("GET", url, headers=headers)
        if response.status_code == 304:
            return None
        self._expect(response, body, 200)
        digest = sha256(body)
        if loc.pinned and digest != loc.reference:
            raise RemoteError("digest", f"{url}: the manifest's digest is {digest}, not the pinned {loc.reference}")
        if etag is not None and etag.strip('"') in (digest, response.headers.get("etag", "").strip('"') or None):
            return None  # a server that ignores If-None-Match: the same set again
        try:
            blobs = read_manifest(body, url) if loc.kind == "oci" else read_index(body, url)
        except ArtifactError as exc:
            raise RemoteError("format", str(exc)) from None
        files = tuple((blob, self._blob(blob, have)) for blob in blobs)
        return Pulled(digest, response.headers.get("etag") or f'"{digest}"', files)

    def _blob(self, blob: Blob, have: Callable[[str], bytes | None]) -> bytes:
        held = have(blob.digest)
        if held is not None and sha256(held) == blob.digest:
            return held
        loc = self.location
        url = (f"{loc.base}/v2/{loc.repository}/blobs/{blob.digest}" if loc.kind == "oci"
               else urljoin(loc.base, blob.file))
        response, body = self._request("GET", url, limit=blob.size)
        self._expect(response, body, 200)
        if sha256(body) != blob.digest:
            raise RemoteError("digest", f"{blob.file}: the bytes served at {url} do not match their listed digest "
                                        f"{blob.digest} (changed after publishing)")
        return body

    # ------------------------------------------------------------------------------------- pushing

    def push(self, items: list[Described], manifest: bytes) -> str:
        """Upload the artifacts (those the registry lacks) and the empty config, then the manifest under the
        tag; returns the manifest digest."""
        loc = self.location
        for digest, data in [(sha256(EMPTY), EMPTY), *((d.digest, d.raw) for d in items)]:
            head, _ = self._request("HEAD", f"{loc.base}/v2/{loc.repository}/blobs/{digest}")
            if head.status_code == 200:
                continue
            started, body = self._request("POST", f"{loc.base}/v2/{loc.repository}/blobs/uploads/")
            self._expect(started, body, 202)
            upload = urljoin(f"{loc.base}/", started.headers.get("location", ""))
            separator = "&" if "?" in upload else "?"  # the location carries the upload's state in its query
            done, body = self._request("PUT", f"{upload}{separator}digest={digest}", content=data,
                                       headers={"Content-Type": "application/octet-stream"})
            self._expect(done, body, 201)
        put, body = self._request("PUT", f"{loc.base}/v2/{loc.repository}/manifests/{loc.reference}",
                                  content=manifest, headers={"Content-Type": MANIFEST_TYPE})
        self._expect(put, body, 201)
        return put.headers.get("docker-content-digest") or sha256(manifest)
