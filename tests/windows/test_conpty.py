"""ConPtyProcess with real children: cmd.exe and a Windows python.exe. No mocks."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from conpty_widget.backends import _win32 as w
from conpty_widget.backends.conpty import ConPtyProcess, ConPTYUnavailableError, check_conpty_available
from harness.wait import poll

from .conftest import ENTER, PYTHON, minimal_env, plain, process_alive

WINE = w.wine_version()


def skip_on_wine(reason: str):
    return pytest.mark.skipif(WINE is not None, reason=f"not under Wine ({WINE}): {reason}; runs on real Windows")


def test_conpty_is_available():
    check_conpty_available()  # Windows 10 1809+ (Wine 8 reports build 18362 or 19043)
    assert issubclass(ConPTYUnavailableError, OSError)


def test_default_shell_is_comspec():
    shell = ConPtyProcess.default_shell()
    assert shell == [os.environ["COMSPEC"]]
    assert shell[0].lower().endswith("cmd.exe")


def test_cmd_input_and_echo(spawn):
    proc, out = spawn(ConPtyProcess.default_shell())
    assert proc.pid > 0 and proc.exit_code is None
    out.expect(r">")  # the prompt
    proc.write(f"echo conpty%PROCESSOR_ARCHITECTURE:~0,0%-echo-works{ENTER}".encode())
    out.expect(r"echo conpty%PROCESSOR_ARCHITECTURE:~0,0%-echo-works")  # the typed line, echoed
    out.expect(r"\nconpty-echo-works")  # cmd's output (the variable substring is empty)
    assert proc.wait(0.1) is None  # still running
    proc.write(f"exit 0{ENTER}".encode())
    assert proc.wait(20) == 0
    out.wait_eof()
    assert proc.read() == b""


def test_python_child_input(spawn):
    proc, out = spawn([PYTHON, "-c", "x = input('name? '); print('got[' + x + ']')"])
    out.expect(r"name\?")
    proc.write(f"world{ENTER}".encode())
    out.expect(r"got\[world\]")
    assert proc.wait(20) == 0
    out.wait_eof()


@pytest.mark.parametrize(
    "argv, code",
    [
        (["cmd.exe", "/c", "exit 0"], 0),
        (["cmd.exe", "/c", "exit 3"], 3),
        ([PYTHON, "-c", "raise SystemExit(0)"], 0),
        ([PYTHON, "-c", "raise SystemExit(3)"], 3),
    ],
    ids=["cmd-0", "cmd-3", "python-0", "python-3"],
)
def test_exit_codes_and_eof_after_exit(spawn, argv, code):
    proc, out = spawn(argv)
    assert proc.wait(20) == code
    assert proc.exit_code == code
    out.wait_eof()  # EOF comes after the exit (the waiter closes the pseudoconsole)
    assert proc.read() == b""


def test_cwd_and_env_reach_the_child(spawn, tmp_path):
    script = "import os; print('cwd=' + ascii(os.getcwd())); print('var=' + ascii(os.environ.get('CONPTY_TEST'))); print('other=' + ascii(os.environ.get('CONPTY_NOT_GIVEN')))"
    os.environ["CONPTY_NOT_GIVEN"] = "leak"
    try:
        proc, out = spawn([PYTHON, "-c", script], cwd=str(tmp_path), env=minimal_env(CONPTY_TEST="héllo wörld €"))
        assert proc.wait(20) == 0
        text = out.wait_eof()
    finally:
        del os.environ["CONPTY_NOT_GIVEN"]
    assert f"cwd={ascii(str(tmp_path))}" in text
    assert "var=" + ascii("héllo wörld €") in text
    assert "other=None" in text  # the block replaces the environment, it does not add to it


def test_env_block_sorted_for_cmd(spawn):
    # cmd's SET lists the block in its order; names differing in case are one variable
    proc, out = spawn(["cmd.exe", "/c", "set CONPTY_"], env=minimal_env(CONPTY_B="2", conpty_a="1", CONPTY_c="3"))
    assert proc.wait(20) == 0
    text = out.wait_eof()
    assert [line.split("=")[0] for line in text.split() if line.upper().startswith("CONPTY_")] == [
        "conpty_a",
        "CONPTY_B",
        "CONPTY_c",
    ]


def test_utf8_both_ways(spawn):
    proc, out = spawn([PYTHON, "-c", "print('out:\u00fc\u20ac\u4e2d\U0001F600'); x = input(); print('in:' + ascii(x))"])
    out.expect("out:\u00fc\u20ac\u4e2d")
    proc.write("\u00e9\u20ac\u4e2d\u00df".encode() + ENTER.encode())
    out.expect(r"in:'\\xe9\\u20ac\\u4e2d\\xdf'")
    assert proc.wait(20) == 0
    out.wait_eof()
    assert "out:\u00fc\u20ac\u4e2d".encode() in out.raw  # UTF-8 on the wire


def test_large_output_is_complete(spawn):
    proc, out = spawn([PYTHON, "-c", "for i in range(3000): print('line', i)"])
    assert proc.wait(120) == 0  # a hang guard: Wine's conhost renders a few hundred lines a second
    text = out.wait_eof(120)
    assert "line 2999" in text


def test_large_input_is_complete(spawn):
    script = "n = 0\nwhile True:\n    line = input()\n    if line == 'END':\n        break\n    n += len(line)\nprint('total=%d' % n)"
    proc, out = spawn([PYTHON, "-c", script])
    line = "0123456789" * 40
    proc.write(((line + ENTER) * 200 + "END" + ENTER).encode())  # 80 kB in one write
    out.expect(r"total=80000", timeout=60)
    assert proc.wait(20) == 0


def test_parallel_terminals(spawn):
    procs = [spawn([PYTHON, "-c", f"import time; time.sleep(0.5); print('term-{i}-done')"]) for i in range(4)]
    for i, (proc, out) in enumerate(procs):
        assert proc.wait(30) == 0
        text = out.wait_eof()
        assert f"term-{i}-done" in text
        assert all(f"term-{j}-done" not in text for j in range(4) if j != i)


def test_close_with_unread_output_does_not_hang(spawn):
    proc, _ = spawn([PYTHON, "-c", "while True: print('y' * 100)"], read=False)
    time.sleep(1.0)  # the pipe and the console fill up: nobody reads
    start = time.monotonic()
    proc.close()
    assert time.monotonic() - start < 15
    assert proc.read() == b""
    assert proc.exit_code is not None
    assert not process_alive(proc.pid)


def test_eof_and_errors_after_close(spawn):
    proc, out = spawn(["cmd.exe"])
    out.expect(r">")
    proc.close()
    out.wait_eof(10)
    assert proc.read() == b""
    with pytest.raises(OSError):
        proc.write(b"echo too late\r")
    assert proc.exit_code is not None
    assert proc.wait(0) == proc.exit_code
    proc.close()  # idempotent
    proc.terminate()  # idempotent
    proc.setwinsize(10, 10)  # a no-op once closed


def test_terminate_reaps(spawn):
    proc, out = spawn([PYTHON, "-c", "import time; print('ready'); time.sleep(60)"])
    out.expect("ready")
    proc.terminate()
    assert proc.exit_code == 1
    assert not process_alive(proc.pid)
    out.wait_eof(10)
    proc.terminate()


GRANDCHILD = r"""
import subprocess, sys, time
# DETACHED_PROCESS: the grandchild has no console, so closing the pseudoconsole
# cannot end it: only the Job can.
g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], creationflags=0x00000008)
print('grandchild=%d' % g.pid, flush=True)
if sys.argv[1] == 'stay':
    time.sleep(120)
