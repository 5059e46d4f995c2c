"""The parent's overview: who looked at my child's dossier, when, what, and why — as a web page.

``poortwachter log --client ID --key-file K --format html -o overzicht.html`` turns a
:class:`~.query.SearchReport` into one self-contained HTML page in plain Dutch (toolkit-jgz-2026 §9: the
right to see the logboek): a role a parent recognises ("jeugdarts", "u als ouder") instead of a
pseudonym, the date and time in Amsterdam, what was done with which part of the dossier, the answer
(toegestaan / geweigerd) and why: the deciding rule's own Dutch reason and legal basis when the bundle
is at hand (``reasons``), else the purpose the professional gave. Professionals' pseudonyms never
appear; the page ends with what was searched, so "nobody looked" is never said where nothing was
searched. Everything from the log is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from ..core.calendar import AMSTERDAM
from .query import SearchReport, StoreSearched, record_time

#: (bundle name, bundle version, rule id) → (the rule's Dutch reason, its legal basis)
Reasons = Callable[[str, str, str], tuple[str, tuple[str, ...]] | None]

ROLES: Mapping[str, str] = {
    "self": "uw kind zelf", "ouder": "een ouder", "voogd": "een voogd", "pleegouder": "een pleegouder",
    "jeugdbeschermer": "een jeugdbeschermer", "partner_van_ouder": "de partner van een ouder",
    "biologische_ouder": "een biologische ouder", "nabestaande": "een nabestaande",
    "vertegenwoordiger": "een vertegenwoordiger", "derde": "iemand anders (een derde)",
    "jeugdarts": "een jeugdarts", "jeugdverpleegkundige": "een jeugdverpleegkundige",
    "verpleegkundig_specialist": "een verpleegkundig specialist", "doktersassistent": "een doktersassistent",
    "gedragswetenschapper": "een gedragswetenschapper", "jeugdhulpverlener": "een jeugdhulpverlener",
    "psycholoog": "een psycholoog", "orthopedagoog": "een orthopedagoog",
    "maatschappelijk_werker": "een maatschappelijk werker", "huisarts": "een huisarts",
    "vertrouwensarts": "een vertrouwensarts", "auditor": "een controleur (auditor)",
    "functioneel_beheerder": "een functioneel beheerder", "administratief_medewerker": "een administratief medewerker",
    "stagiair": "een stagiair", "veilig_thuis": "Veilig Thuis", "raad_voor_de_kinderbescherming":
    "de Raad voor de Kinderbescherming", "gecertificeerde_instelling": "een gecertificeerde instelling",
    "gemeente": "de gemeente", "school": "een school", "ziekenhuis": "een ziekenhuis",
}
SUBJECT_TYPES: Mapping[str, str] = {"person": "een persoon", "professional": "een medewerker",
                                    "organisation": "een organisatie"}
ACTIONS: Mapping[str, str] = {
    "read": "bekijken", "copy": "kopiëren", "write": "wijzigen", "correct": "corrigeren", "annotate": "aanvullen",
    "disclose": "verstrekken aan een ander", "destroy": "vernietigen", "read_log": "het logboek bekijken",
}
CATEGORIES: Mapping[str, str] = {
    "personalia": "persoonsgegevens", "bsn": "het burgerservicenummer", "groei": "groei (lengte en gewicht)",
    "vaccinatie": "vaccinaties", "medisch": "medische gegevens", "gespreksverslag": "gespreksverslagen",
    "dagrapportage": "dagrapportages", "behandelplan": "het behandelplan", "onderzoeksrapport": "onderzoeksrapporten",
    "ruwe_testgegevens": "ruwe testgegevens", "rapport_derden": "rapporten van anderen",
    "informatie_over_derde": "informatie over een ander", "geheim_adres": "een geheim adres",
    "meldcode": "de meldcode", "eigen_verklaring": "een eigen verklaring", "client_document": "eigen documenten",
    "loggegevens": "het logboek", "administratief": "administratieve gegevens", "klacht": "een klacht",
    "werkaantekening": "werkaantekeningen", "algemene_informatie": "algemene informatie",
}
PURPOSES: Mapping[str, str] = {
    "care": "voor de zorg aan uw kind", "emergency": "in een noodsituatie", "research": "voor onderzoek",
    "complaint_defence": "om zich te verweren tegen een klacht", "legal_duty": "omdat de wet het verplicht",
    "report": "voor een melding",
}


def _who(record: Mapping[str, Any]) -> str:
    subject = record.get("subject") or {}
    role = subject.get("role")
    if isinstance(role, str) and role:
        who = ROLES.get(role, role.replace("_", " "))
    else:
        who = SUBJECT_TYPES.get(str(subject.get("type")), "onbekend")
    organisation = record.get("organisation")
    if isinstance(organisation, str) and organisation:
        who += f" van {organisation}"
    return who


def _what(record: Mapping[str, Any]) -> str:
    action = record.get("action")
    if action == "read_log":
        return ACTIONS["read_log"]
    item = record.get("item") or {}
    category = item.get("category")
    doing = ACTIONS.get(str(action), str(action or "iets doen"))
    part = CATEGORIES.get(category, category.replace("_", " ")) if isinstance(category, str) else \
        ("het hele dossier" if item.get("type") == "dossier" else "een onderdeel van het dossier")
    return f"{part} {doing}"


def _why(record: Mapping[str, Any], reasons: Reasons | None) -> str:
    bundle = record.get("bundle") or {}
    texts = []
    for rule in record.get("rules") or []:
        found = reasons(str(bundle.get("name")), str(bundle.get("version")), str(rule)) if reasons else None
        if found is not None:
            text, basis = found
            texts.append(text + (f" (grondslag: {'; '.join(basis)})" if basis else ""))
    if not texts and record.get("decision") != "allow":
        texts.append("Geen regel stond dit toe, dus is het geweigerd.")
    purpose = record.get("purpose")
    if isinstance(purpose, str):
        texts.append("Opgegeven doel: " + PURPOSES.get(purpose, purpose.replace("_", " ")) + ".")
    if record.get("emergency"):
        texts.append("Er is verklaard dat het om een noodsituatie ging.")
    return " ".join(texts) or "Geen reden vastgelegd."


def _when(record: dict[str, Any]) -> str:
    return record_time(record).astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def _day(when: datetime | None) -> str:
    return when.astimezone(AMSTERDAM).strftime("%d-%m-%Y") if when else "-"


def _store(store: StoreSearched) -> str:
    if not store.found:
        return f"{escape(store.location)}: niet gevonden ({escape(store.why or '')})"
    return f"{escape(store.location)}: {store.records} vastleggingen ({_day(store.first)} tot en met {_day(store.last)})"


STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}table{border-collapse:collapse;
width:100%}th,td{border:1px solid #bbb;padding:.4em;text-align:left;vertical-align:top}th{background:#eee}
.geweigerd{color:#a00}.searched{color:#555;font-size:.9em}"""


