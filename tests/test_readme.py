"""Every Python snippet of the README runs as written: in order, in one real kernel (jupyter_client),
as a reader pasting them into one notebook would, in a folder of its own."""

import pathlib
import re
import sys

import pytest

from harness.protocol_client import start_kernel

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the README's snippets run bash")


def test_the_readme_has_python_snippets():
    assert len(SNIPPETS) >= 5


def test_every_readme_snippet_runs_as_written(tmp_path):
    km, kc = start_kernel(cwd=str(tmp_path))
    try:
        errors: list[str] = []

        def on_output(msg: dict) -> None:
            if msg["msg_type"] == "error":
                errors.append(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(msg["content"]["traceback"])))

        for number, code in enumerate(SNIPPETS, 1):
            reply = kc.execute_interactive(code, timeout=120, output_hook=on_output)
            assert reply["content"]["status"] == "ok", f"README snippet {number}:\n{code}\n" + "\n".join(errors)
        # Every terminal a snippet left open is still a live widget: no snippet ended the kernel.
        reply = kc.execute_interactive("import conpty_widget", timeout=30)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
