"""Tools for policy authors: scenario tests and coverage (and, in later modules, tables, diffs, lint)."""
