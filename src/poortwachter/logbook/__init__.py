"""The decision log (logboek, NEN 7513): records, pseudonyms, the durable writer and the query side.

No FastAPI here: the service (service/decision_log.py) and the CLI (``poortwachter log``) both use it.

- record.py     one JSON line per decision: the fields and how an event becomes a record
- pseudonym.py  the keyed hash (HMAC-SHA256) that stands in for client ids
- writer.py     queue + writer thread + group commit (fsync) + rotation; the durability guarantee
- query.py      reading, filtering ("who has seen my child's dossier"), hash-chain verification
"""

from .pseudonym import Pseudonymiser, PseudonymKeyError
from .record import DecisionEvent
from .writer import LogUnavailable, LogWriter, WriterConfig

__all__ = ["DecisionEvent", "LogUnavailable", "LogWriter", "PseudonymKeyError", "Pseudonymiser", "WriterConfig"]
