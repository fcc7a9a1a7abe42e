"""Terminal(prompt=...) in cmd.exe through a real pseudoconsole (Windows, or Wine): the plain prompt
replaces the user's, after cmd's AutoRun, and run() works at it."""

from __future__ import annotations

from conpty_widget import Terminal


def test_cmd_shows_the_plain_prompt_and_runs_at_it():
    with Terminal("cmd.exe", env={"PROMPT": "user$S$P$G"}, prompt="$ (cw) ", rows=10, cols=60) as t:
        t.wait_for(r"\$ \(cw\) $", timeout=60)  # the screen was cleared: only the plain prompt
        r = t.run("echo hello", timeout=60)
        assert (r.output, r.exit_code) == ("hello\n", 0)
        t.wait_for(r"\$ \(cw\) $", timeout=60)
        text = t.screen_text()
    assert "user " not in text and ">" not in text.replace("> ", "")  # not the user's prompt, nor cmd's $P$G
    lines = [line for line in text.splitlines() if line]  # cmd puts a blank line before its prompts
    # The first prompt, run()'s command line (its markers show in cmd), the output, the prompt again.
    assert lines[0].startswith("$ (cw) ") and "hello" in lines and lines[-1] == "$ (cw)"
