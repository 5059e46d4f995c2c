"""The decision service: AuthZEN 1.0 and a native API over the policy core.

    app.py        FastAPI factory, edge middleware, lifespan (load, watch, close)
    authzen.py    /access/v1/evaluation(s), search, /.well-known/authzen-configuration
    native.py     /v1/decisions (explained), /v1/filter
    admin.py      /v1/bundles: list, inspect, reload, activate, rollback
    decider.py    the hot path: parse → select bundle → facts → cache → evaluate → log
    store.py      verified bundles behind an atomically swapped snapshot; reload.py watches the folder
    cache.py      (revision, facts) → verdict
    filtering.py  many items for one subject and action (filter, search, pages)
    body.py, problems.py, security.py   the hardened edge: size, media type, RFC 9457, tokens
    schemas.py, openapi.py              the documented API (vocabulary from core.vocabulary)
    metrics.py, decision_log.py         operator hooks
    settings.py, main.py                configuration and `poortwachter serve`
"""
