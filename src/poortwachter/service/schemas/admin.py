"""The admin API (bundles, activation, shadow evaluation, reload) and health answers, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ...core.compare import Kind
from ...core.policy.values import FactValue
from .request import Open


class ActivateRequest(Open):
    version: str | None = Field(None, description="Make this version's newest known revision active.")
    revision: str | None = Field(None, description="Make exactly this revision (sha256:…) active.")


class ShadowRequest(Open):
    """The candidate to evaluate beside the active versions: exactly one of the three."""

    version: str | None = Field(None, description="A known version of the bundle (its newest known revision), e.g. "
                                "one loaded but not yet in force.", examples=["2027.1.0"])
    revision: str | None = Field(None, description="Exactly this known or archived revision (sha256:…).")
    file: str | None = Field(None, description=(
        "A signed artifact inside the bundle folder, relative to it; put candidates in a subfolder (e.g. "
        "candidates/), which reloads do not load. Verified like every artifact."),
        examples=["candidates/nl-jgz-2026.2.0.bundle.json"])


class LoadError(BaseModel):
    file: str
    error: str
    at: str


class SourceStatus(BaseModel):
    """The bundle source (setting bundle_source) as the polling worker last saw it; times in Unix seconds."""

    source: str
    digest: str | None = Field(description="Manifest (or index) digest of the pulled set in force.")
    last_success: float | None = Field(description="The source last answered with a usable or unchanged set.")
    last_change: float | None = Field(description="When the set in force was pulled.")
    last_error: str | None = Field(description="Why the last poll failed (null after a success); the set stays.")
    last_error_cause: str | None = Field(description="network, http, format, digest, verification, downgrade, write.")
    last_error_at: float | None
    failures: int = Field(description="Consecutive failed polls.")
    age_seconds: float | None = Field(description="Seconds since the last success.")


class BundleSource(SourceStatus):
    artifacts: dict[str, str | None] = Field(description="Active version → the digest of its artifact as pulled.")


class BundleSummary(BaseModel):
    name: str
    active: list[str] = Field(description="Active versions.")
    in_force: str | None = Field(description="The version in force today.")
    versions: list[str]
    held: bool = Field(description="Pinned by an admin rollback/activate.")
    last_error: LoadError | None
    source: BundleSource | None = Field(None, description="Where the bundle is pulled from (null: a folder).")


class BundleList(BaseModel):
    dossier_type_bundles: dict[str, str] = Field(description="The bundle that decides each dossier type.")
    generation: int = Field(description="Increments with every switch of the active set.")
    bundles: list[BundleSummary]
    refused: dict[str, str] = Field(description="Files refused at the last load, and why.")
    refused_artifacts: list[RefusedArtifact] = Field(description=(
        "Files refused now, with since when; the last good version of each stays active."))
    revision_set: str = Field(description="Digest of the active set: equal in every worker deciding with it.")


class RefusedArtifact(BaseModel):
    file: str
    reason: str
    since: str = Field(description="When this worker first refused the file for this reason.")


class VersionInfo(BaseModel):
    version: str
    effective_from: str
    revision: str
    sha256: str
    key_id: str
    source_revision: str
    file: str
    loaded_at: str
    active: bool
    in_force: bool


class HoldInfo(BaseModel):
    revisions: list[str]
    reason: str
    at: str


class BundleDetail(BaseModel):
    name: str
    active: list[str]
    in_force: str | None
    versions: list[VersionInfo] = Field(description="Every known revision (active or kept for rollback).")
    held: HoldInfo | None
    history: list[list[str]] = Field(description="Earlier active revision sets, newest first.")
    last_error: LoadError | None
    source: BundleSource | None = Field(None, description="Where the bundle is pulled from (null: a folder).")


class ShadowCandidate(BaseModel):
    version: str
    revision: str
    effective_from: str
    file: str = Field(description="Where it was loaded from (a file, the bundle folder or archive:<revision>).")


class ShadowVerdict(BaseModel):
    bundle: str = Field(description="name@version", examples=["nl-jgz@2026.1.0"])
    decision: bool
    rules: list[str] = Field(description="Deciding rules (default-deny when no rule applied).")
    obligations: list[str]


class ShadowChange(BaseModel):
    """One distinct difference and how often it occurred."""

    count: int
    kind: Kind = Field(
        description="decision: allow ↔ deny; rules: same decision, other deciding rules; obligations: only those.")
    active: ShadowVerdict = Field(description="What was answered.")
    candidate: ShadowVerdict = Field(description="What the candidate would have answered.")


class ShadowDifference(BaseModel):
    """One decision on which the candidate would have answered differently."""

    at: str = Field(description="When it was compared (UTC).")
    decision_id: str = Field(description="The decision's id, as in the answer and the decision log.")
    as_of: str = Field(description="The request's time (context.time, else when it arrived).")
    kind: Kind
    active: ShadowVerdict
    candidate: ShadowVerdict
    facts: dict[str, FactValue] = Field(description=(
        "The derived facts the deciding rules of either version look at, plus action and category (free-text "
        "facts are left out; no ids)."))
    candidate_facts: dict[str, FactValue] = Field(description=(
        "Those facts the candidate derives otherwise (other age thresholds or consent bands)."))


class ShadowReport(BaseModel):
    """Shadow evaluation of one bundle in the worker that answered (the metric sums all workers)."""

    name: str
    running: bool = Field(description="False: the final report of the last shadow, stopped at ``stopped``.")
    worker: int = Field(description="Process id of the worker whose traffic this is.")
    candidate: ShadowCandidate
    since: str
    stopped: str | None
    compared: int = Field(description="Decisions compared (same + different).")
    same: int
    different: int
    dropped: int = Field(description="Not compared: the shadow queue was full.")
    errors: int = Field(description="Not compared: the comparison failed (logged).")
    skipped: int = Field(description="Not compared: the request named a version (context.bundle name@version).")
    by_kind: dict[str, int] = Field(description="Differences by kind: decision, rules, obligations.")
    changes: list[ShadowChange] = Field(description="Each distinct difference with its count, most frequent first "
                                        "(at most 100; further ones are counted in other_changes).")
    other_changes: int
    sample: list[ShadowDifference] = Field(description="The latest differences, newest first (shadow_sample).")


class LoadReport(BaseModel):
    generation: int
    changed: list[str]
    refused: dict[str, str]
    kept: list[str]


class BundleHealth(BaseModel):
    generation: int
    revision_set: str = Field(description="Digest of the active set: equal in every worker deciding with it.")
    active: dict[str, list[str]] = Field(description="Active versions by bundle name.")
    refused: list[RefusedArtifact]
    watching: bool | None = Field(description="Hot reload watches the bundle folder (null: reload off).")
    watch_error: str | None
    key_problems: dict[str, str] = Field(description="Key files or folders that could not be read: nothing in "
                                                     "them is trusted.")
    source: SourceStatus | None = Field(None, description="The bundle source, when bundle_source is set.")


class Health(BaseModel):
    status: str
    detail: str | None = None
    bundles: BundleHealth | None = Field(None, description="/readyz: the bundle store's state.")
    log_shipping: dict[str, Any] | None = Field(None, description=(
        "/readyz with decision_log_ship: how far the central store is behind the journal (role, pending "
        "records and bytes, oldest pending age, last success, last error)."))
