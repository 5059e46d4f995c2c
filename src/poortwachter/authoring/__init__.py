"""Tools for policy authors: scenario tests and coverage, decision tables, semantic diffs, lint, the
decision matrix and the rule reference."""
