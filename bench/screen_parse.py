"""How long the kernel's screen model takes to catch up on a flood: what a view attached during a
flood, or a saved screen, waits for (the model parses at most the last REPARSE_MAX bytes).

    .venv/bin/python bench/screen_parse.py [label]
"""

from __future__ import annotations

import sys
import time

from conpty_widget.output import OutputLog
from conpty_widget.screen import ScreenModel

DATA = b"flood-line\r\n" * (256 * 1024 // 12) + b"\x1b[1;31mred words and more \x1b[0m plain text " * 2000


def main() -> None:
    best = float("inf")
    for _ in range(3):
        log = OutputLog(24, 80, keep=1 << 20)
        log.append(DATA)
        model = ScreenModel(log.since, 24, 80)
        start = time.perf_counter()
        model.update()
        best = min(best, time.perf_counter() - start)
    label = sys.argv[1] if len(sys.argv) > 1 else "screen_parse"
    print(f"{label}: parse of {len(DATA) // 1024} KiB, best of 3: {best:.2f} s")


if __name__ == "__main__":
    main()
