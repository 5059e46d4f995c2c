"""Reproducible benchmark of Poortwachter against Cerbos and Cedar (issue 8)."""
