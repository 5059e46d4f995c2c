"""Peer engines (Cerbos, Cedar) for the benchmark: their policies and runners."""
