"""The kernel's screen model against xterm.js itself (@xterm/headless with the unicode11 addon,
as the view loads it, under Node): on generated output (text, controls, C1 controls, CSI, OSC, DCS,
SOS, PM and APC strings, queries, malformed sequences; read in pieces), the model shows what xterm.js
shows, cell by cell, with the same title, the session answers the queries xterm.js answers, the
same way, and the snapshot a new view starts from makes xterm.js show the screen again."""

import ast
import base64
import functools
import pathlib
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conpty_widget import _unicode11
from conpty_widget.screen import QueryScanner, ScreenModel, _charsets, answer
from conpty_widget.screen.cells import char_width, line_text

from .conftest import Xterm

HERE = pathlib.Path(__file__).resolve().parent
JS = HERE.parent / "js" / "node_modules" / "@xterm"
ROWS, COLS = 5, 10


@pytest.fixture(scope="module")
def xterm():
    x = Xterm(ROWS, COLS)
    yield x
    x.close()


def model(data: bytes, rows: int = ROWS, cols: int = COLS) -> ScreenModel:
    m = ScreenModel(lambda offset: (0, data, []), rows, cols)
    m.update()
    return m


def headless(data: bytes, splits: list[int]) -> tuple[ScreenModel, bytes]:
    """The model and the session's answers (as with no view), ``data`` read in pieces cut at ``splits``."""
    m = ScreenModel(lambda offset: (0, data, []), ROWS, COLS)
    scanner = QueryScanner()
    replies = []
    cuts = [0, *sorted(set(splits)), len(data)]
    for start, end in zip(cuts, cuts[1:]):
        for query, at in scanner.scan(data[start:end], start):
            replies.append(answer(query, functools.partial(model_at, m, at)))
        m.update(upto=end)
    return m, b"".join(replies)


def model_at(m: ScreenModel, offset: int) -> ScreenModel:
    m.update(upto=offset)
    return m


def color(c) -> str:
    if c is None:
        return "d"
    kind, value = c
    return f"{kind}:{value:06x}" if kind == "rgb" else f"{kind}:{value}"


_FLAGS = (("bold", "bold"), ("dim", "dim"), ("italics", "italic"), ("underscore", "underline"),
          ("blink", "blink"), ("reverse", "inverse"), ("hidden", "invisible"), ("strikethrough", "strike"),
          ("overline", "overline"))


def model_cells(m: ScreenModel) -> list[list[list]]:
    """The model's screen in the form tests/xterm_screen.mjs gives xterm's."""
    s = m._screen
    rows = []
    for y in range(s.lines):
        line = s.buffer[y]
        row = []
        for x in range(s.columns):
            c = line[x]
            width = char_width(ord(c.data[0])) if c.data else 0
            flags = ",".join(name for attr, name in _FLAGS if getattr(c, attr))
            row.append([c.data if c.written else "", width, color(c.fg), color(c.bg), flags])
        rows.append(row)
    return rows


def normal(cells: list[list[list]]) -> list[list[tuple]]:
    """What a snapshot must reproduce: a blank cell (never printed to, or the second half of a wide
    character whose first half was overwritten) shows its background colour only."""
    out = []
    for row in cells:
        out.append([])
        for x, (chars, width, *attrs) in enumerate(row):
            orphan = width == 0 and not chars and not (x and row[x - 1][1] == 2)
            if orphan or (not chars and width):  # a blank: its background colour is what shows
                out[-1].append((" ", 1, "d", attrs[1], ""))
            else:
                out[-1].append((chars, width, *attrs))
    return out


def text(lines: list[str]) -> list[str]:
    return [line.rstrip() for line in lines]


TEXT = ["a", "bc", " ", "é", "e\u0301", "\u0301", "\u0308", "漢", "字", "❤", "\ufe0f", "\u200d", "\u200b",
        "👨", "👩", "🫠", "\u1100", "\u0e31", "Ω"]
