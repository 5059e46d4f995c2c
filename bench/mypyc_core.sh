#!/usr/bin/env bash
# The core's hot modules compiled with mypyc: an add-on to measure, not what ships (the package stays
# pure Python). Builds a compiled copy of the package in OUT and runs bench/core_bench.py against it.
#
#     bench/mypyc_core.sh [OUT] [core_bench arguments ...]     # OUT defaults to build/mypyc
#
# Every module of the request-to-verdict path is compiled, core/readers.py included.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(realpath -m "${1:-build/mypyc}")
shift || true
rm -rf "$out" && mkdir -p "$out" && cp -r src/poortwachter "$out/"
modules=(readers request youth_care facts calendar decide catalog routing declared_facts verdict answer policy/evaluate
         policy/compile)
cd "$out"
"$root/.venv/bin/mypyc" $(printf "poortwachter/core/%s.py " "${modules[@]}") >/dev/null
for m in "${modules[@]}"; do rm "poortwachter/core/$m.py"; done  # only the compiled module is importable
cd "$root"
PYTHONPATH="$out" .venv/bin/python -c "import poortwachter.core.facts as f; assert f.__file__.endswith('.so'), f.__file__"
PYTHONPATH="$out" exec .venv/bin/python bench/core_bench.py "$@"
