"""The closed value sets of the decision API and the derived facts rules may use.

Names follow docs/api.md. A value outside these sets is a
request error, never a guess. A custom vocabulary (test fixtures) declares its own facts; see
:class:`CustomVocabulary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NONE = "none"

SUBJECT_TYPES = ("person", "professional", "organisation")
RELATIONS = (
    "self", "ouder", "voogd", "pleegouder", "jeugdbeschermer", "partner_van_ouder",
    "biologische_ouder", "nabestaande", "vertegenwoordiger", "derde",
)
DISCIPLINES = (
    "jeugdarts", "jeugdverpleegkundige", "verpleegkundig_specialist", "doktersassistent",
    "gedragswetenschapper", "jeugdhulpverlener", "psycholoog", "orthopedagoog",
    "maatschappelijk_werker", "huisarts", "vertrouwensarts", "auditor", "functioneel_beheerder",
    "administratief_medewerker", "stagiair", "other",
)
TEAMS = ("jgz-0-4", "jgz-4-18", "other")
ORGANISATION_KINDS = (
    "veilig_thuis", "raad_voor_de_kinderbescherming", "gecertificeerde_instelling", "igj", "gemeente",
    "school", "kinderopvang", "huisarts", "ziekenhuis", "politie", "justitie", "onderzoek",
    "verzekeraar", "klachtencommissie", "tuchtcollege", "vertrouwenspersoon", "jgz_organisatie",
    "jeugdhulpaanbieder", "verwijsindex", "zorgverlener", "other",
)
ACTIONS = ("read", "copy", "write", "correct", "annotate", "disclose", "destroy", "read_log")
RESOURCE_TYPES = ("dossier_item", "dossier")
# The retention facts: whole years since a date of the item, -1 when the caller does not know it; compared
# only with a bundle's year_thresholds.
YEAR_FACTS = ("resource.years_since_last_change", "resource.years_since_treatment_end", "resource.years_since_created")
DOSSIER_TYPES = ("jgz", "jeugdhulp")
CATEGORIES = (
    "personalia", "bsn", "groei", "vaccinatie", "medisch", "gespreksverslag", "dagrapportage",
    "behandelplan", "onderzoeksrapport", "ruwe_testgegevens", "rapport_derden",
    "informatie_over_derde", "geheim_adres", "meldcode", "eigen_verklaring", "client_document",
    "loggegevens", "administratief", "klacht", "werkaantekening", "algemene_informatie",
)
AUTHOR_KINDS = ("professional", "self", "ouder", "derde", "organisation", "person", "system")
# what resource.author_kind can be: an item from another organisation (a report obtained elsewhere) or from
# another person is a third party's contribution (contract), so both read as `derde`
THIRD_PARTY_AUTHORS = ("organisation", "person")
AUTHOR_KIND_FACTS = tuple(k for k in AUTHOR_KINDS if k not in THIRD_PARTY_AUTHORS)
MEASURES = ("ots", "voogdij", "uithuisplaatsing", "jeugdreclassering")
PURPOSES = ("care", "emergency", "research", "complaint_defence", "legal_duty", "report")
CHANNELS = ("klantportaal", "balie", "post", "telefoon", "other")
AUTHN_LEVELS = ("laag", "substantieel", "hoog")
SETTINGS = ("mdo", "other")
TRANSFER_REASONS = ("verhuizing", "schoolwissel", "other")
ATTESTATIONS = (
    "emergency", "complaint_defence", "informatieplicht", "meldrecht", "client_informed",
    "colleague_consulted", "serious_harm", "not_good_care", "excessive_request",
    "significant_interest_other", "court_order", "legal_retention_duty",
)
CONSENT_PARTIES = ("self", "gezag", "all_gezag", "valid", "about")
OBJECTION_PARTIES = ("self", "gezag")

FactKind = Literal["enum", "bool", "int", "str"]
ExtractorKind = Literal["from", "member", "same"]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """A derived fact: its name, value domain and what the caller could do to change it.

    ``obtainable`` facts (consents, attestations, an identity check) are what a deny's
    ``missing`` list may name: facts a caller can go and get.
    """

    name: str
    kind: FactKind
    values: tuple[str, ...] = ()
    text_nl: str = ""
    text_en: str = ""
    obtainable: bool = False


def _enum(name: str, values: tuple[str, ...], en: str, nl: str = "", with_none: bool = True) -> FactSpec:
    return FactSpec(name, "enum", values + ((NONE,) if with_none else ()), nl or en, en)


def _bool(name: str, en: str, nl: str = "", obtainable: bool = False) -> FactSpec:
    return FactSpec(name, "bool", (), nl or en, en, obtainable)


def _int(name: str, en: str, nl: str = "") -> FactSpec:
    return FactSpec(name, "int", (), nl or en, en)


def _party_facts(prefix: str) -> tuple[FactSpec, ...]:
    """Facts describing a subject or a disclosure recipient (same shape, other prefix)."""
    return (
        _enum(f"{prefix}.type", SUBJECT_TYPES, "kind of party"),
        _enum(f"{prefix}.relation", RELATIONS, "relation to the client"),
        _bool(f"{prefix}.gezag", "holds parental authority (gezag)", "heeft gezag"),
        _enum(f"{prefix}.discipline", DISCIPLINES, "professional discipline"),
        _bool(f"{prefix}.treatment_relation", "directly involved in the client's care (behandelrelatie)",
              "heeft een behandelrelatie"),
        _enum(f"{prefix}.team", TEAMS, "professional team"),
        _enum(f"{prefix}.kind", ORGANISATION_KINDS, "kind of organisation"),
        _bool(f"{prefix}.is_client", "is the client of the dossier", "is de cliënt zelf"),
    )


YOUTH_CARE_FACTS: tuple[FactSpec, ...] = (
    *_party_facts("subject"),
    _bool("subject.is_gezaghebbende", "is listed as a holder of gezag of the client",
          "staat geregistreerd als gezaghebbende"),
    _bool("subject.identity_verified", "identity of the person was verified",
          "de identiteit van de persoon is gecontroleerd", obtainable=True),
    _bool("subject.is_author", "wrote the item", "heeft het item geschreven"),
    _bool("subject.shielded", "the item is shielded from this subject", "het item is afgeschermd voor deze persoon"),
    _bool("subject.is_about", "the item is about this subject", "het item gaat over deze persoon"),
    _enum("action.name", ACTIONS, "action", with_none=False),
    _enum("action.setting", SETTINGS, "setting of the action (e.g. multidisciplinary meeting)"),
    _enum("action.transfer_reason", TRANSFER_REASONS, "reason of a dossier transfer"),
    _bool("action.new_school_known", "the new school is known (transfer)"),
    *_party_facts("recipient"),
    _bool("recipient.in_care", "the child is in care at the recipient", "het kind is in zorg bij de ontvanger"),
    _bool("recipient.identity_verified", "identity of the receiving person was verified",
          "de identiteit van de ontvanger is gecontroleerd", obtainable=True),
    _bool("recipient.shielded", "the item is shielded from the recipient", "het item is afgeschermd voor de ontvanger"),
    _bool("recipient.is_about", "the item is about the recipient", "het item gaat over de ontvanger"),
    _enum("resource.type", RESOURCE_TYPES, "dossier item or whole dossier", with_none=False),
    _enum("resource.dossier_type", DOSSIER_TYPES, "kind of dossier", with_none=False),
    _enum("resource.category", CATEGORIES, "category of the dossier item"),
    _enum("resource.author_kind", AUTHOR_KIND_FACTS, "who entered the item (organisation, person: derde)"),
    _bool("resource.confidential_from_parents", "agreed with the young person not to share with parents",
          "afgesproken met de jongere: niet delen met ouders"),
    _bool("resource.about_other", "the item is about another person than the client",
          "het item gaat over een ander dan de cliënt"),
    _enum("resource.about_relation", RELATIONS, "relation of the person the item is about"),
    _int("resource.years_since_last_change", "whole years since the last change of the dossier (-1 unknown)"),
    _int("resource.years_since_treatment_end", "whole years since the end of treatment (-1 unknown)"),
    _int("resource.years_since_created", "whole years since the item (or log line) was written: written_at, "
         "else created_at (-1 unknown)"),
    _int("client.age", "age of the client in whole years", "leeftijd van de cliënt in hele jaren"),
    _bool("client.deceased", "the client has died", "de cliënt is overleden"),
    _bool("client.wilsonbekwaam", "the client cannot reasonably judge their interests",
          "de cliënt is wilsonbekwaam"),
    *(_bool(f"client.measure.{m}", f"child protection measure {m} applies") for m in MEASURES),
    _enum("context.purpose", PURPOSES, "purpose of the request"),
    _enum("context.channel", CHANNELS, "channel of a request by a person"),
    _enum("context.authn_level", AUTHN_LEVELS, "authentication level (eIDAS)"),
    _bool("consent.self", "consent of the young person", "toestemming van de jongere zelf", obtainable=True),
    _bool("consent.gezag", "consent of a parent or guardian with gezag",
          "toestemming van een ouder of voogd met gezag", obtainable=True),
    _bool("consent.all_gezag", "consent of every holder of gezag", "toestemming van alle gezaghebbenden",
          obtainable=True),
    _bool("consent.valid", "consent of whoever must consent at the client's age",
          "toestemming van wie op deze leeftijd toestemming moet geven", obtainable=True),
    _bool("consent.about", "consent of the person the item is about", "toestemming van degene over wie het item gaat",
          obtainable=True),
    _bool("objection.self", "the young person objects", "de jongere maakt bezwaar"),
    _bool("objection.gezag", "a holder of gezag objects", "een gezaghebbende maakt bezwaar"),
    *(_bool(f"attestation.{k}", f"a professional attests: {k.replace('_', ' ')}",
            f"een professional verklaart: {k.replace('_', ' ')}", obtainable=True) for k in ATTESTATIONS),
)

BASE_OBLIGATIONS: dict[str, tuple[str, str]] = {
    "log_access": ("Leg deze toegang vast in het logbestand (NEN 7513).",
                   "Record this access in the access log (NEN 7513)."),
    "record_in_dossier": ("Noteer in het dossier wat is gedeeld, met wie en waarom.",
                          "Write down in the dossier what was shared, with whom and why."),
    "consult_colleague": ("Overleg eerst met een collega of deskundige.",
                          "Consult a colleague or expert first."),
    "inform_client": ("Vertel de cliënt (en waar nodig de ouders) wat er is gedeeld, met wie en waarom.",
                      "Tell the client (and where needed the parents) what was shared, with whom and why."),
    "inzage_only": ("Alleen inzien: geen kopie of afschrift meegeven.",
                    "View only: do not hand over a copy."),
    "general_information_only": ("Geef alleen algemene informatie, geen inzage in het dossier.",
                                 "Give general information only, no access to the dossier."),
    "redact_third_party": ("Maak informatie over andere personen onleesbaar voordat u inzage of een kopie geeft.",
                           "Redact information about other persons before giving access or a copy."),
    "justify_emergency_access": ("Leg vast waarom noodtoegang nodig was; dit wordt achteraf gecontroleerd.",
                                 "Record why emergency access was needed; it will be reviewed afterwards."),
    "respond_within_one_month": ("Beantwoord het verzoek binnen een maand (eenmaal te verlengen met redenen).",
                                 "Answer the request within one month (extendable once, with reasons)."),
}


@dataclass(frozen=True, slots=True)
class Extractor:
    """How a custom vocabulary derives one fact from the request (no code, a closed set of ways).

    ``from``: the value at ``paths[0]``; ``member``: value at paths[0] is in the list at paths[1];
    ``same``: values at paths[0] and paths[1] are equal. Paths are dotted, e.g.
    ``resource.properties.author.id``.
    """

    fact: str
    how: ExtractorKind
    paths: tuple[tuple[str, ...], ...]
    required: bool = False


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What a bundle's rules may speak about: its facts and the request values it accepts.

    ``youth_care`` is True for the contract's vocabulary (request parsed by core.request); a custom
    vocabulary derives its facts with ``extractors`` (core.declared_facts) and declares the constants its
    integer facts may be compared with in ``thresholds``.
    """

    name: str
    facts: dict[str, FactSpec]
    actions: tuple[str, ...]
    youth_care: bool
    extractors: tuple[Extractor, ...] = ()
    thresholds: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def fact(self, name: str) -> FactSpec | None:
        return self.facts.get(name)


YOUTH_CARE = Vocabulary(
    name="youth-care",
    facts={f.name: f for f in YOUTH_CARE_FACTS},
    actions=ACTIONS,
    youth_care=True,
)
