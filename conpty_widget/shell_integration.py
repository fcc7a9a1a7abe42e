"""Shell integration: bash and zsh started so that they mark their prompts and commands.

As VS Code's terminal does, the shell still reads the user's own startup files, then installs
hooks that print OSC 133 sequences (which terminals do not display): ``A`` where the prompt
starts, ``B`` where input starts, ``C`` before a command's output, ``D;STATUS`` after it.

* bash: ``bash --init-file integration.bash``; that script reads what bash would have read
  (``/etc/bash.bashrc`` and ``~/.bashrc``; for a login shell, ``/etc/profile`` and the first
  of ``~/.bash_profile``, ``~/.bash_login``, ``~/.profile``), then adds the hooks
  (``PROMPT_COMMAND``, ``PS1``, ``PS0``: bash 4.4 or later).
* zsh: ``ZDOTDIR`` names a folder whose ``.zshenv``, ``.zprofile``, ``.zshrc`` and ``.zlogin``
  each read the user's file of the same name (from the user's ``ZDOTDIR``, else ``HOME``);
  ``.zshrc`` then adds the hooks (``precmd_functions``, ``preexec_functions``), and the last
  file read gives ``ZDOTDIR`` back.

* cmd.exe (Windows): ``cmd /k prompt ...`` puts the marks into ``PROMPT`` (``$E]133;A$E\\``
  and so on, as Windows Terminal documents), around the prompt cmd has once its ``AutoRun``
  commands ran (the user's ``PROMPT``, else ``$P$G``; a raw ``&``, ``|``, ``<``, ``>`` in it,
  not written as ``$A``, ``$B``, ``$L``, ``$G``, would break the command). A command, not the environment: Wine's
  cmd ignores a ``PROMPT`` it inherits. ``/k`` leaves out cmd's banner. A prompt cannot show
  an exit status: cmd's ``D`` has none.
* PowerShell (Windows): ``-NoExit -EncodedCommand`` with ``integration.ps1`` (as VS Code runs
  its script with ``-NoExit -Command``), which PowerShell runs after the user's profiles: it
  wraps their ``prompt`` function (A, B, ``D;STATUS`` from ``$?`` and ``$LASTEXITCODE``) and
  PSReadLine's line reader (C). The script's text, not its path: no execution policy blocks
  it, no quoting of the path can break it.

Windows' own ConPTY passes these marks on, but flushes each ahead of the text written with it
(a known ConPTY behaviour, mended only in ConPTY builds newer than Windows' own); Wine's
console passes them in place. So on Windows ``run()`` keeps its text markers
(``conpty_widget/scripting.py``), and only PowerShell's C mark (a command runs) counts.

A shell started with other arguments (``--norc``, ``-f``, a script, ``-c``, ``/k``,
``-NoProfile``) is started as it is, without integration.

``Terminal(prompt=...)`` (``with_prompt``) gives the shell a plain prompt once the user's startup
files have run, and clears what they printed, so that the screen does not depend on the user,
the machine or the folder: the text travels in ``CONPTY_WIDGET_PROMPT``, which the scripts
above read and remove (bash ``PS1``, zsh ``PS1`` without a right prompt, PowerShell's
``prompt``); cmd.exe gets it in its ``prompt`` command; sh and other POSIX shells
(``dash``, ``ksh``...) read ``prompt.sh`` as the file named by ``ENV`` (read after the
profile; it reads the user's own ``ENV`` file first), and are not cleared (``prompt.sh``).
"""

from __future__ import annotations

import atexit
import base64
import functools
import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence

_HERE = pathlib.Path(__file__).parent / "shell"
_FLAGS = {"-l", "--login", "-i"}
_ZSH_STAGES = ("zshenv", "zprofile", "zshrc", "zlogin")
_PS_FLAGS = {"-nologo"}
#: cmd's PROMPT codes: $E is ESC, and ESC \ ends an OSC (cmd has no code for BEL).
_CMD_MARKS = ("$E]133;D$E\\$E]133;A$E\\", "$E]133;B$E\\")
#: The variable that carries ``prompt=`` to the shell's startup scripts.
PROMPT_VAR = "CONPTY_WIDGET_PROMPT"
#: POSIX shells other than bash and zsh that read ``ENV`` when interactive.
_ENV_SHELLS = {"sh", "dash", "ash", "ksh", "mksh", "yash"}
#: cmd's PROMPT codes for characters its command line would take as its own.
_CMD_CODES = {"$": "$$", " ": "$S", "&": "$A", "|": "$B", "<": "$L", ">": "$G", "(": "$C", ")": "$F", "=": "$Q"}


def with_prompt(env: Mapping[str, str | None] | None, prompt: str | None) -> dict[str, str | None]:
    """``env`` carrying ``prompt`` to ``inject`` (``Terminal(prompt=...)``); ``prompt=None``: as it is.

    Raises ``TypeError`` or ``ValueError`` for what no shell could show as it is written."""
    env = dict(env or {})
    if prompt is None:
        return env
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str or None, not {type(prompt).__name__}")
    if not prompt or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in prompt):
        raise ValueError(f"prompt must be non-empty text without control characters, not {prompt!r}")
    env[PROMPT_VAR] = prompt
    return env


