"""The client guides run as written: every example of docs/clients/*.md against a real server, its output as shown.

docs/clients/python.md: each ```python block runs in turn in one namespace (as a reader pastes them
into one session), and what it prints must be the ```text block after it. docs/clients/java.md: its
```java program is compiled with the client and run; its output must be the ```text block after it.
The URL of the guides (http://127.0.0.1:8181) is replaced by the test server's.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from typing import Any

import pytest
import support

from .conftest import GUIDE_URL, GUIDES, JavaBuild, examples, need_tool

# the Java guide compiles against the same build as test_java_client: on the same worker
pytestmark = pytest.mark.xdist_group("java")


def test_every_python_example_prints_what_the_guide_shows(server: support.Server) -> None:
    pairs = examples((GUIDES / "python.md").read_text(encoding="utf-8"), "python")
    assert len(pairs) >= 6
    namespace: dict[str, Any] = {"__name__": "guide"}
    try:
        for code, expected in pairs:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code.replace(GUIDE_URL, server.base), "docs/clients/python.md", "exec"), namespace)  # noqa: S102
            assert printed.getvalue() == expected, code
    finally:
        if "pdp" in namespace:
            namespace["pdp"].close()


def test_the_java_example_prints_what_the_guide_shows(java_build: JavaBuild) -> None:
    ran = subprocess.run([need_tool("java"), "-cp", str(java_build.classes), java_build.guide_class],
                         capture_output=True, text=True, timeout=120, encoding="utf-8")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout == java_build.guide_output