"""


@pytest.mark.parametrize("parent", ["stay", "exit"])
def test_job_kills_grandchild(spawn, parent):
    proc, out = spawn([PYTHON, "-c", GRANDCHILD, parent])
    pid = int(out.expect(r"grandchild=(\d+)").group(1))
    assert process_alive(pid)
    if parent == "exit":
        assert proc.wait(20) == 0
        out.wait_eof()  # the child's exit ends the output even though the grandchild lives
        assert process_alive(pid)
    proc.close()
    poll(f"the grandchild {pid} to end after close()", lambda: not process_alive(pid))


def test_missing_program_raises_file_not_found():
    name = "conpty-no-such-program-xyz"
    with pytest.raises(FileNotFoundError) as info:
        ConPtyProcess.spawn([name])
    assert name in str(info.value)
    with pytest.raises(FileNotFoundError):
        ConPtyProcess.spawn([r"C:\no\such\dir\prog.exe"])
    with pytest.raises(FileNotFoundError) as info:
        ConPtyProcess.spawn(["cmd.exe"], cwd=r"C:\no\such\dir")
    assert "no" in str(info.value)


def test_spawn_failure_names_the_program_and_leaks_nothing(tmp_path):
    import threading

    bad = tmp_path / "not-a-program.exe"
    bad.write_bytes(b"this is text, not an executable")
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(OSError) as info:
            ConPtyProcess.spawn([str(bad)])
        assert "not-a-program.exe" in str(info.value)
        assert "CreateProcessW" in str(info.value)
    assert threading.active_count() == before


def test_batch_file_runs_through_cmd(spawn, tmp_path):
    bat = tmp_path / "conpty test.cmd"
    bat.write_text("@echo off\r\necho batch-arg=%~1\r\nexit /b 7\r\n")
    proc, out = spawn([str(bat), "two words"])
    assert proc.wait(20) == 7
    assert "batch-arg=two words" in out.wait_eof()


def test_bad_sizes_raise_value_error(spawn):
    with pytest.raises(ValueError):
        ConPtyProcess.spawn(["cmd.exe"], rows=0)
    proc, _ = spawn(["cmd.exe"])
    with pytest.raises(ValueError):
        proc.setwinsize(24, 0)


def test_initial_size(spawn):
    proc, out = spawn([PYTHON, "-c", "import os; s = os.get_terminal_size(); print('size=%dx%d' % (s.columns, s.lines))"], rows=33, cols=101)
    assert proc.wait(20) == 0
    assert "size=101x33" in out.wait_eof()


@skip_on_wine("Wine 8's ResizePseudoConsole returns E_NOTIMPL")
def test_resize(spawn):
    script = "import os\nwhile True:\n    input()\n    s = os.get_terminal_size()\n    print('size=%dx%d' % (s.columns, s.lines))"
    proc, out = spawn([PYTHON, "-c", script], rows=24, cols=80)
    proc.write(ENTER.encode())
    out.expect(r"size=80x24")
    proc.setwinsize(30, 100)  # rows first here; the backend passes COORD(cols, rows)

    def resized() -> bool:  # the console takes the new size on its own thread: ask until it shows
        proc.write(ENTER.encode())
        return "size=100x30" in plain(out.text)

    poll("the new size", resized, interval=0.3)


@skip_on_wine("Wine's console ends the whole session on \\x03 instead of raising Ctrl-C in the child")
def test_ctrl_c_interrupts_the_child(spawn):
    script = "import time\ntry:\n    print('waiting', flush=True)\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print('interrupted')\n    input()"
    proc, out = spawn([PYTHON, "-c", script])
    out.expect("waiting")
    proc.write(b"\x03")
    out.expect("interrupted")
    assert proc.exit_code is None  # the child handled it and runs on
    proc.write(ENTER.encode())
    assert proc.wait(20) == 0


def test_ctrl_c_reaches_a_child_of_a_process_that_ignores_it(spawn):
    """The "ignore Ctrl+C" flag of a process started in a new process group is inherited; the
    child raises CTRL_C_EVENT on its own console (Wine honours the flag, unlike the \\x03 above)."""
    script = (
        "import ctypes, time\ntry:\n    ctypes.windll.kernel32.GenerateConsoleCtrlEvent(0, 0)\n"
        "    time.sleep(10)\n    print('ignored')\nexcept KeyboardInterrupt:\n    print('interrupted')"
    )
    w.kernel32().SetConsoleCtrlHandler(None, True)  # as CREATE_NEW_PROCESS_GROUP leaves it
    try:
        proc, out = spawn([PYTHON, "-c", script])
        assert out.expect("interrupted|ignored")[0] == "interrupted"
    finally:
        w.kernel32().SetConsoleCtrlHandler(None, False)


@pytest.mark.parametrize("name", ["powershell", "pwsh"])
def test_powershell_resolved_by_name(spawn, name):
    from conpty_widget.backends.conpty import resolve_program

    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed here")
    assert os.path.basename(resolve_program(name)).lower() == f"{name}.exe"
    proc, out = spawn([name, "-NoLogo", "-NoProfile", "-Command", "Write-Output ('ps-' + (1+1))"])
    assert proc.wait(60) == 0
    text = out.wait_eof(60)
    if WINE is None:  # Wine's powershell.exe is a stub that prints nothing
        assert "ps-2" in text


def test_many_sessions_do_not_leak_threads(spawn):
    import threading

    before = threading.active_count()
    for _ in range(5):
        proc, out = spawn(["cmd.exe", "/c", "exit 0"])
        assert proc.wait(20) == 0
        out.wait_eof()
        proc.close()
    poll("the sessions' threads to end", lambda: threading.active_count() <= before + 1)


def _handle_open(value: int) -> bool:
    import ctypes

    k = ctypes.WinDLL("kernel32", use_last_error=True)
    k.GetHandleInformation.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    k.GetHandleInformation.restype = ctypes.c_int32
    flags = ctypes.c_uint32()
    return bool(k.GetHandleInformation(value, ctypes.byref(flags)))


def test_resources_free_on_close_with_and_on_collection():
    import gc

    from conpty_widget.backends.conpty import JobObject, Pipe, ProcThreadAttributeList

    with Pipe("test") as pipe:
        ends = (pipe.read_end.value, pipe.write_end.value)
        assert all(_handle_open(h) for h in ends)
    assert pipe.closed and not any(_handle_open(h) for h in ends)
    with pytest.raises(ValueError):
        pipe.read_end.value

    job = JobObject()
    value = job.value
    assert _handle_open(value)
    del job
    gc.collect()
    assert not _handle_open(value)  # weakref.finalize: the safety net

    attributes = ProcThreadAttributeList(1)
    attributes.close()
    attributes.close()  # idempotent
    assert attributes.closed


def _handle_count() -> int:
    import ctypes

    k = ctypes.WinDLL("kernel32", use_last_error=True)  # a private instance: its own prototypes
    k.GetCurrentProcess.restype = ctypes.c_void_p
    k.GetProcessHandleCount.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    count = ctypes.c_uint32()
    assert k.GetProcessHandleCount(k.GetCurrentProcess(), ctypes.byref(count))
    return count.value


def test_a_spawn_failing_after_the_process_exists_ends_it_and_frees_every_handle(monkeypatch):
    """The rollback of spawn: a failure once the child exists (here: joining the Job) ends the
    suspended child and closes every handle made so far (pipes, console, Job, process, thread)."""
    import ctypes

    from conpty_widget.backends.conpty import JobObject

    k = ctypes.WinDLL("kernel32", use_last_error=True)
    k.GetProcessId.argtypes = [ctypes.c_void_p]
    k.GetProcessId.restype = ctypes.c_uint32
    pids = []

    def failing_assign(self, process):
        pids.append(k.GetProcessId(process.value))
        raise OSError(None, "AssignProcessToJobObject failed: injected", None, 5)

    ConPtyProcess.spawn(["cmd.exe", "/c", "exit 0"]).close()  # warm-up: DLLs and Wine's desktop
    monkeypatch.setattr(JobObject, "assign", failing_assign)
    before = _handle_count()
    for _ in range(3):
        with pytest.raises(OSError, match="injected"):
            ConPtyProcess.spawn(["cmd.exe"])
    assert len(pids) == 3 and all(pids)
    for pid in pids:
        poll(f"the suspended child {pid} to end after the failed spawn", lambda: not process_alive(pid))
    assert _handle_count() <= before
