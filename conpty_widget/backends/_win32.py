"""Win32 declarations for the ConPTY backend, in plain ``ctypes``.

Every structure uses fixed-width types (``c_uint32``, ``c_uint16``, ``c_void_p``
...), never ``ctypes.wintypes`` (whose ``DWORD`` is 8 bytes on 64-bit Linux), so
the layouts below are the 64-bit Windows layouts on any 64-bit OS and the
layout tests run on Linux too.

The DLLs are bound lazily (:func:`kernel32`, :func:`ntdll`, :func:`user32`):
importing this module on Linux does nothing but define types and constants.
Every bound function has ``argtypes``/``restype`` and an ``errcheck`` that turns
a failing ``BOOL``, ``HRESULT``, ``NTSTATUS``, ``NULL`` handle or ``(DWORD)-1``
into an :class:`OSError` naming the API and carrying the Windows error code
(``winerror``; ``ERROR_FILE_NOT_FOUND`` becomes ``FileNotFoundError``).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from ctypes import (
    POINTER,
    Structure,
    Union,
    c_int16,
    c_int32,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
    c_wchar_p,
)
from typing import Any, Optional

# --- fixed-width Win32 types (64-bit Windows) --------------------------------
BOOL = c_int32
DWORD = c_uint32
UINT = c_uint32
ULONG = c_uint32
WORD = c_uint16
USHORT = c_uint16
SHORT = c_int16
HRESULT = c_int32
NTSTATUS = c_int32
LARGE_INTEGER = c_int64
ULONGLONG = c_uint64
SIZE_T = c_size_t
ULONG_PTR = c_size_t
DWORD_PTR = c_size_t
HANDLE = c_void_p
HPCON = c_void_p
LPVOID = c_void_p
LPWSTR = c_void_p  # pointer field in structures (c_wchar is 4 bytes on Linux)
PHANDLE = POINTER(HANDLE)
PDWORD = POINTER(DWORD)
PSIZE_T = POINTER(SIZE_T)

# --- constants ---------------------------------------------------------------
INFINITE = 0xFFFFFFFF
WAIT_OBJECT_0 = 0x00000000
STILL_ACTIVE = 259
INVALID_HANDLE_VALUE = (1 << 64) - 1  # (HANDLE)-1 as an unsigned 64-bit value

# process creation flags
CREATE_SUSPENDED = 0x00000004
CREATE_UNICODE_ENVIRONMENT = 0x00000400
EXTENDED_STARTUPINFO_PRESENT = 0x00080000

STARTF_USESTDHANDLES = 0x00000100

# ProcThreadAttributeValue(22, FALSE, TRUE, FALSE)
PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE = 0x00020016

# jobs
JobObjectExtendedLimitInformation = 9
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000

# errors
ERROR_BROKEN_PIPE = 109
ERROR_OPERATION_ABORTED = 995
ERROR_PIPE_NOT_CONNECTED = 233
E_NOTIMPL = -2147467263  # 0x80004001 as a signed HRESULT

# NtCreateFile (used by the Wine-only branch, see conpty._wine_console_handles)
FILE_SHARE_READ = 0x1
FILE_SHARE_WRITE = 0x2
FILE_SHARE_DELETE = 0x4
FILE_CREATE = 2
FILE_SYNCHRONOUS_IO_NONALERT = 0x20
FILE_NON_DIRECTORY_FILE = 0x40
SYNCHRONIZE = 0x00100000
FILE_READ_DATA = 0x0001
FILE_WRITE_DATA = 0x0002
FILE_READ_ATTRIBUTES = 0x0080
FILE_WRITE_ATTRIBUTES = 0x0100
CONDRV_ACCESS = SYNCHRONIZE | FILE_READ_DATA | FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES

# threads
THREAD_TERMINATE = 0x0001  # OpenThread access for CancelSynchronousIo

# first Windows build with ConPTY (Windows 10 1809)
CONPTY_MIN_BUILD = 17763


# --- structures ----------------------------------------------------------------
class COORD(Structure):
    _fields_ = [("X", SHORT), ("Y", SHORT)]


class STARTUPINFOW(Structure):
    _fields_ = [
        ("cb", DWORD),
        ("lpReserved", LPWSTR),
        ("lpDesktop", LPWSTR),
        ("lpTitle", LPWSTR),
        ("dwX", DWORD),
        ("dwY", DWORD),
        ("dwXSize", DWORD),
        ("dwYSize", DWORD),
        ("dwXCountChars", DWORD),
        ("dwYCountChars", DWORD),
        ("dwFillAttribute", DWORD),
        ("dwFlags", DWORD),
        ("wShowWindow", WORD),
        ("cbReserved2", WORD),
        ("lpReserved2", LPVOID),
        ("hStdInput", HANDLE),
        ("hStdOutput", HANDLE),
        ("hStdError", HANDLE),
    ]


class STARTUPINFOEXW(Structure):
    _fields_ = [("StartupInfo", STARTUPINFOW), ("lpAttributeList", LPVOID)]


class PROCESS_INFORMATION(Structure):
    _fields_ = [
        ("hProcess", HANDLE),
        ("hThread", HANDLE),
        ("dwProcessId", DWORD),
        ("dwThreadId", DWORD),
    ]


class JOBOBJECT_BASIC_LIMIT_INFORMATION(Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", LARGE_INTEGER),
        ("PerJobUserTimeLimit", LARGE_INTEGER),
        ("LimitFlags", DWORD),
        ("MinimumWorkingSetSize", SIZE_T),
        ("MaximumWorkingSetSize", SIZE_T),
        ("ActiveProcessLimit", DWORD),
        ("Affinity", ULONG_PTR),
        ("PriorityClass", DWORD),
        ("SchedulingClass", DWORD),
    ]


class IO_COUNTERS(Structure):
    _fields_ = [
        ("ReadOperationCount", ULONGLONG),
        ("WriteOperationCount", ULONGLONG),
        ("OtherOperationCount", ULONGLONG),
        ("ReadTransferCount", ULONGLONG),
        ("WriteTransferCount", ULONGLONG),
        ("OtherTransferCount", ULONGLONG),
    ]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(Structure):
    _fields_ = [
        ("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
        ("IoInfo", IO_COUNTERS),
        ("ProcessMemoryLimit", SIZE_T),
        ("JobMemoryLimit", SIZE_T),
        ("PeakProcessMemoryUsed", SIZE_T),
        ("PeakJobMemoryUsed", SIZE_T),
    ]


class RTL_OSVERSIONINFOW(Structure):
    _fields_ = [
        ("dwOSVersionInfoSize", DWORD),
        ("dwMajorVersion", DWORD),
        ("dwMinorVersion", DWORD),
        ("dwBuildNumber", DWORD),
        ("dwPlatformId", DWORD),
        ("szCSDVersion", WORD * 128),  # WCHAR[128]
    ]


class UNICODE_STRING(Structure):
    _fields_ = [("Length", USHORT), ("MaximumLength", USHORT), ("Buffer", LPWSTR)]


class OBJECT_ATTRIBUTES(Structure):
    _fields_ = [
        ("Length", ULONG),
        ("RootDirectory", HANDLE),
        ("ObjectName", c_void_p),  # PUNICODE_STRING
        ("Attributes", ULONG),
        ("SecurityDescriptor", LPVOID),
        ("SecurityQualityOfService", LPVOID),
    ]


class _IO_STATUS_UNION(Union):
    _fields_ = [("Status", NTSTATUS), ("Pointer", LPVOID)]


class IO_STATUS_BLOCK(Structure):
    _anonymous_ = ("u",)
    _fields_ = [("u", _IO_STATUS_UNION), ("Information", ULONG_PTR)]


# --- errors ----------------------------------------------------------------------
def hresult_to_winerror(hr: int) -> int:
    """The Win32 error inside ``HRESULT_FROM_WIN32(e)``, else the HRESULT itself (signed)."""
    hr &= 0xFFFFFFFF
    if hr & 0xFFFF0000 == 0x80070000:
        return hr & 0xFFFF
    return hr - (1 << 32) if hr & 0x80000000 else hr


def _format_message(code: int) -> str:
    if sys.platform == "win32":
        return ctypes.FormatError(ctypes.c_int32(code).value).strip() or f"error {code}"  # type: ignore[attr-defined]
    return f"Windows error {code}"


def win_error(api: str, code: int | None = None) -> OSError:
    """An ``OSError`` for ``api`` failing with ``code`` (default: ``GetLastError``)."""
    if code is None:
        code = ctypes.get_last_error() if sys.platform == "win32" else 0  # type: ignore[attr-defined]
    return OSError(None, f"{api} failed: {_format_message(code)}", None, code)


def hresult_error(api: str, hr: int) -> OSError:
    code = hresult_to_winerror(hr)
    return OSError(None, f"{api} failed: HRESULT 0x{hr & 0xFFFFFFFF:08X} ({_format_message(code)})", None, code)


def _check_bool(result: int, func: Any, args: tuple) -> int:
    if not result:
        raise win_error(func.__name__)
    return result


def _check_handle(result: int | None, func: Any, args: tuple) -> int:
    if not result or result == INVALID_HANDLE_VALUE:
        raise win_error(func.__name__)
    return result


def _check_dword(result: int, func: Any, args: tuple) -> int:
    if result == 0xFFFFFFFF:
        raise win_error(func.__name__)
    return result


def _check_hresult(result: int, func: Any, args: tuple) -> int:
    if result < 0:
        raise hresult_error(func.__name__, result)
    return result


def _check_ntstatus(result: int, func: Any, args: tuple) -> int:
    if result < 0:
        code = ntdll().RtlNtStatusToDosError(result)
        raise OSError(None, f"{func.__name__} failed: NTSTATUS 0x{result & 0xFFFFFFFF:08X}", None, code)
    return result


# --- prototypes: name -> (restype, argtypes, errcheck) ----------------------------------
_Proto = tuple[Any, list, Optional[Callable[..., Any]]]

KERNEL32: dict[str, _Proto] = {
    "CloseHandle": (BOOL, [HANDLE], _check_bool),
    "CreatePipe": (BOOL, [PHANDLE, PHANDLE, c_void_p, DWORD], _check_bool),
    "ReadFile": (BOOL, [HANDLE, c_void_p, DWORD, PDWORD, c_void_p], None),  # caller checks
    "WriteFile": (BOOL, [HANDLE, c_void_p, DWORD, PDWORD, c_void_p], _check_bool),
    "CreatePseudoConsole": (HRESULT, [COORD, HANDLE, HANDLE, DWORD, POINTER(HPCON)], _check_hresult),
    "ResizePseudoConsole": (HRESULT, [HPCON, COORD], _check_hresult),
    "ClosePseudoConsole": (None, [HPCON], None),
    "InitializeProcThreadAttributeList": (BOOL, [c_void_p, DWORD, DWORD, PSIZE_T], None),  # caller checks
    "UpdateProcThreadAttribute": (
        BOOL,
        [c_void_p, DWORD, DWORD_PTR, c_void_p, SIZE_T, c_void_p, PSIZE_T],
        _check_bool,
    ),
    "DeleteProcThreadAttributeList": (None, [c_void_p], None),
    "CreateProcessW": (
        BOOL,
        [
            c_wchar_p,  # lpApplicationName
            c_void_p,  # lpCommandLine: a mutable buffer
            c_void_p,  # lpProcessAttributes
            c_void_p,  # lpThreadAttributes
            BOOL,  # bInheritHandles
            DWORD,  # dwCreationFlags
            c_void_p,  # lpEnvironment
            c_wchar_p,  # lpCurrentDirectory
            POINTER(STARTUPINFOEXW),
            POINTER(PROCESS_INFORMATION),
        ],
        _check_bool,
    ),
    "ResumeThread": (DWORD, [HANDLE], _check_dword),
    "SetConsoleCtrlHandler": (BOOL, [c_void_p, BOOL], None),  # caller checks
    "WaitForSingleObject": (DWORD, [HANDLE, DWORD], _check_dword),
    "GetExitCodeProcess": (BOOL, [HANDLE, PDWORD], _check_bool),
    "TerminateProcess": (BOOL, [HANDLE, UINT], None),  # fails harmlessly once exited
    "CreateJobObjectW": (HANDLE, [c_void_p, c_wchar_p], _check_handle),
    "SetInformationJobObject": (BOOL, [HANDLE, c_int32, c_void_p, DWORD], _check_bool),
    "AssignProcessToJobObject": (BOOL, [HANDLE, HANDLE], _check_bool),
    "TerminateJobObject": (BOOL, [HANDLE, UINT], _check_bool),
    "OpenThread": (HANDLE, [DWORD, BOOL, DWORD], _check_handle),
    "CancelSynchronousIo": (BOOL, [HANDLE], None),  # fails when nothing is pending
    "GetCurrentThreadId": (DWORD, [], None),
}

NTDLL: dict[str, _Proto] = {
    "NtCreateFile": (
        NTSTATUS,
        [
            PHANDLE,
            ULONG,  # ACCESS_MASK
            POINTER(OBJECT_ATTRIBUTES),
            POINTER(IO_STATUS_BLOCK),
            c_void_p,  # PLARGE_INTEGER AllocationSize
            ULONG,  # FileAttributes
            ULONG,  # ShareAccess
            ULONG,  # CreateDisposition
            ULONG,  # CreateOptions
            c_void_p,  # EaBuffer
            ULONG,  # EaLength
        ],
        _check_ntstatus,
    ),
    "RtlNtStatusToDosError": (ULONG, [NTSTATUS], None),
    "RtlGetVersion": (NTSTATUS, [POINTER(RTL_OSVERSIONINFOW)], _check_ntstatus),
    "wine_get_version": (ctypes.c_char_p, [], None),  # only under Wine
}

USER32: dict[str, _Proto] = {
    "GetDesktopWindow": (HANDLE, [], None),
}


class _Dll:
    """A DLL whose functions are bound from a prototype table on first use.

    A function the DLL does not export (``CreatePseudoConsole`` before Windows 10
    1809, ``wine_get_version`` outside Wine) raises ``AttributeError``; use
    :meth:`has` to ask.
    """

    def __init__(self, name: str, prototypes: dict[str, _Proto]) -> None:
        # our own WinDLL instance: the function objects of ctypes.windll are shared
        # process-wide, and we must not change their argtypes under another library
        self._dll = ctypes.WinDLL(name, use_last_error=True)  # type: ignore[attr-defined]
        self._prototypes = prototypes

    def has(self, name: str) -> bool:
        try:
            getattr(self, name)
        except AttributeError:
            return False
        return True

    def __getattr__(self, name: str) -> Any:
        proto = self._prototypes.get(name)
        if proto is None:
            raise AttributeError(f"{name} is not declared in _win32")
        func = getattr(self._dll, name)  # AttributeError if not exported
        restype, argtypes, errcheck = proto
        func.restype = restype
        func.argtypes = argtypes
        if errcheck is not None:
            func.errcheck = errcheck
        setattr(self, name, func)
        return func


_dlls: dict[str, _Dll] = {}


def _load(name: str, prototypes: dict[str, _Proto]) -> _Dll:
    if sys.platform != "win32":
        raise OSError(f"{name}.dll exists only on Windows")
    dll = _dlls.get(name)
    if dll is None:
        dll = _dlls[name] = _Dll(name, prototypes)
    return dll


def kernel32() -> Any:
    return _load("kernel32", KERNEL32)


def ntdll() -> Any:
    return _load("ntdll", NTDLL)


def user32() -> Any:
    return _load("user32", USER32)


def wine_version() -> str | None:
    """Wine's version when running under Wine (ntdll exports ``wine_get_version``), else ``None``."""
    if sys.platform != "win32":
        return None
    lib = ntdll()
    if not lib.has("wine_get_version"):
        return None
    raw = lib.wine_get_version()
    return raw.decode("ascii", "replace") if raw else "unknown"