CONTROLS = ["\r", "\n", "\r\n", "\b", "\t"]
SGR_CODES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "3", "4", "5", "7", "8", "9", "22", "23", "24", "25", "27", "28", "29",
                     "53", "55", "39", "49", "31", "42", "95", "103", "37", "40"]),
    st.integers(0, 255).map(lambda n: f"38;5;{n}"),
    st.integers(0, 255).map(lambda n: f"48;5;{n}"),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(lambda c: "38;2;%d;%d;%d" % c),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(lambda c: "48;2;%d;%d;%d" % c),
)
SGR = st.lists(SGR_CODES, min_size=1, max_size=3).map(lambda codes: "\x1b[" + ";".join(codes) + "m")
COUNT = st.sampled_from(["", "1", "2", "3", "9"])
CSI = st.one_of(
    st.tuples(COUNT, st.sampled_from("ABCD")).map(lambda t: f"\x1b[{t[0]}{t[1]}"),
    st.tuples(st.integers(1, ROWS), st.integers(1, COLS + 1)).map(lambda t: "\x1b[%d;%dH" % t),
    st.sampled_from(["\x1b[K", "\x1b[1K", "\x1b[2K", "\x1b[J", "\x1b[1J", "\x1b[2J", "\x1b[H"]),
    st.tuples(COUNT, st.sampled_from("X@PLM")).map(lambda t: f"\x1b[{t[0]}{t[1]}"),
    st.sampled_from(["\x1b[?1049h", "\x1b[?1049l", "\x1b[?7l", "\x1b[?7h", "\x1b[2;4r", "\x1b[r", "\x1bM"]),
)
# Strings: what they hold is never printed; C0 controls and non-ASCII inside them, and every
# way they end (ST, C1 ST, BEL, CAN, SUB, a C1 control, not at all).
BODY = st.text(st.sampled_from([*"aq+;:09$ \"mr|", "\x07", "\x08", "\n", "\x7f", "é", "漢", "\x1b"]), max_size=8)
END = st.sampled_from(["\x1b\\", "\x9c", "\x07", "\x18", "\x1a", "\x85", ""])
DCS = st.tuples(
    st.sampled_from(["\x1bP", "\x90"]), st.sampled_from(["", "1", "0;1", "?", "1?", "+"]),
    st.sampled_from(["", "$", "+", " ", "$$"]), st.sampled_from(["q", "p", "|", "t", "5"]), BODY, END,
).map("".join)
SOS_PM_APC = st.tuples(st.sampled_from(["\x1bX", "\x1b^", "\x1b_", "\x98", "\x9e", "\x9f"]), BODY, END).map("".join)
OSC = st.tuples(
    st.sampled_from(["\x1b]", "\x9d"]), st.sampled_from(["0", "1", "2", "133", "", "x", "02", "2x"]),
    st.sampled_from([";", ""]), BODY, END,
).map("".join)
C1 = st.sampled_from(["\x84", "\x85", "\x88", "\x8d", "\x9c", "\x80", "\x9b2C", "\x9b1;2H", "\x9b?1049h"])
# What xterm.js answers (and what it does not), with the state the answers report.
QUERIES = st.sampled_from([
    "\x1b[c", "\x1b[0c", "\x1b[1c", "\x1b[>c", "\x1b[>0c", "\x1b[>1c", "\x1b[5n", "\x1b[6n", "\x1b[?6n",
    "\x1b[?5n", "\x9b6n", "\x1b[6\nn", "\x1b[?1$p", "\x1b[4$p", "\x1b[20$p", "\x1b[2$p", "\x1b[?2004$p",
    "\x1b[?1049$p", "\x1b[?25$p", "\x1b[?12$p", "\x1b[?1000$p", "\x1b[?1002$p", "\x1b[?1006$p", "\x1b[?7$p",
    "\x1b[?66$p", "\x1b[?1048$p", "\x1b[?999$p", "\x1bP$qm\x1b\\", "\x1bP$qr\x1b\\", "\x1bP$q q\x1b\\",
    "\x1bP$q\"q\x1b\\", "\x1bP$q\"p\x9c", "\x1bP$qx\x1b\\", "\x1bP1$qm\x1b\\", "\x90$qr\x9c", "\x1bP$qm\x18",
    "\x1b[?1000h", "\x1b[?1002h", "\x1b[?1000l", "\x1b[?1006h", "\x1b[?2004h", "\x1b[?12h", "\x1b[4h",
    "\x1b[4l", "\x1b[20h", "\x1b[?25l", "\x1b=", "\x1b>", "\x1b[2;4r",
])
MALFORMED = st.one_of(
    st.sampled_from(["\x1b[38;2;999;-1;300m", "\x1b[>4;1m", "\x1b[?5A", "\x1b[1;2;3c", "\x1b[ 4 q", "\x1b[38:2::1:2:3m",
                     "\x1b[38:5:100m", "\x1b[48:2:9:8:7m", "\x1b[4:3m", "\x1b[1:2m", "\x1b[38;5m", "\x1b[38;2;1m",
                     "\x1b[38;3;1;2m", "\x1b[99999999999C", "\x1b[" + ";" * 40 + "31m", "\x1b[é", "\x1bé", "\x1b\x1b[",
                     "\x1b[1\x7f;31m", "\x1b#8", "\x1bE", "\x1b(0", "\x7f", "\x00", "\x1b"]),
    st.tuples(st.text(st.sampled_from("0123456789;:?>-$ !\"'<="), max_size=6), st.sampled_from("mHABCJKc@PqX")).map(
        lambda t: f"\x1b[{t[0]}{t[1]}"
    ),
)
CHARSETS = st.sampled_from(["\x1b(0", "\x1b)0", "\x1b(A", "\x1b*0", "\x1b+K", "\x1b(B", "\x1b)B", "\x1b(x", "\x0e", "\x0f",
                           "\x1bn", "\x1bo", "\x1b~", "\x1b%G", "\x1b7", "\x1b8", "\x1b[?2h", "\x1bc", "q{"])
