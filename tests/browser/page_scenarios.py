"""Browser scenarios written once, run for each shell and kernel they apply to: bash in the Linux
kernel (tests/browser) and cmd.exe in a Windows kernel under Wine (tests/windows_kernel).
Each function is one scenario a user goes through; the shell is its parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.wait import poll

from .jupyter_page import BASH, IMPORT, Notebook, Server, TermView, terminal_states


@dataclass(frozen=True)
class Shell:
    """A shell in a kernel, as a page scenario needs it."""

    name: str
    #: the expression that makes the Terminal
    terminal: str
    kernel: str
    #: the regular expression of the prompt at the end of the screen
    prompt: str
    #: an expression the shell expands in ``echo``, and what it expands to: typed text never matches its answer
    expansion: str
    expanded: str
    #: how long the first prompt may take (a Windows kernel under Wine starts slowly)
    start_timeout: float = 30
    #: how long its kernel may take to start and answer (a hang guard: Notebook.idle_timeout)
    kernel_start: float = 60

    def cell(self) -> str:
        return f"{IMPORT}\nt = {self.terminal}\nt"

    def echo(self, word: str) -> str:
        """The command that prints ``word`` and the expansion."""
        return f"echo {word}-{self.expansion}"

    def line(self, word: str) -> str:
        """The line ``echo(word)`` prints, as a regular expression for one line."""
        return re.escape(f"{word}-{self.expanded}")

    def answer(self, word: str) -> str:
        """The line ``echo(word)`` prints, as a whole line of the screen."""
        return rf"(?m)^{self.line(word)}$"


BASH_SHELL = Shell("bash", BASH, "python3", r"\$ $", "$((6*7))", "42")


def start(notebook: Notebook, shell: Shell, name: str, *cells: str) -> TermView:
    """Open a notebook whose first cell shows ``shell``'s terminal ``t``; run that cell; focus the terminal."""
    path = notebook.server.notebook(f"{name}-{shell.name}-{notebook.app}", shell.cell(), *cells, kernel=shell.kernel)
    notebook.idle_timeout = shell.kernel_start
    notebook.open(path)
    notebook.run_cell(0)
    term = notebook.terminal()
    term.wait_for(shell.prompt, timeout=shell.start_timeout)
    term.click()
    return term


def say(term: TermView, shell: Shell, word: str) -> None:
    term.run(shell.echo(word))
    term.wait_for(shell.answer(word))


def renders_takes_keys_and_exits(notebook: Notebook, shell: Shell) -> None:
    """Render, type; focus leaves and comes back; Backspace; ``exit 3``: the output is the last
    screen with the exit banner, and no view is left to take input."""
    term = start(notebook, shell, "keys")
    kernel = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name"
    assert notebook.page.evaluate(kernel) == shell.kernel
    say(term, shell, "hi")
    # No focus report may reach the shell as text (a shell that asks for them consumes them).
    notebook.page.locator(".jp-InputArea-editor").first.click()
    term.click()
    say(term, shell, "focus")
    assert "[I" not in term.text() and "[O" not in term.text(), term.text()
    # Backspace: xterm.js sends DEL, which the shell takes as erasing a character.
    term.type("echo bx")
    notebook.page.keyboard.press("Backspace")
    term.run(f"s-{shell.expansion}")
    term.wait_for(shell.answer("bs"))
    term.run("exit 3")
    text = notebook.last_screen()
    assert "bs-" + shell.expanded in text and "[process exited with code 3]" in text, text
    assert notebook.page.locator(".conpty-widget").count() == 0


def interrupting_a_busy_cell_while_typing(notebook: Notebook, shell: Shell) -> None:
    """A cell sleeps; the terminal still answers; a half-typed line survives the kernel's interrupt
    (it reaches the kernel, not the shell)."""
    # Short sleeps: see harness/kernel_scenarios.py (a signal just before a long sleep waits it out).
    term = start(notebook, shell, "interrupt", "import time\nprint('sleeping')\nwhile True:\n    time.sleep(0.1)")
    notebook.run_cell(1)
    output = notebook.page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
    poll("the busy cell to start", lambda: "sleeping" in output.inner_text(), timeout=60)
    term.click()
    say(term, shell, "busy")
    term.type("echo typed-before-")
    notebook.command("notebook:interrupt-kernel")
    poll("the cell to be interrupted", lambda: "KeyboardInterrupt" in output.inner_text(), timeout=60)
    term.click()
    term.run(f"interrupt-{shell.expansion}")
    term.wait_for(shell.answer("typed-before-interrupt"))


def reload_restores_the_screen(notebook: Notebook, shell: Shell, views: int = 1) -> None:
    """``views`` views of one Terminal agree; after a save and a reload every view shows the
    screen again, and typing in one shows in all."""
    term = start(notebook, shell, f"reload{views}", *["t"] * (views - 1))
    for k in range(1, views):
        notebook.run_cell(k)
    shown = [term, *(notebook.terminal(k) for k in range(1, views))]
    for k, view in enumerate(shown):
        view.click()
        view.run(shell.echo(f"view{k}"))
        for other in shown:
            other.wait_for(shell.answer(f"view{k}"))
    poll("all views to show the same screen", lambda: len({view.text() for view in shown}) == 1)

    notebook.command("docmanager:save")
    poll("the notebook to be saved", lambda: notebook.page.evaluate(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty"
    ))  # fmt: skip
    notebook.reload_and_restore_widgets()
    lines = r"\n(.*\n)*".join(shell.line(f"view{k}") for k in range(views))
    shown = [notebook.terminal(k) for k in range(views)]
    for view in shown:
        view.wait_for(rf"(?m)^{lines}$")
    shown[0].click()
    shown[0].run(shell.echo("reloaded"))
    for view in shown:
        view.wait_for(shell.answer("reloaded"))


def the_saved_screen_shows_without_the_kernel(page: Any, server: Server, shell: Shell) -> None:
    """In JupyterLab, with widget state saved: an open view keeps the saved screen current (the
    kernel never looks at what is typed in the page), without the direct path's token; once the
    kernel is gone, the reloaded notebook shows that screen."""
    notebook = Notebook(page, server, "lab")
    term = start(notebook, shell, "saved")
    say(term, shell, "typed")
    typed = f"typed-{shell.expanded}"
    file = server.root / f"saved-{shell.name}-lab.ipynb"

    def saved() -> bool:
        notebook.command("docmanager:save")
        try:
            return any(typed in s["_snapshot"] for s in terminal_states(file))
        except KeyError:  # not saved with widget state yet
            return False

    poll("the saved widget state to hold the typed line", saved, timeout=30, interval=1.0)
    # The direct path's token is not saved (a page loaded later asks the live kernel for it).
    assert all(set(s["_direct"]) <= {"name", "terminal"} for s in terminal_states(file))
    server.shutdown_kernels()
    notebook.reload_and_restore_widgets()
    output = page.locator(".jp-OutputArea-output").first
    poll("the saved screen in the output", lambda: typed in output.inner_text(), timeout=60)
