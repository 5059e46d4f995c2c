"""The parent's overview (issue 12 item 3): "who has seen my child's dossier?" as a page a parent can
read — roles in Dutch, dates, what and why, no pseudonyms — checked as rendered by headless Chromium."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import support
from fastapi.testclient import TestClient

from poortwachter.cli import main
from poortwachter.logbook.overview import render_html
from poortwachter.logbook.query import SearchReport, StoreSearched
from poortwachter.service.app import create_app
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
KEY = "overview-test-key-0123456789abcdef"
def chromium(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    browser = support.require_tool("chromium", "chromium-browser", why="render the overview page",
                                   install="apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync", "--no-first-run",
                               f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def journal(tmp_path: Path, mini_bundles: Path, parent: Any, youth_care: Any,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real service's journal: the mother looked at the growth curve, a doctor and a doctors'
    assistant were refused a report (the mini bundle allows neither), another child's dossier was read."""
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", KEY)
    settings = Settings(trust_dev_key=True, bundles=mini_bundles, dossier_type_bundles={"jgz": "mini"}, max_clock_skew=0, reload="off",
                        decision_log=str(tmp_path / "log"))
    doctor = youth_care(subject={"type": "professional", "id": "prof-jeugdarts-de-Vries",
                                 "properties": {"discipline": "jeugdarts", "treatment_relation": True,
                                                "organisation": "GGD Amsterdam"}},
                        action={"name": "read"}, context={"purpose": "care"}, client="c-kind-1")
    assistant = youth_care(subject={"type": "professional", "id": "prof-assistent-Bakker",
                                    "properties": {"discipline": "doktersassistent", "treatment_relation": False}},
                           action={"name": "read"}, context={"purpose": "care"}, client="c-kind-1")
    with TestClient(create_app(settings)) as c:
        for request in (parent(1, client="c-kind-1", subject="p-moeder"), doctor, assistant,
                        parent(2, client="c-ander-kind", subject="p-buurman")):
            assert c.post("/access/v1/evaluation", json=request).status_code == 200
    (tmp_path / "key").write_text(KEY)
    monkeypatch.delenv("POORTWACHTER_DECISION_LOG_KEY")
    yield tmp_path


def overview(journal: Path, mini_bundles: Path, client: str = "c-kind-1") -> tuple[int, Path]:
    page = journal / "overzicht.html"
    rc = main(["log", "--dir", str(journal / "log"), "--client", client, "--key-file", str(journal / "key"),
               "--format", "html", "-o", str(page), "--bundles", str(mini_bundles), "--keys", str(ROOT / "keys")])
    return rc, page


def test_the_parent_reads_who_saw_the_dossier_when_what_and_why(journal: Path, mini_bundles: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rc, page = overview(journal, mini_bundles)
    assert rc == 0 and "3 decision(s) found in 4 record(s)" in capsys.readouterr().err
    dom = chromium(page, "--dump-dom").stdout
    assert "<h1>Wie heeft het dossier van uw kind ingezien?</h1>" in dom
    assert "3 keer is gevraagd om iets met dit dossier te doen; 1 keer is dat toegestaan" in dom
    assert dom.count("<tr class=") == 3
    for words in ("een ouder", "een jeugdarts van GGD Amsterdam", "een doktersassistent",  # who, in Dutch
                  "groei (lengte en gewicht) bekijken", "gespreksverslagen bekijken",  # what
                  "toegestaan", "geweigerd", "Opgegeven doel: voor de zorg aan uw kind."):  # the answer, why
        assert words in dom, words
    assert "Ouders met gezag van een kind onder 12. (grondslag: BW 7:465 lid 1)" in dom  # the rule's own words
    assert dom.count("Geen regel stond dit toe, dus is het geweigerd.") == 2
    for never in ("hmac-sha256", "prof-jeugdarts-de-Vries", "p-moeder", "p-buurman", "c-ander-kind"):
        assert never not in dom, never  # no pseudonyms as gibberish, nobody else's access, no real ids
    assert "Wat is doorzocht" in dom and str(journal / "log") in dom and "4 vastleggingen" in dom
    shot = journal / "overzicht.png"
    chromium(page, f"--screenshot={shot}", "--window-size=1200,900")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1200 and len(png) > 10_000


def test_an_empty_answer_says_what_was_searched_and_nothing_to_search_is_no_no(journal: Path, mini_bundles: Path,
                                                                             tmp_path: Path) -> None:
    rc, page = overview(journal, mini_bundles, client="c-nobody")
    assert rc == 1
    dom = chromium(page, "--dump-dom").stdout
    assert "In 4 vastleggingen van" in dom and "is niemand gevonden die dit dossier heeft ingezien" in dom
    missing = SearchReport((StoreSearched(str(tmp_path / "weg"), found=False, why="the folder does not exist"),))
    (tmp_path / "leeg.html").write_text(render_html(missing, client="c-1"), encoding="utf-8")
    dom = chromium(tmp_path / "leeg.html", "--dump-dom").stdout
    assert "Dit betekent níet dat niemand het dossier heeft ingezien" in dom and "niet gevonden" in dom


def test_whatever_the_log_holds_is_escaped() -> None:
    hostile = {"decision_id": "d", "time": "2026-11-22T10:00:00+01:00", "decision": "allow", "action": "<script>",
               "subject": {"role": "<img src=x onerror=alert(1)>"}, "organisation": "<b>org</b>",
               "item": {"category": "</td><script>"}, "purpose": "\"'><svg>"}
    report = SearchReport((StoreSearched("<dir>", records=1),), in_window=1, matches=(hostile,))
    html = render_html(report, client="<c>")
    assert "<script>" not in html and "<img" not in html and "<svg>" not in html and "<b>org" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_html_needs_an_output_file(journal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "--dir", str(journal / "log"), "--client", "c-kind-1", "--key-file", str(journal / "key"),
                 "--format", "html"]) == 2
    assert "-o FILE" in capsys.readouterr().err


def test_plain_words_for_what_was_done() -> None:
    rows = ({"decision_id": "a", "time": "2026-11-22T10:00:00+01:00", "decision": "allow", "action": "read_log",
             "item": {"category": "loggegevens"}, "subject": {"role": "self"}},
            {"decision_id": "b", "time": "2026-11-22T11:00:00+01:00", "decision": "deny", "action": "destroy",
             "item": {"type": "dossier"}, "subject": {"type": "organisation"}})
    html = render_html(SearchReport((StoreSearched("log", records=2),), in_window=2, matches=rows))
    assert "<td>uw kind zelf</td><td>het logboek bekijken</td>" in html
    assert "<td>een organisatie</td><td>het hele dossier vernietigen</td>" in html
    assert "22-11-2026 10:00" in html and "22-11-2026 11:00" in html  # Amsterdam time, as a parent reads it
