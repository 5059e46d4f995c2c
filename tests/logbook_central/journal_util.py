"""Writing a real journal for the central-store tests (the service's own writer, not a fake)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from poortwachter.logbook.checkpoint import Signer
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.writer import LogWriter, WriterConfig

KEY = b"central-store-test-key-0123456789"
PSEUDO = Pseudonymiser(KEY)


def write_journal(directory: Path, ids: Iterable[str], *, clients: int = 7, subjects: int = 3,
                  time: str | None = None, signer: Signer | None = None) -> list[str]:
    """Records d with client c-<n % clients> and subject p-<n % subjects>; closed cleanly. The ids written."""
    writer = LogWriter(WriterConfig(directory), PSEUDO, signer=signer).start()
    written = []
    last = 0
    for n, decision_id in enumerate(ids):
        event = {"decision_id": decision_id, "client": f"c-{n % clients}", "subject": {"id": f"p-{n % subjects}"},
                 "action": "read", "decision": "allow" if n % 2 else "deny"}
        if time is not None:
            event["time"] = time
        last = writer.submit(event)
        written.append(decision_id)
    assert writer.wait(last, 10)
    assert writer.close()
    return written
