"""Service settings: one validated model, filled from defaults < config file < environment < CLI flags.

Why a small model of our own instead of pydantic-settings: the sources are few and fixed, the
precedence must be obvious to an operator reading docs/service.md, and the resolved settings are
handed to every uvicorn worker process as one JSON document (``POORTWACHTER_SETTINGS_JSON``), so
all workers are guaranteed to run with exactly the same configuration.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..artifacts import embedded
from ..artifacts.remote.reference import parse_location
from ..core.errors import PoortwachterError
from ..core.routing import DEFAULT_ROUTES

__all__ = ["CONFIG_ENV", "DECISION_LOG_KEY_ENV", "ENV_PREFIX", "FIELDS", "SETTINGS_ENV", "Settings", "SettingsError",
           "decision_log_key", "decision_log_signing_key", "handed_to_worker", "load_settings", "settings_from_env"]

ENV_PREFIX = "POORTWACHTER_"
SETTINGS_ENV = "POORTWACHTER_SETTINGS_JSON"  # resolved settings handed to worker processes
CONFIG_ENV = "POORTWACHTER_CONFIG"
DECISION_LOG_KEY_ENV = "POORTWACHTER_DECISION_LOG_KEY"  # a secret: read here, never part of Settings
DECISION_LOG_SIGNING_KEY_ENV = "POORTWACHTER_DECISION_LOG_SIGNING_KEY"  # likewise (PEM text)


class SettingsError(PoortwachterError, ValueError):
    """A setting could not be read or is invalid; the message names the source and the key."""


class Settings(BaseModel):
    """Every knob of ``poortwachter serve``. Field descriptions are the documentation (docs/service.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to listen on; keep loopback for a sidecar.")
    port: int = Field(8181, ge=0, le=65535, description="TCP port.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (each has its own cache).")
    bundles: Path = Field(default_factory=embedded.bundle_dir,
                          description="Folder of signed *.bundle.json artifacts (default: the embedded bundles).")
    keys: list[Path] = Field(default_factory=lambda: [embedded.key_dir()], description=(
        "Folders of trusted Ed25519 public keys (*.pub), separated by ':' in the environment; default: the "
        "DEV key. POORTWACHTER_KEYS_DIR is read as well."))
    trust_dev_key: bool = Field(False, description=(
        "Trust the DEV signing key (keys/dev-signing.*, whose private half is public) for bundles other than the "
        "embedded defaults: a bundles folder or a bundle_source. For development only; the embedded default "
        "bundles are always served with it."))
    bundle_source: str | None = Field(None, description=(
        "Pull signed bundle sets instead of reading a folder: oci://HOST[:PORT]/REPO:TAG (polled), "
        "oci://HOST[:PORT]/REPO@sha256:… (pinned), or an https:// URL of an index.json (poortwachter publish "
        "--to DIR); plain http on loopback only. Needs state_dir (the last good set is kept there). Registry "
        "credentials: POORTWACHTER_BUNDLE_SOURCE_USERNAME / _PASSWORD."))
    bundle_source_poll_interval: float = Field(30.0, gt=0, le=86_400, description=(
        "Seconds between polls of the bundle source (±10 % jitter); an unchanged set costs one request."))
    bundle_source_timeout: float = Field(10.0, gt=0, le=300, description=(
        "Seconds any one request to the bundle source may take (connect, each read)."))
    bundle_source_max_backoff: float = Field(300.0, gt=0, description=(
        "Longest wait between polls after failures (exponential backoff with jitter up to this)."))
    dossier_type_bundles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTES), description=(
        "The bundle that decides each dossier type (a request without context.bundle goes to the bundle of its "
        "resource.properties.dossier_type; a bundle named in context.bundle must govern that type). A Duo+ "
        "municipality maps jeugdhulp to its overlay. The key 'none' routes requests that name no dossier type "
        "(fixture vocabularies). In the environment: jgz=nl-jgz,jeugdhulp=nl-jeugdhulp."))
    max_clock_skew: float = Field(300.0, ge=0, description=(
        "Seconds context.time may differ from the server clock on the decision endpoints (400 beyond); 0 switches "
        "the check off, for harnesses that replay fixed times. The past is asked at /v1/decisions with the "
        "history token."))
    allow_pinned_versions: bool = Field(False, description=(
        "Accept context.bundle 'name@version' on the decision endpoints (otherwise 400): for test harnesses."))
    history_token: str | None = Field(None, description=(
        "Bearer token for /v1/decisions questions about the past (any context.time, pinned versions); logged as "
        "a look at the past, not an access. Unset: the past cannot be asked."))
    history_token_file: Path | None = Field(None, description="File holding the history token.")
    reload: Literal["watch", "poll", "off"] = Field(
        "watch", description="Hot reload on changes of the bundle folder: inotify (watch), polling, or off.")
    poll_interval: float = Field(2.0, gt=0, description="Seconds between scans when reload=poll.")
    state_dir: Path | None = Field(
        None, description="Folder shared by all workers for admin state (holds, archive of loaded artifacts, "
                          "reload stamps). Default: in memory with 1 worker, a private temp folder with more.")
    cache_size: int = Field(10_000, ge=0, description="Decision cache entries per worker (0 disables).")
    cache_ttl: float = Field(300.0, gt=0, description="Seconds a cached verdict lives.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest accepted request body (413 beyond).")
    max_batch: int = Field(1000, ge=1, description="Most evaluations in one /access/v1/evaluations call.")
    max_batch_work: int = Field(20_000, ge=1, description=(
        "Most work units in one call: each evaluation, filter item or search candidate counts 1 plus the "
        "consents, objections and attestations of its (merged) context (413 beyond)."))
    max_json_depth: int = Field(32, ge=4, le=512, description="Deepest nesting of objects and arrays in a body (400 beyond).")
    max_string_bytes: int = Field(8192, ge=256, description="Longest JSON string in a body, as sent (400 beyond).")
    body_timeout: float = Field(10.0, gt=0, description=(
        "Seconds to receive a request's headers, and again its whole body (408 beyond, connection closed)."))
    allow_unauthenticated_network: bool = Field(False, description=(
        "Allow serving on a non-loopback host without a decision token (otherwise serve refuses to start)."))
    max_filter_items: int = Field(1000, ge=1, description="Most items/categories in one /v1/filter or search.")
    search_page_size: int = Field(100, ge=1, description="Default page size of the search endpoints.")
    search_inventory: Path | None = Field(
        None, description="Optional YAML/JSON file of known subjects, resources and actions for the AuthZEN "
                          "search endpoints when a request brings no candidates.")
    public_url: str | None = Field(
        None, description="External https base URL for discovery metadata (default: derived from the request).")
    admin_token: str | None = Field(None, description="Admin bearer token (prefer admin_token_file).")
    admin_token_file: Path | None = Field(None, description="File holding the admin bearer token.")
    admin_token_sha256: str | None = Field(None, description="Hex SHA-256 of the admin token (no secret on disk).")
    decision_token: str | None = Field(None, description="Bearer token required on decision endpoints, if set.")
    decision_token_file: Path | None = Field(None, description="File holding the decision-endpoint token.")
    decision_log: str = Field(
        "stdout", description="Decision log (NEN 7513): a folder of rotating JSON-lines files, each answer sent only "
                              "after its record is on disk (production); 'stdout' (development, no durability); "
                              "or 'off'. See docs/operations.md.")
    decision_log_capacity: int = Field(10_000, ge=1, description="Queued log events before requests wait for room "
                                                                 "(back-pressure; see decision_log_wait_timeout).")
    decision_log_wait_timeout: float = Field(
        5.0, gt=0, le=300, description="Seconds a request waits at most for room in the decision log queue and for "
                                       "its record to be written; then 503 decision-log-unavailable. A writer without "
                                       "progress for this long while records wait is reported unhealthy (/readyz).")
    decision_log_durability: Literal["fsync", "write"] = Field(
        "fsync", description="fsync: answer after the record is fsynced (survives power loss); write: after it is "
                             "written to the kernel (survives a crash of the process, not of the machine).")
    decision_log_max_file_bytes: int = Field(64 * 1024 * 1024, ge=4096,
                                             description="A log file is rotated before it passes this size.")
    decision_log_rotate_seconds: int = Field(86_400, ge=1, description="A new log file starts at every multiple of "
                                                                        "this many seconds (UTC; 86400: daily).")
    decision_log_key_file: Path | None = Field(
        None, description="Key that pseudonymises client ids in the log (HMAC-SHA256). Else the environment "
                          "variable POORTWACHTER_DECISION_LOG_KEY; else (development) a random key made in "
                          "state_dir or beside the log folder.")
    decision_log_pseudonymise: bool = Field(True, description="Pseudonymise client ids in the decision log.")
    decision_log_ship: str | None = Field(None, description=(
        "PostgreSQL connection string (libpq DSN) of the central decision-log store: a thread ships the journal "
        "folder there (one worker at a time). Keep the password out of it (PGPASSWORD or PGPASSFILE). 'sidecar': a "
        "`poortwachter log ship` container ships it and the service only watches the backlog (/readyz, metrics, "
        "decision_log_journal_max_bytes). Unset: the journal stays local. See docs/operations.md."))
    decision_log_ship_schema: str = Field("poortwachter", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
                                          description="Schema of the central store in that database.")
    decision_log_journal_max_bytes: int = Field(10 * 1024**3, ge=1024 * 1024, description=(
        "With decision_log_ship: the journal backlog (bytes not yet in the central store) beyond which decisions "
        "are refused (503) until shipping catches up. Below it a store outage only shows in /readyz and metrics."))
    decision_log_pseudonymise_subject: bool = Field(
        True, description="Pseudonymise subject ids (who asked, who attested an emergency) in the decision log "
                          "(same key as the client ids; `poortwachter log --subject` takes the real id).")
    decision_log_pseudonymise_item: bool = Field(
        True, description="Pseudonymise the dossier part of item ids (`<dossier>/<item>`) in the decision log.")
    decision_log_signing_key_file: Path | None = Field(
        None, description="Ed25519 private key (PEM) that signs the decision log's checkpoints. Else the "
                          "environment variable POORTWACHTER_DECISION_LOG_SIGNING_KEY (the PEM text); else "
                          "(development) decision-log-signing.key made in state_dir or beside the log folder, "
                          "its public key beside it. See docs/keys.md.")
    shadow_queue: int = Field(10_000, ge=1, description=(
        "Decisions waiting for shadow comparison per worker; beyond it a comparison is dropped (and counted), "
        "never waited for."))
    shadow_sample: int = Field(100, ge=0, le=10_000, description=(
        "Most recent differences a shadow report keeps (per worker)."))
    metrics_address: str | None = Field(
        None, description="Also serve /metrics alone on host:port, e.g. 0.0.0.0:9464 beside a loopback-only sidecar.")
    otel_exporter_otlp_endpoint: str | None = Field(
        None, pattern=r"^https?://[^\s]+$", description=(
            "OpenTelemetry traces over OTLP/HTTP to this base URL (spans go to <url>/v1/traces), e.g. "
            "http://127.0.0.1:4318; needs the [otel] extra. Unset: the standard OTEL_EXPORTER_OTLP_ENDPOINT or "
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT switches tracing on; none of them: tracing is off. See "
            "docs/observability.md."))
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field("info", description="Server log level.")
    access_log: bool = Field(False, description="uvicorn access log (off: the decision log is the audit trail).")

    @field_validator("keys", mode="before")
    @classmethod
    def _keys_list(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            return [Path(p) for p in str(value).split(os.pathsep) if p]
        return value

    @field_validator("bundle_source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is not None:
            parse_location(value)  # SourceError (a ValueError) names what is wrong
        return value

    @model_validator(mode="after")
    def _source_needs(self) -> Settings:
        if self.bundle_source is None:
            return self
        if self.state_dir is None:
            raise ValueError("bundle_source needs state_dir: the last good set is kept there, so a restart without "
                             "the registry still serves")
        if Path(self.bundles) != embedded.bundle_dir():
            raise ValueError("set bundles or bundle_source, not both: with a source the bundles come from it")
        return self

    @property
    def embedded_default(self) -> bool:
        """Serving the embedded default bundles (``./scripts/serve``): the only place the DEV key is trusted
        without ``trust_dev_key``."""
        return self.bundle_source is None and Path(self.bundles).resolve() == embedded.bundle_dir().resolve()

    @field_validator("dossier_type_bundles", mode="before")
    @classmethod
    def _routes(cls, value: Any) -> Any:
        """The environment's form ``jgz=nl-jgz,jeugdhulp=nl-jeugdhulp``; an empty map decides nothing."""
        if isinstance(value, str):
            pairs = [p.partition("=") for p in value.split(",") if p.strip()]
            if any(not sep or not k.strip() or not v.strip() for k, sep, v in pairs):
                raise ValueError("expected dossier_type=bundle pairs separated by commas, e.g. jgz=nl-jgz")
            return {k.strip(): v.strip() for k, _, v in pairs}
        return value


FIELDS = tuple(Settings.model_fields)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else yaml.safe_load(raw)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: expected a mapping of settings")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SettingsError(f"config file {path}: unknown settings {unknown} (known: {', '.join(FIELDS)})")
    base = path.parent
    for key in ("bundles", "state_dir", "search_inventory", "admin_token_file", "decision_token_file", "history_token_file",
                "decision_log_key_file", "decision_log_signing_key_file"):
        if isinstance(data.get(key), str):
            data[key] = str(base / data[key])
    if isinstance(data.get("decision_log"), str) and data["decision_log"] not in ("stdout", "off"):
        data["decision_log"] = str(base / data["decision_log"])
    return data


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {f: env[ENV_PREFIX + f.upper()] for f in FIELDS if ENV_PREFIX + f.upper() in env}
    if ENV_PREFIX + "DEFAULT_BUNDLE" in env:  # an old deployment must not run on a silently different law
        raise SettingsError("POORTWACHTER_DEFAULT_BUNDLE is replaced by POORTWACHTER_DOSSIER_TYPE_BUNDLES "
                            "(e.g. jgz=nl-jgz,jeugdhulp=nl-jeugdhulp): requests are routed by dossier type")
    if "keys" not in found and ENV_PREFIX + "KEYS_DIR" in env:  # the name docs/keys.md uses
        found["keys"] = env[ENV_PREFIX + "KEYS_DIR"]
    return found


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                  config: Path | None = None) -> Settings:
    """Merge the sources (later wins): defaults, config file, POORTWACHTER_* variables, CLI flags."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    path = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is not None:
        merged.update(_read_file(path))
    merged.update(_from_env(env))
    merged.update({k: v for k, v in (cli or {}).items() if v is not None and k in FIELDS})
    try:
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The resolved settings a worker process received from ``poortwachter serve``, else the sources."""
    env = os.environ if env is None else env
    if env.get(SETTINGS_ENV):
        return Settings.model_validate_json(env[SETTINGS_ENV])
    return load_settings(env=env)


def decision_log_key(env: Mapping[str, str] | None = None) -> str | None:
    """The pseudonymisation key from the environment (typically a Kubernetes Secret), or None.

    Why not a field of :class:`Settings`: the resolved settings travel to the workers as JSON in the
    environment and may be printed; the key must stay where the operator put it."""
    env = os.environ if env is None else env
    return env.get(DECISION_LOG_KEY_ENV) or None


def decision_log_signing_key(env: Mapping[str, str] | None = None) -> str | None:
    """The decision log's signing key (PEM) from the environment, or None; a secret like the one above."""
    env = os.environ if env is None else env
    return env.get(DECISION_LOG_SIGNING_KEY_ENV) or None


def handed_to_worker(name: str, default: Any, env: Mapping[str, str] | None = None) -> Any:
    """One value of the settings ``serve`` handed to this worker process, without validating them all (the
    HTTP protocol reads ``body_timeout`` before the app exists); ``default`` when there are none."""
    env = os.environ if env is None else env
    raw = env.get(SETTINGS_ENV)
    return json.loads(raw).get(name, default) if raw else default
