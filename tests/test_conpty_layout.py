"""The ConPTY backend's Win32 layouts and pure helpers, checked on any 64-bit OS.

The structures use fixed-width ctypes types, so their sizes and offsets here are
those of 64-bit Windows (the values below are from the Windows SDK headers).
"""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from conpty_widget.backends import _win32 as w
from conpty_widget.backends import conpty

pytestmark = pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="64-bit layouts")

LAYOUTS = {
    w.COORD: (4, {"X": 0, "Y": 2}),
    w.STARTUPINFOW: (
        104,
        {
            "cb": 0,
            "lpReserved": 8,
            "lpDesktop": 16,
            "lpTitle": 24,
            "dwX": 32,
            "dwY": 36,
            "dwXSize": 40,
            "dwYSize": 44,
            "dwXCountChars": 48,
            "dwYCountChars": 52,
            "dwFillAttribute": 56,
            "dwFlags": 60,
            "wShowWindow": 64,
            "cbReserved2": 66,
            "lpReserved2": 72,
            "hStdInput": 80,
            "hStdOutput": 88,
            "hStdError": 96,
        },
    ),
    w.STARTUPINFOEXW: (112, {"StartupInfo": 0, "lpAttributeList": 104}),
    w.PROCESS_INFORMATION: (24, {"hProcess": 0, "hThread": 8, "dwProcessId": 16, "dwThreadId": 20}),
    w.JOBOBJECT_BASIC_LIMIT_INFORMATION: (
        64,
        {
            "PerProcessUserTimeLimit": 0,
            "PerJobUserTimeLimit": 8,
            "LimitFlags": 16,
            "MinimumWorkingSetSize": 24,
            "MaximumWorkingSetSize": 32,
            "ActiveProcessLimit": 40,
            "Affinity": 48,
            "PriorityClass": 56,
            "SchedulingClass": 60,
        },
    ),
    w.IO_COUNTERS: (48, {"ReadOperationCount": 0, "OtherTransferCount": 40}),
    w.JOBOBJECT_EXTENDED_LIMIT_INFORMATION: (
        144,
        {
            "BasicLimitInformation": 0,
            "IoInfo": 64,
            "ProcessMemoryLimit": 112,
            "JobMemoryLimit": 120,
            "PeakProcessMemoryUsed": 128,
            "PeakJobMemoryUsed": 136,
        },
    ),
    w.RTL_OSVERSIONINFOW: (276, {"dwOSVersionInfoSize": 0, "dwBuildNumber": 12, "szCSDVersion": 20}),
    w.UNICODE_STRING: (16, {"Length": 0, "MaximumLength": 2, "Buffer": 8}),
    w.OBJECT_ATTRIBUTES: (
        48,
        {
            "Length": 0,
            "RootDirectory": 8,
            "ObjectName": 16,
            "Attributes": 24,
            "SecurityDescriptor": 32,
            "SecurityQualityOfService": 40,
        },
    ),
    w.IO_STATUS_BLOCK: (16, {"Status": 0, "Information": 8}),
}


@pytest.mark.parametrize("struct", list(LAYOUTS), ids=lambda s: s.__name__)
def test_structure_layout(struct):
    size, offsets = LAYOUTS[struct]
    assert ctypes.sizeof(struct) == size
    for name, offset in offsets.items():
        assert getattr(struct, name).offset == offset, name


def test_fixed_width_types():
    assert ctypes.sizeof(w.DWORD) == 4
    assert ctypes.sizeof(w.WORD) == 2
    assert ctypes.sizeof(w.BOOL) == 4
    assert ctypes.sizeof(w.HRESULT) == 4
    assert ctypes.sizeof(w.HANDLE) == 8
    assert ctypes.sizeof(w.SIZE_T) == 8
    assert w.HRESULT(0x80004001 - (1 << 32)).value == w.E_NOTIMPL


def _proc_thread_attribute_value(number, thread=False, input_=False, additive=False):
    # the ProcThreadAttributeValue macro of WinBase.h
    return number | (thread and 0x10000) | (input_ and 0x20000) | (additive and 0x40000)


def test_constants():
    assert w.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE == _proc_thread_attribute_value(22, input_=True) == 0x20016
    assert w.EXTENDED_STARTUPINFO_PRESENT == 0x80000
    assert w.CREATE_UNICODE_ENVIRONMENT == 0x400
    assert w.CREATE_SUSPENDED == 0x4
    assert w.STARTF_USESTDHANDLES == 0x100
    assert w.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE == 0x2000
    assert w.JobObjectExtendedLimitInformation == 9
    assert w.INFINITE == 0xFFFFFFFF
    assert w.WAIT_OBJECT_0 == 0
    assert w.STILL_ACTIVE == 259
    assert w.ERROR_BROKEN_PIPE == 109
    assert w.CONDRV_ACCESS == 0x100183
    assert w.FILE_SYNCHRONOUS_IO_NONALERT | w.FILE_NON_DIRECTORY_FILE == 0x60
    assert w.CONPTY_MIN_BUILD == 17763


def test_every_prototype_is_complete():
    for table in (w.KERNEL32, w.NTDLL, w.USER32):
        for name, (restype, argtypes, errcheck) in table.items():
            assert isinstance(argtypes, list), name
            for t in argtypes:
                assert ctypes.sizeof(t) in (2, 4, 8), (name, t)
            # BOOL and HRESULT results are checked (by errcheck, or by the caller where noted)
            if restype in (w.BOOL, w.HRESULT, w.NTSTATUS) and errcheck is None:
                caller_checks = {
                    "ReadFile", "InitializeProcThreadAttributeList", "TerminateProcess", "CancelSynchronousIo",
                    "SetConsoleCtrlHandler",
                }  # fmt: skip
                assert name in caller_checks, name