OUTPUT = st.lists(
    st.one_of(st.sampled_from(TEXT), st.sampled_from(CONTROLS), SGR, CSI, DCS, SOS_PM_APC, OSC, C1, QUERIES, MALFORMED,
              CHARSETS),
    max_size=40,
).map(lambda parts: "".join(parts).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OUTPUT, st.lists(st.integers(0, 400), max_size=4))
def test_the_model_shows_what_xterm_shows_and_its_snapshot_shows_it_again(xterm, data: bytes, splits: list[int]):
    expected = xterm.screen(data)
    assume("error" not in expected)  # xterm.js threw (tests/xterm_screen.mjs): nothing to compare with
    m, replies = headless(data, [s for s in splits if s < len(data)])
    assert replies == base64.b64decode(expected["replies"])
    assert m.title == expected["title"]
    scrollback = [line_text(line, COLS) for line in m._screen.scrollback]
    assert text(expected["lines"][-ROWS:]) == m.lines()
    assert expected["cells"] == model_cells(m)
    assert tuple(expected["cursor"]) == m.cursor
    # xterm.js moves the cursor past the last column for a zero-width character alone there:
    # no snapshot can put it back there.
    assume(m.cursor[1] <= COLS)
    restored = xterm.screen(m.ansi().encode())
    assert normal(restored["cells"]) == normal(expected["cells"])
    assert tuple(restored["cursor"]) == m.cursor
    assert text(restored["lines"]) == text(expected["lines"])
    if not expected["alternate"]:  # xterm.js's alternate buffer has no scrollback
        assert scrollback == text(expected["lines"][:-ROWS])


@pytest.mark.parametrize(
    "data,lines",
    [
        # Zero-width characters (a variation selector, a joiner, a zero-width space) eat nothing.
        ("K\u2764\ufe0fL|x\r\na\u200bb|x\r\n", ["K\u2764\ufe0fL|x", "a\u200bb|x"]),
        # Combining marks are kept as written, not precomposed.
        ("e\u0301|x\r\n", ["e\u0301|x"]),
        # An emoji newer than Unicode 11 is one cell, as in the view.
        ("\U0001fae0|x\r\n", ["\U0001fae0|x"]),
    ],
)
def test_zero_width_characters_and_widths(xterm, data, lines):
    expected = xterm.screen(data.encode())
    assert text(expected["lines"][: len(lines)]) == lines
    assert model(data.encode()).lines()[: len(lines)] == lines


def test_dim_overline_and_256_colour_indices_are_saved(xterm):
    data = b"\x1b[2;53;38;5;100;48;5;7mX\x1b[0m \x1b[1;31mR\x1b[0m"
    m = model(data)
    snapshot = m.ansi()
    assert "\x1b[0;2;53;38;5;100;48;5;7mX" in snapshot and "\x1b[0;1;31mR" in snapshot
    assert xterm.screen(snapshot.encode())["cells"][0][0] == ["X", 1, "256:100", "256:7", "dim,overline"]
    assert 'opacity:0.5;text-decoration:overline">X' in m.html()


def test_a_new_view_goes_on_with_the_character_sets_in_use(xterm):
    # G0 is DEC line drawing (as ncurses draws boxes), G1 British, shifted to G1 and back.
    data = b"\x1b(0lqk\x1b)A\x0e#\x0fx"
    m = model(data)
    after = b"\x0ea#\x0fmqj"
    assert text(xterm.screen(m.ansi().encode() + after)["lines"]) == text(xterm.screen(data + after)["lines"])
    assert model(data + after).lines()[0] == "┌─┐£│a£└─┘"


def test_the_width_table_is_the_one_the_view_loads():
    source = (JS / "addon-unicode11" / "src" / "UnicodeV11.ts").read_text()
    for name in ("BMP_COMBINING", "HIGH_COMBINING", "BMP_WIDE", "HIGH_WIDE"):
        body = re.search(rf"const {name} = \[(.*?)\];", source, re.S).group(1)
        ranges = tuple((int(a, 16), int(b, 16)) for a, b in re.findall(r"\[(0x[0-9A-Fa-f]+), (0x[0-9A-Fa-f]+)\]", body))
        assert getattr(_unicode11, name) == ranges, name


def test_the_character_sets_are_the_ones_the_view_uses():
    source = (JS / "xterm" / "src" / "common" / "data" / "Charsets.ts").read_text()
    tables = {}
    for names, body in re.findall(r"((?:CHARSETS\['.'\] =\s*)+)\{(.*?)\};", source, re.S):
        literals = re.findall(r"'((?:\\.|[^'\\])*)': '((?:\\.|[^'\\])*)'", body)
        pairs = {ast.literal_eval(f"'{k}'"): ast.literal_eval(f"'{v}'") for k, v in literals}  # JS and Python escapes agree here
        for name in re.findall(r"CHARSETS\['(.)'\]", names):
            tables[name] = pairs
    assert tables == _charsets.CHARSETS
