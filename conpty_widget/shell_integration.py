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

A shell started with other arguments (``--norc``, ``-f``, a script, ``-c``) is started as it
is, without integration.
"""

from __future__ import annotations

import atexit
import functools
import os
import pathlib
import shutil
import tempfile
from collections.abc import Mapping, Sequence

_HERE = pathlib.Path(__file__).parent / "shell"
_FLAGS = {"-l", "--login", "-i"}
_ZSH_STAGES = ("zshenv", "zprofile", "zshrc", "zlogin")


def inject(argv: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start ``argv`` with shell integration, when it is
    bash or zsh with no arguments but ``-l``, ``--login``, ``-i``; else ``argv`` and ``env``."""
    argv, env = list(argv), dict(env)
    if not integrates(argv):
        return argv, env
    if os.path.basename(argv[0]) == "bash":
        if set(argv[1:]) & {"-l", "--login"}:  # a login shell ignores --init-file: the script reads the profile
            env["CONPTY_WIDGET_LOGIN"] = "1"
        return [argv[0], "--init-file", str(_HERE / "integration.bash")], env
    if "ZDOTDIR" in env:
        env["CONPTY_WIDGET_ZDOTDIR"] = env["ZDOTDIR"]
    env["ZDOTDIR"] = _zdotdir()
    return argv, env


def integrates(argv: Sequence[str]) -> bool:
    """Whether ``inject`` gives ``argv`` shell integration."""
    return os.name == "posix" and bool(argv) and os.path.basename(argv[0]) in ("bash", "zsh") and set(argv[1:]) <= _FLAGS


@functools.cache
def _zdotdir() -> str:
    """A folder of zsh startup files that source integration.zsh, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="conpty-widget-zsh-")
    atexit.register(shutil.rmtree, folder, True)
    script = str(_HERE / "integration.zsh").replace("'", "'\\''")
    for stage in _ZSH_STAGES:
        pathlib.Path(folder, "." + stage).write_text(f"source '{script}' {stage}\n")
    return folder