def test_errors_name_the_api():
    assert w.hresult_to_winerror(0x80070002) == 2
    assert w.hresult_to_winerror(w.E_NOTIMPL) == w.hresult_to_winerror(0x80004001) == w.E_NOTIMPL
    err = w.hresult_error("CreatePseudoConsole", 0x80070005 - (1 << 32))
    assert isinstance(err, OSError) and "CreatePseudoConsole" in str(err) and "0x80070005" in str(err)
    assert "CreatePipe" in str(w.win_error("CreatePipe", 5))


@pytest.mark.skipif(sys.platform == "win32", reason="Linux/macOS behaviour")
def test_importable_off_windows_and_says_why_not():
    assert w.wine_version() is None
    with pytest.raises(OSError):
        w.kernel32()
    with pytest.raises(conpty.ConPTYUnavailableError) as info:
        conpty.ConPtyProcess.spawn(["cmd.exe"])
    assert isinstance(info.value, OSError)
    with pytest.raises(ValueError):
        conpty.ConPtyProcess.spawn(["cmd.exe"], rows=0)


# --- environment block ------------------------------------------------------------
def test_environment_block_sorted_case_insensitively():
    block = conpty.build_environment_block({"b": "2", "A": "1", "_x": "3", "Path": "C:\\x", "c": "é€"})
    assert block == "A=1\0b=2\0c=é€\0Path=C:\\x\0_x=3\0\0"
    assert block.encode("utf-16-le").endswith(b"\0\0\0\0")


def test_environment_block_upper_case_order():
    # Windows sorts by the upper-cased name: '_' (0x5F) comes after 'Z' (0x5A)
    block = conpty.build_environment_block({"_a": "1", "Z": "2", "a": "3"})
    assert block.split("\0")[:3] == ["a=3", "Z=2", "_a=1"]


def test_environment_block_duplicates_and_empty():
    assert conpty.build_environment_block({"path": "1", "PATH": "2"}) == "PATH=2\0\0"
    assert conpty.build_environment_block({}) == "\0\0"
    assert conpty.build_environment_block({"=C:": "C:\\"}) == "=C:=C:\\\0\0"
    for bad in ({"": "x"}, {"A=B": "x"}, {"A": "x\0y"}):
        with pytest.raises(ValueError):
            conpty.build_environment_block(bad)


# --- command lines ----------------------------------------------------------------
def test_command_line_quoting():
    assert conpty.build_command_line(["cmd.exe"]) == "cmd.exe"
    assert conpty.build_command_line(["C:\\Program Files\\x.exe", "a b", 'q"t', "", "back\\"]) == (
        '"C:\\Program Files\\x.exe" "a b" q\\"t "" back\\'
    )
    with pytest.raises(ValueError):
        conpty.build_command_line([])
    with pytest.raises(ValueError):
        conpty.build_command_line(["x" * 40000])


@pytest.mark.parametrize(
    "line, argv",
    [
        ("cmd.exe", ["cmd.exe"]),
        ('python -c "print(1)"', ["python", "-c", "print(1)"]),
        ('"C:\\Program Files\\x.exe" a  b', ["C:\\Program Files\\x.exe", "a", "b"]),
        ('x a\\\\"b c" d', ["x", "a\\b c", "d"]),
        ('x a\\"b', ["x", 'a"b']),
        ('x "a""b"', ["x", 'a"b']),
        ("x a\\b\\\\c", ["x", "a\\b\\\\c"]),
        ('x ""', ["x", ""]),
        ("  ", []),
    ],
)
def test_split_command_line(line, argv):
    assert conpty.split_command_line(line) == argv


def test_split_inverts_list2cmdline():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    word = st.text(alphabet=st.sampled_from(list('ab \\"\t') + ["é"]), max_size=8)
    program = st.text(alphabet=st.sampled_from(list("ab \\") + ["é"]), min_size=1, max_size=8).filter(
        lambda s: not s.endswith("\\")
    )

    @hypothesis.given(program, st.lists(word, max_size=5))
    @hypothesis.settings(max_examples=300, deadline=None)
    def check(prog, args):
        argv = [prog, *args]
        assert conpty.split_command_line(subprocess.list2cmdline(argv)) == argv

    check()


def test_process_command_line_for_executables_and_batch_files():
    comspec = "C:\\Windows\\system32\\cmd.exe"
    exe = "C:\\Python\\python.exe"
    assert conpty.process_command_line(exe, ["python", "-c", "print(1)"], comspec) == (exe, 'python -c print(1)')
    bat = "C:\\Program Files\\nodejs\\npm.cmd"
    app, line = conpty.process_command_line(bat, ["npm", "run", "a b"], comspec)
    assert app == comspec
    assert line == 'C:\\Windows\\system32\\cmd.exe /d /s /c ""C:\\Program Files\\nodejs\\npm.cmd" run "a b""'
    assert conpty.process_command_line("X.BAT", ["x"], comspec)[0] == comspec


def test_windows_build_is_zero_off_windows():
    from conpty_widget.backends.conpty import windows_build

    assert windows_build() == 0