def render_html(report: SearchReport, *, client: str | None = None, reasons: Reasons | None = None) -> str:
    """The page: an answer in one sentence, a table of every access, and what was searched."""
    if report.outcome == "nothing-to-search":
        answer = ("Er kon niets worden doorzocht: er zijn geen vastleggingen gevonden. Dit betekent níet dat "
                  "niemand het dossier heeft ingezien; neem contact op met de organisatie.")
    elif report.outcome == "none-found":
        answer = (f"In {report.records} vastleggingen van {_day(report.first)} tot en met {_day(report.last)} is "
                  f"niemand gevonden die dit dossier heeft ingezien of gewijzigd.")
    else:
        allowed = sum(1 for r in report.matches if r.get("decision") == "allow")
        answer = (f"{len(report.matches)} keer is gevraagd om iets met dit dossier te doen; {allowed} keer is dat "
                  f"toegestaan. Gezocht in {report.records} vastleggingen van {_day(report.first)} tot en met "
                  f"{_day(report.last)}.")
    rows = []
    for r in report.matches:
        allowed = r.get("decision") == "allow"
        rows.append(
            f"<tr class=\"{'toegestaan' if allowed else 'geweigerd'}\"><td>{escape(_when(r))}</td>"
            f"<td>{escape(_who(r))}</td><td>{escape(_what(r))}</td>"
            f"<td>{'toegestaan' if allowed else 'geweigerd'}</td><td>{escape(_why(r, reasons))}</td></tr>")
    table = ("<table><thead><tr><th>Wanneer</th><th>Wie</th><th>Wat</th><th>Uitkomst</th><th>Waarom</th></tr>"
             f"</thead><tbody>{''.join(rows)}</tbody></table>") if rows else ""
    about = f"<p>Dossier: {escape(client)}</p>" if client else ""
    searched = "".join(f"<li>{_store(s)}</li>" for s in report.stores)
    return ("<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
            "<title>Wie heeft het dossier ingezien?</title>"
            f"<style>{STYLE}</style></head><body><h1>Wie heeft het dossier van uw kind ingezien?</h1>{about}"
            f"<p id=\"antwoord\">{escape(answer)}</p>{table}"
            f"<div class=\"searched\"><h2>Wat is doorzocht</h2><ul>{searched}</ul></div></body></html>\n")
