"""The pseudonymiser's precomputed HMAC state gives HMAC-SHA256 bit for bit (issue 16: the log writer
computes three pseudonyms per record, so they are made from keyed hash states computed once)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from poortwachter.logbook.pseudonym import MEMO_SIZE, PREFIX, Pseudonymiser, key_id


@pytest.mark.parametrize("key", [b"k" * 16, b"0123456789abcdef" * 4, b"x" * 65, bytes(range(200)), b"\xff" * 64])
@pytest.mark.parametrize("value", ["", "client-98765", "dossier/ü€", "x" * 300])
def test_pseudonym_is_hmac_sha256(key: bytes, value: str) -> None:
    expected = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    assert Pseudonymiser(key)(value) == f"{PREFIX}:{key_id(key)}:{expected}"


def test_states_are_not_consumed() -> None:
    pseudonymise = Pseudonymiser(b"a-key-of-enough-bytes")
    first = pseudonymise("client-1")
    assert [pseudonymise("client-2"), pseudonymise("client-1")] == [pseudonymise("client-2"), first]
    assert pseudonymise("client-1") != pseudonymise("client-2")


def test_clear_when_disabled() -> None:
    assert Pseudonymiser(None, enabled=False)("client-1") == "client-1"


def test_remembered_pseudonyms_are_the_ones_made_afresh_and_the_memory_is_bounded() -> None:
    """A batch repeats its person's and client's ids: their pseudonyms are remembered, up to MEMO_SIZE ids
    (then forgotten at once), and a remembered pseudonym is the one HMAC-SHA256 gives."""
    key = b"a-key-of-enough-bytes"
    pseudonymise = Pseudonymiser(key)
    ids = [f"id-{i}" for i in range(MEMO_SIZE + 500)]
    for _ in range(2):
        for value in ids[:3] * 5 + ids:
            expected = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
            assert pseudonymise(value) == f"{PREFIX}:{key_id(key)}:{expected}"
            assert len(pseudonymise._memo) <= MEMO_SIZE  # noqa: SLF001
    assert "id-3" not in pseudonymise._memo and pseudonymise("id-1") == Pseudonymiser(key)("id-1")  # noqa: SLF001