def inject(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start ``argv`` with shell integration, when it is
    bash or zsh with no arguments but ``-l``, ``--login``, ``-i`` (POSIX), cmd.exe alone or
    PowerShell with no arguments but ``-NoLogo`` (Windows); else ``argv`` and ``env``. With
    ``PROMPT_VAR`` in ``env`` (``with_prompt``), also sh and the like; ``ValueError`` for a
    shell that cannot take it."""
    argv, env = list(argv), dict(env)
    kind = integration(argv)
    prompt = env.get(PROMPT_VAR)
    if prompt is not None and kind is None:
        return _env_prompt(argv, env)
    if kind is None:
        return argv, env
    if kind == "cmd" and prompt is not None:
        before, after = _CMD_MARKS
        del env[PROMPT_VAR]
        return [argv[0], "/k", "prompt", f"{before}{_cmd_prompt(prompt)}{after}&", "cls"], env
    if kind == "cmd":
        if any(k.upper() == "PROMPT" and "133;" in v for k, v in env.items()):
            return argv, env  # marks of the user's own, as Windows Terminal suggests: kept
        before, after = _CMD_MARKS
        # Words without spaces, so that the command line is exactly this (list2cmdline quotes none).
        line = f"if defined PROMPT prompt {before}%PROMPT%{after}& if not defined PROMPT prompt {before}$P$G{after}"
        return [argv[0], "/k", *line.split(" ")], env
    if kind == "powershell":
        script = (_HERE / "integration.ps1").read_text(encoding="utf-8")
        return [*argv, "-NoExit", "-EncodedCommand", base64.b64encode(script.encode("utf-16-le")).decode()], env
    if kind == "bash":
        if set(argv[1:]) & {"-l", "--login"}:  # a login shell ignores --init-file: the script reads the profile
            env["CONPTY_WIDGET_LOGIN"] = "1"
        return [argv[0], "--init-file", str(_HERE / "integration.bash")], env
    if "ZDOTDIR" in env:
        env["CONPTY_WIDGET_ZDOTDIR"] = env["ZDOTDIR"]
    env["ZDOTDIR"] = _zdotdir()
    return argv, env


def shell_name(argv: Sequence[str]) -> str:
    """The name of the terminal's program, lower case, without folder or ``.exe``."""
    name = os.path.basename(argv[0]).lower() if argv else ""
    # ntpath.basename also splits on "/", posixpath not on "\\": handle Windows paths anywhere.
    name = name.rsplit("\\", 1)[-1]
    return name[:-4] if name.endswith(".exe") else name


def _env_prompt(argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """sh and other POSIX shells given ``prompt=``: ``prompt.sh`` as their ``ENV`` file."""
    name = shell_name(argv)
    if os.name != "posix" or name not in _ENV_SHELLS or not set(argv[1:]) <= _FLAGS:
        raise ValueError(
            f"prompt= needs bash, zsh, sh (dash, ksh...), cmd.exe or PowerShell started without "
            f"arguments (but -l, -i; PowerShell's -NoLogo), not {subprocess.list2cmdline(argv)!r}"
        )
    if env.get("ENV"):
        env["CONPTY_WIDGET_ENV"] = env["ENV"]
    env["ENV"] = str(_HERE / "prompt.sh")
    return argv, env


def _cmd_prompt(prompt: str) -> str:
    """``prompt`` in cmd's PROMPT codes, one word (list2cmdline quotes none)."""
    bad = set(prompt) & set('%^"')
    if bad:
        raise ValueError(f"cmd.exe cannot show {''.join(sorted(bad))!r} in a prompt set on its command line")
    return "".join(_CMD_CODES.get(c, c) for c in prompt)


def integration(argv: Sequence[str]) -> str | None:
    """The integration ``inject`` gives ``argv``: ``"bash"``, ``"zsh"``, ``"cmd"``,
    ``"powershell"``, or None."""
    name = shell_name(argv)
    if os.name == "posix" and name in ("bash", "zsh") and set(argv[1:]) <= _FLAGS:
        return name
    if os.name == "nt" and name == "cmd" and len(argv) == 1:
        return "cmd"
    if os.name == "nt" and name in ("powershell", "pwsh") and {a.lower() for a in argv[1:]} <= _PS_FLAGS:
        return "powershell"
    return None


def integrates(argv: Sequence[str]) -> bool:
    """Whether ``argv`` marks its prompts where run() can rely on them, to type only the command
    (bash and zsh with integration)."""
    return integration(argv) in ("bash", "zsh")


@functools.cache
def _zdotdir() -> str:
    """A folder of zsh startup files that source integration.zsh, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="conpty-widget-zsh-")
    atexit.register(shutil.rmtree, folder, True)
    script = str(_HERE / "integration.zsh").replace("'", "'\\''")
    for stage in _ZSH_STAGES:
        pathlib.Path(folder, "." + stage).write_text(f"source '{script}' {stage}\n")
    return folder
