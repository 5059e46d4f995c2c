"""Settings: defaults < config file (YAML or TOML) < POORTWACHTER_* environment < CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from poortwachter.artifacts import embedded
from poortwachter.service.settings import (
    SETTINGS_ENV,
    Settings,
    SettingsError,
    load_settings,
    settings_from_env,
)


def test_defaults_serve_the_embedded_bundles_on_loopback() -> None:
    s = load_settings(env={})
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8181, 1)
    assert s.bundles == embedded.bundle_dir() and s.keys == [embedded.key_dir()]
    assert s.dossier_type_bundles == {"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp"} and s.reload == "watch"
    assert s.max_clock_skew == 300 and not s.allow_pinned_versions and s.history_token is None


def test_precedence_file_env_cli(tmp_path: Path) -> None:
    config = tmp_path / "pw.yaml"
    config.write_text("port: 9000\nworkers: 3\ncache_size: 5\nbundles: artifacts\n"
                      "dossier_type_bundles: {jgz: nl-jgz, jeugdhulp: duo-plus-diemen}\n")
    s = load_settings({"workers": 2}, env={"POORTWACHTER_PORT": "9100", "POORTWACHTER_CACHE_TTL": "1.5"},
                      config=config)
    assert s.port == 9100  # env over file
    assert s.workers == 2  # CLI over file
    assert s.cache_size == 5 and s.cache_ttl == 1.5
    assert s.bundles == tmp_path / "artifacts"  # relative to the config file
    assert s.dossier_type_bundles == {"jgz": "nl-jgz", "jeugdhulp": "duo-plus-diemen"}


def test_toml_config_and_config_from_env(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text('host = "0.0.0.0"\nreload = "poll"\nkeys = ["/etc/keys-a", "/etc/keys-b"]\n')
    s = load_settings(env={"POORTWACHTER_CONFIG": str(config)})
    assert s.host == "0.0.0.0" and s.reload == "poll"
    assert s.keys == [Path("/etc/keys-a"), Path("/etc/keys-b")]


def test_keys_from_the_environment() -> None:
    assert load_settings(env={"POORTWACHTER_KEYS": "/a:/b"}).keys == [Path("/a"), Path("/b")]
    assert load_settings(env={"POORTWACHTER_KEYS_DIR": "/c"}).keys == [Path("/c")]


def test_dossier_type_bundles_from_the_environment_and_default_bundle_is_refused(tmp_path: Path) -> None:
    routes = load_settings(env={"POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=nl-jgz, jeugdhulp=duo-plus-uithoorn"})
    assert routes.dossier_type_bundles == {"jgz": "nl-jgz", "jeugdhulp": "duo-plus-uithoorn"}
    with pytest.raises(SettingsError, match="dossier_type=bundle pairs"):
        load_settings(env={"POORTWACHTER_DOSSIER_TYPE_BUNDLES": "nl-jgz"})
    with pytest.raises(SettingsError, match="unknown settings"):  # replaced by dossier_type_bundles: loud
        (tmp_path / "old.yaml").write_text("default_bundle: nl-jgz\n")
        load_settings(env={}, config=tmp_path / "old.yaml")


@pytest.mark.parametrize("content, message", [
    ("port: [1]\n", "port"),
    ("colour: blue\n", "unknown settings ['colour']"),
    ("- 1\n", "expected a mapping"),
    ("reload: sometimes\n", "reload"),
    ("port: 99999\n", "port"),
])
def test_invalid_configuration_names_the_key(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "pw.yaml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(env={}, config=config)


def test_missing_config_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file"):
        load_settings(env={}, config=tmp_path / "nope.yaml")


def test_invalid_environment_value() -> None:
    with pytest.raises(SettingsError, match="workers"):
        load_settings(env={"POORTWACHTER_WORKERS": "many"})


def test_workers_receive_the_resolved_settings_as_json() -> None:
    s = Settings(port=9999, dossier_type_bundles={"jgz": "x"}, cache_size=7)
    assert settings_from_env({SETTINGS_ENV: s.model_dump_json()}) == s


def test_the_service_reads_the_environment_in_settings_only() -> None:
    """One place for configuration: no other service module looks up POORTWACHTER_* variables
    (metrics_export.py reads prometheus_client's own folder variable, main.py hands the resolved settings
    to the workers)."""
    import re

    service = Path(__file__).resolve().parents[2] / "src" / "poortwachter" / "service"
    readers = {p.name for p in service.glob("*.py")
               if re.search(r"os\.environ\.get|os\.getenv|environ\[[^\]]+\](?!\s*=)", p.read_text())}
    assert readers <= {"settings.py", "metrics_export.py"}, readers


def test_the_decision_log_takes_its_knobs_from_the_settings(tmp_path: Path) -> None:
    """The settings model decides; a stray variable in the environment does not (it was read before)."""
    from poortwachter.service.decision_log import open_decision_log

    settings = load_settings(env={"POORTWACHTER_DECISION_LOG_MAX_FILE_BYTES": "8192"})
    env = {"POORTWACHTER_DECISION_LOG_DURABILITY": "write", "POORTWACHTER_DECISION_LOG_KEY": "k" * 32}
    log = open_decision_log(str(tmp_path / "log"), 10, settings, env)
    try:
        assert log.writer is not None
        assert (log.writer.config.durability, log.writer.config.max_file_bytes) == ("fsync", 8192)
        assert log.writer.config.wait_timeout == settings.decision_log_wait_timeout
        assert not (tmp_path / "decision-log.key").exists()  # the key came from env, none was made
    finally:
        log.close()
