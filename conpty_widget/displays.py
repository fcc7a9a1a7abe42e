"""What a terminal leaves in the notebook: its saved screen, and the outputs that show it.

The saved screen is the screen model as ANSI text (the widget's ``_snapshot`` trait, in the widget
state a notebook saves) and as HTML (beside the widget view in the output's mimebundle, for a
notebook shown without a kernel or widget state, e.g. by nbconvert). It is refreshed when the
kernel looks at the screen, not at display time: what a notebook stores depends on what its cells
did, not on timing. Each output that IPython shows the terminal in gets a display id; when the
terminal ends, every one of them becomes its last screen, without the view. Each output's
metadata says which it is: ``{"conpty_widget": {"ended": false}}`` while it shows the running
terminal, ``true`` once it is the last screen (``conpty_widget.pytest_nbval`` compares an output
stored ended once its terminal has ended in the run).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .widget import Terminal

#: The key of the output's metadata that says what it shows (above).
METADATA_KEY = "conpty_widget"
#: Under an ended terminal's last screen: what a reader can do (a notebook opened before its
#: cells run shows its terminals' last screens).
ENDED_NOTE = (
    '<div class="conpty-widget-ended" style="font-size:12px;opacity:0.75;margin-top:2px">'
    "This terminal has ended: run the notebook's cells to start it again.</div>"
)


class Displays:
    """The saved screen of one terminal and the outputs showing it."""

    def __init__(self, terminal: Terminal) -> None:
        self._terminal = terminal
        self._ids: list[str] = []  # display ids of the outputs showing the terminal
        self._ending: threading.Thread | None = None  # turns the outputs into the last screen
        self.html = ""  # the saved screen as HTML, for the output's mimebundle

    def save(self) -> None:
        """Refresh the saved screen (widget state and HTML) from the screen model."""
        terminal = self._terminal
        if not terminal.save_screen:
            return
        model = terminal._session.screen_model()
        self.html = model.html()
        if terminal.comm is not None:
            terminal._snapshot = model.ansi()

    def mimebundle(self, widget_bundle: Callable[[], Any]) -> Any:
        """The output of the terminal: the widget's view (``widget_bundle()``) while it runs,
        only its screen once ended (a view would need the model); and the saved screen as HTML."""
        terminal = self._terminal
        live = terminal.comm is not None and terminal.exit_code is None
        session = terminal.__dict__.get("_session")
        if not live and session is not None and session.exit_code is not None:
            session.wait()  # the exit banner is read: the last screen is final
            self.save()
        bundle = widget_bundle() if live else ({"text/plain": repr(terminal)}, {})
        if not isinstance(bundle, tuple):
            return bundle
        data, metadata = bundle
        if terminal.save_screen and self.html:
            data["text/html"] = self.html if live else self.html + ENDED_NOTE
        return data, {**metadata, METADATA_KEY: {"ended": not live}}

    def show(self) -> None:
        """Display the terminal (a cell's value, ``display()``) with a display id, so that the
        output can become the last screen when the terminal ends."""
        from IPython.display import display

        terminal = self._terminal
        data, metadata = terminal._repr_mimebundle_()
        handle = display(data, metadata=metadata, raw=True, display_id=True)
        if handle is not None and terminal.exit_code is None and terminal.comm is not None:
            self._ids.append(handle.display_id)

    def terminal_exited(self) -> None:
        """The child has exited (called on the session's reader thread): off that thread,
        which reads the exit banner next, every output becomes the last screen, banner shown."""
        pid = self._terminal._session.pid
        self._ending = threading.Thread(target=self._show_last_screen, name=f"conpty-ended-{pid}")
        self._ending.start()

    def _show_last_screen(self) -> None:
        self._terminal._session.wait()
        self._terminal._to_host("showing the last screen", self._end_with_last_screen)

    def _end_with_last_screen(self) -> None:
        self.save()
        self.end()

    def join(self) -> None:
        """Wait until the outputs show the last screen (after ``terminal_exited``)."""
        ending = self._ending
        if ending is not None and ending is not threading.current_thread():
            ending.join()

    def end(self) -> None:
        """Every output showing the terminal becomes its last screen, without the view: a
        notebook saved without widget state (or exported) still shows what the terminal showed.
        The outputs IPython showed it in are updated by display id; the views are also sent
        ``ended`` (js/src/ended.ts), for the outputs a page loaded from a file, which have none."""
        terminal = self._terminal
        data = {"text/plain": repr(terminal)}
        if terminal.save_screen and self.html:
            data["text/html"] = self.html + ENDED_NOTE
        metadata = {METADATA_KEY: {"ended": True}}
        if terminal.comm is not None:
            terminal.send({"type": "ended", "model_id": terminal.model_id, "data": data, "metadata": metadata})
        ids, self._ids = self._ids, []
        if not ids:
            return
        from IPython.display import update_display

        for display_id in ids:
            update_display(data, metadata=metadata, raw=True, display_id=display_id)
