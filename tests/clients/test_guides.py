"""The client guides run as written: every example of docs/clients/*.md against a real server, its output as shown.

docs/clients/python.md: each ```python block runs in turn in one namespace (as a reader pastes them
into one session), and what it prints must be the ```text block after it. docs/clients/java.md: its
```java program is compiled with the client and run; its output must be the ```text block after it.
The URL of the guides (http://127.0.0.1:8181) is replaced by the test server's.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
from pathlib import Path

import support

from .conftest import JAVA, ROOT, need_tool

GUIDES = ROOT / "docs" / "clients"
URL = "http://127.0.0.1:8181"


def examples(text: str, language: str) -> list[tuple[str, str]]:
    """(code, expected output) for each ```language block followed by a ```text block."""
    pattern = rf"```{language}\n(.*?)```\s*\n```text\n(.*?)```"
    return [(code, out) for code, out in re.findall(pattern, text, re.DOTALL)]



def test_every_python_example_prints_what_the_guide_shows(server: support.Server) -> None:
    pairs = examples((GUIDES / "python.md").read_text(encoding="utf-8"), "python")
    assert len(pairs) >= 6
    namespace: dict[str, object] = {"__name__": "guide"}
    for code, expected in pairs:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code.replace(URL, server.base), "docs/clients/python.md", "exec"), namespace)  # noqa: S102
        assert printed.getvalue() == expected, code
    pdp = namespace["pdp"]
    pdp.close()  # type: ignore[attr-defined]


def test_the_java_example_prints_what_the_guide_shows(server: support.Server, tmp_path: Path) -> None:
    javac, java = need_tool("javac"), need_tool("java")
    pairs = examples((GUIDES / "java.md").read_text(encoding="utf-8"), "java")
    assert len(pairs) == 1
    code, expected = pairs[0]
    name = re.search(r"public final class (\w+)", code)
    assert name, "the java example is one public final class"
    source = tmp_path / f"{name.group(1)}.java"
    source.write_text(code.replace(URL, server.base), encoding="utf-8")
    classes = tmp_path / "classes"
    client = sorted(str(p) for p in (JAVA / "src" / "main").rglob("*.java"))
    built = subprocess.run([javac, "-Xlint:all", "-Werror", "--release", "17", "-encoding", "UTF-8", "-d",
                            str(classes), *client, str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    ran = subprocess.run([java, "-cp", str(classes), name.group(1)], capture_output=True, text=True,
                         timeout=120, encoding="utf-8")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout == expected
