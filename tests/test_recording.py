"""Recording a terminal as an asciicast v2 (conpty_widget/recording.py), headless: a real bash in
a real pty; the saved cast, written into @xterm/headless, shows what the live terminal shows."""

import json
import os
import sys

import pytest

from conpty_widget import Terminal
from conpty_widget.recording import EVENT_OVERHEAD, TRUNCATED, Recording, Replay

from .conftest import PROMPT, Xterm, bash_argv

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pty")

ENV = {"PS1": "$ ", "HISTFILE": os.devnull}


@pytest.fixture
def term():
    t = Terminal(bash_argv(), env=ENV)
    t.expect(PROMPT, timeout=10)
    yield t
    t.close()


def typed(t: Terminal, line: str, shown: str) -> None:
    """Type ``line`` and Enter; wait for ``shown`` (a regex) on the screen and the prompt after it."""
    t.write(line + "\r")
    t.wait_for(shown, timeout=20)
    t.wait_for(r"(?m)^\$\s*\Z", timeout=20)


def output(rec: Recording) -> str:
    return "".join(text for _t, kind, text in rec.events if kind == "o")


def test_output_with_monotonic_times_and_resizes_input_off(term) -> None:
    rec = term.record()
    typed(term, "echo rec-$((6*7))", r"(?m)^rec-42$")
    term.resize(10, 50)
    typed(term, "stty size", r"(?m)^10 50$")
    assert term.stop_recording() is rec
    times = [t for t, _kind, _text in rec.events]
    assert times == sorted(times) and times[0] >= 0 and rec.duration == times[-1]
    kinds = {kind for _t, kind, _text in rec.events}
    assert kinds == {"o", "r"}  # no input: it is off by default
    assert [text for _t, kind, text in rec.events if kind == "r"][-1] == "50x10"
    assert "rec-42" in output(rec) and "10 50" in output(rec)
    assert rec.header["version"] == 2 and (rec.header["width"], rec.header["height"]) == (80, 24)
    assert rec.header["env"]["TERM"] == "xterm-256color" and rec.state == "stopped"
    # Stopped: later output is not recorded.
    count = rec.count
    typed(term, "echo after-$((6*7))", r"(?m)^after-42$")
    assert rec.count == count and "after-42" not in output(rec)


def test_input_is_recorded_when_asked(term) -> None:
    rec = term.record(input=True)
    typed(term, "echo in-$((6*7))", r"(?m)^in-42$")
    rec = term.stop_recording()
    assert "".join(text for _t, kind, text in rec.events if kind == "i") == "echo in-$((6*7))\r"


def test_a_character_split_across_reads_is_one_character() -> None:
    rec = Recording(80, 24)
    for piece in (b"a\xe2", b"\x82", b"\xacb\xf0\x9f", b"\x98\x80"):
        rec("o", piece, rec._start + 0.1)
    rec("o", b"\xe2\x82", rec._start + 0.2)  # cut off by the end of the recording
    rec.stop()
    assert output(rec) == "a€b😀\ufffd"


def test_a_character_split_across_reads_in_a_real_pty(term) -> None:
    rec = term.record()
    reads: list[bytes] = []  # the session's reads, as the recorder got them
    _offset, stop = term._session.observe(lambda kind, data, _t: reads.append(data) if kind == "o" else None)
    # The euro sign's first byte, a pause (the reader gets it alone), then the rest.
    typed(term, r"printf '\342'; sleep 0.3; printf '\202\254-%s\n' $((6*7))", r"(?m)^€-42$")
    stop()
    rec = term.stop_recording()
    assert any(read.endswith(b"\xe2") for read in reads)  # the character was split between reads
    pieces = [text for _t, kind, text in rec.events if kind == "o"]
    assert "€-42" in "".join(pieces) and "\ufffd" not in "".join(pieces)


def test_the_cap_stops_the_recording_and_marks_it(term) -> None:
    rec = term.record(max_bytes=20_000)
    typed(term, "head -c 300000 /dev/zero | tr '\\0' a; echo; echo done-$((6*7))", r"(?m)^done-42$")
    assert rec.truncated and not rec.active and rec.state == "truncated"
    assert rec.size <= 20_000
    assert rec.events[-1][1:] == ("m", TRUNCATED)
    assert term.stop_recording() is rec  # stop_recording() still ends it
    assert "truncated" in repr(rec)
    cast = rec.cast().splitlines()
    assert [json.loads(line)[1] for line in cast[1:]][-1] == "m"


def test_a_screen_bigger_than_the_cap_is_not_kept(term) -> None:
    typed(term, "seq 1 30", r"(?m)^30$")
    rec = term.record(max_bytes=64)
    assert rec.truncated and rec.events == [(0.0, "m", TRUNCATED)]
    assert term.stop_recording() is rec


