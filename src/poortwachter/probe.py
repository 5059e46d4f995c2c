"""``python -m poortwachter.probe [healthz|readyz]``: a health probe for containers, stdlib only.

The sidecar listens on loopback, where kubelet's httpGet probes cannot reach it, and the slim image has
no curl; this probe starts in a few tens of milliseconds because it imports nothing of the service.
Exit 0 when the endpoint answers 2xx, 1 otherwise (the reason goes to stderr, which kubelet records).
The address comes from POORTWACHTER_PROBE_URL, else http://127.0.0.1:$POORTWACHTER_PORT (8181).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "healthz"
    if path not in ("healthz", "readyz"):
        print("usage: python -m poortwachter.probe [healthz|readyz]", file=sys.stderr)
        return 2
    base = os.environ.get("POORTWACHTER_PROBE_URL") or f"http://127.0.0.1:{os.environ.get('POORTWACHTER_PORT', '8181')}"
    if not base.startswith(("http://", "https://")):
        print(f"POORTWACHTER_PROBE_URL must be an http(s) URL, got {base!r}", file=sys.stderr)
        return 2
    try:
        url = f"{base.rstrip('/')}/{path}"
        timeout = float(os.environ.get("PROBE_TIMEOUT", "2"))
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - scheme checked above
            return 0 if 200 <= r.status < 300 else 1
    except urllib.error.HTTPError as exc:
        print(f"{path}: HTTP {exc.code}: {exc.read(500).decode('utf-8', 'replace')}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
