#!/usr/bin/env bash
# Install the benchmark's peers, idempotently: wrk (Debian), Cerbos (npm), cedarpy (PyPI).
# Run from anywhere; uses the repo's .venv unless PYTHON is set. Safe to run again: each step
# is skipped when its tool is already there in the wanted version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {
  # apt-get needs a fresh package list on a new machine; update once, only when installing.
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# wrk: the compiled load generator (a Python client would compete for the 2 cores).
if ! command -v wrk >/dev/null 2>&1; then
  echo "install_peers: installing wrk (Debian)"
  apt_install wrk
fi
echo "install_peers: $(wrk --version 2>&1 | head -n 1 | cut -c1-40)"

# npm: needed only to fetch Cerbos' binary package.
if ! command -v npm >/dev/null 2>&1; then
  echo "install_peers: installing npm (Debian)"
  apt_install npm
fi

# cedarpy (and anything else the peer side needs) into the project's venv.
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$ROOT/bench/requirements.txt"
echo "install_peers: cedarpy $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("cedarpy"))')"

# Cerbos from npm into the bench cache; skipped when the cached binary has the pinned version.
cd "$ROOT"
CERBOS_BIN="$("$PYTHON" -m bench.peers.cerbos_runner install)"
echo "install_peers: cerbos $("$CERBOS_BIN" --version | head -n 1) at $CERBOS_BIN"