def test_a_recording_to_a_file_is_written_as_it_goes(term, tmp_path) -> None:
    path = tmp_path / "flood.cast"
    rec = term.record(path, max_bytes=None)
    typed(term, "head -c 2000000 /dev/zero | tr '\\0' a; echo; echo done-$((6*7))", r"(?m)^done-42$")
    assert rec.active and path.stat().st_size > 1_900_000  # written while recording...
    assert sum(len(text) + EVENT_OVERHEAD for _t, _k, text in rec._events) < 2 * 64 * 1024  # ...not kept in memory
    term.stop_recording()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    events = [json.loads(line) for line in lines[1:]]
    assert sum(text.count("a") for _t, kind, text in events if kind == "o") >= 2_000_000
    assert rec.events == [tuple(e) for e in events]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_stops_the_recording_and_says_why(term) -> None:
    rec = term.record("/dev/full", max_bytes=None)
    typed(term, "head -c 200000 /dev/zero | tr '\\0' a; echo; echo full-$((6*7))", r"(?m)^full-42$")
    assert not rec.active and "No space" in rec.error
    assert term.stop_recording() is rec and "No space" in rec.error


def test_close_completes_a_recording_to_a_file(tmp_path) -> None:
    path = tmp_path / "closed.cast"
    t = Terminal(bash_argv(), env=ENV, record=path)
    t.expect(PROMPT, timeout=10)
    typed(t, "echo closing-$((6*7))", r"(?m)^closing-42$")
    t.close()
    assert "closing-42" in path.read_text()
    assert t.stop_recording().path == path and t.recording.state == "stopped"


def test_bad_input_gets_a_clear_error(term, tmp_path) -> None:
    with pytest.raises(RuntimeError, match="not recording"):
        term.stop_recording()
    with pytest.raises(RuntimeError, match="nothing recorded"):
        term.save_cast(tmp_path / "x.cast")
    with pytest.raises(OSError, match="no-such-dir"):
        term.record(tmp_path / "no-such-dir" / "x.cast")
    with pytest.raises(IsADirectoryError):
        term.record(tmp_path)
    with pytest.raises(ValueError, match="needs a cap"):
        term.record(max_bytes=None)
    with pytest.raises(ValueError, match="max_bytes"):
        term.record(max_bytes=0)
    with pytest.raises(TypeError, match="record takes"):
        Terminal(bash_argv(), record=3)  # type: ignore[arg-type]
    term.record()
    with pytest.raises(RuntimeError, match="already recording"):
        term.record()
    term.stop_recording()
    with pytest.raises(RuntimeError, match="not recording"):
        term.stop_recording()
    (tmp_path / "bad.cast").write_text('{"version": 1}\n')
    with pytest.raises(ValueError, match="not an asciicast v2"):
        Recording.load(tmp_path / "bad.cast")
    (tmp_path / "bad.cast").write_text('{"version": 2, "width": 80, "height": 24}\n[1, "o"]\n')
    with pytest.raises(ValueError, match="line 2"):
        Recording.load(tmp_path / "bad.cast")
    term.close()
    with pytest.raises(RuntimeError, match="ended"):
        term.record()


def test_the_saved_cast_replays_to_the_live_screen(term, tmp_path) -> None:
    # Started mid-session: the cast begins with the screen as it was.
    typed(term, "echo before-$((6*7))", r"(?m)^before-42$")
    term.record()
    typed(term, r"printf '\033[1;31mred\033[0m é€ 😀 %s\n' $((6*7))", r"(?m)^red é€ 😀 42$")
    typed(term, "seq 1 30", r"(?m)^30$")  # scrolls
    saved = term.save_cast(tmp_path / "s.cast")  # while recording: what is recorded so far
    assert saved == tmp_path / "s.cast"
    lines = saved.read_text(encoding="utf-8").splitlines()
    header, events = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]  # every line is JSON
    data = "".join(text for _t, kind, text in events if kind == "o").encode()
    xterm = Xterm()
    try:
        shown = xterm.screen(data, rows=header["height"], cols=header["width"])
    finally:
        xterm.close()
    assert [line.rstrip() for line in shown["lines"][-header["height"]:]] == term.screen_lines()
    term.stop_recording()


def test_a_recording_displays_as_a_replay(term, tmp_path) -> None:
    rec = term.record(title="demo")
    typed(term, "echo shown-$((6*7))", r"(?m)^shown-42$")
    term.stop_recording()
    data = rec._repr_mimebundle_()
    assert set(data) == {"text/plain", "text/html"}  # the static player: no widget to lose
    assert data["text/plain"] == "Recording(80x24, input=False, stopped)"  # the same every run
    html = data["text/html"]
    assert '<script type="module">' in html and "conpty-player-static" in html
    assert "shown-42" in html and "</script>" not in html.split('class="conpty-cast">')[1].split("</script>")[0]
    assert "conpty-widget-screen" in html  # the last screen, where scripts do not run
    replay = rec.replay(speed=2)
    assert replay.cast == rec.cast() and replay.speed == 2 and replay.idle_time_limit == 2.0
    widget, _metadata = replay._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in widget and "conpty-player-static" in widget["text/html"]
    assert widget["text/plain"] == "Replay(Recording(80x24, input=False, stopped))"
    # A saved cast plays again, loaded from its file.
    loaded = Recording.load(rec.save(tmp_path / "d.cast"))
    assert loaded.events == rec.events and loaded.header["title"] == "demo"
    assert Replay(tmp_path / "d.cast").cast == rec.cast()
