"""The decision log (logboek, NEN 7513): records, pseudonyms, the durable writer and the query side.

No FastAPI here: the service (service/decision_log.py) and the CLI (``poortwachter log``) both use it.

- record.py      one JSON line per decision: the one event shape (DecisionEvent) and its one serialiser
- pseudonym.py   the keyed hash (HMAC-SHA256) that stands in for client, subject and dossier ids
- writer.py      queue + writer thread + group commit (fsync); the durability guarantee
- scheduling.py  the writer thread's scheduling policies (SCHED_BATCH, its fdatasync under the default)
- terms.py       the writer's configuration, refusals (LogUnavailable) and health
- segment.py     the files: naming, hash chain, checkpoints, rotation, the ``.head`` copy
- checkpoint.py  Ed25519-signed checkpoints and the log keys
- query.py       reading and searching several folders; SearchReport: what was searched, what was found
- verify.py      ``--verify``: chains, checkpoints and signatures, file ends and links
- overview.py    the parent's HTML overview
- cli.py         ``poortwachter log``; central/ is the PostgreSQL store and its shipper
"""

from .pseudonym import Pseudonymiser, PseudonymKeyError
from .record import DecisionEvent
from .writer import LogUnavailable, LogWriter, WriterConfig

__all__ = ["DecisionEvent", "LogUnavailable", "LogWriter", "PseudonymKeyError", "Pseudonymiser", "WriterConfig"]
