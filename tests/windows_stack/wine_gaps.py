"""Test set-up for the Windows Jupyter stack under Wine 8: what Wine lacks and Windows 10+ has.

Never used by the package. Run by tests/windows/run-under-wine.sh on the stack's own prefix::

    python3 tests/windows_stack/wine_gaps.py PREFIX

**bcryptprimitives.dll!ProcessPrng.** Rust's standard library (1.78 and later) gets its random
numbers from ``ProcessPrng`` in ``bcryptprimitives.dll`` (Windows 10 and later); Wine 8 has no such
DLL, so every Rust-built wheel of the stack fails to import under it ("DLL load failed": rpds-py,
which jsonschema and so jupyter_server need; pywinpty 3, behind JupyterLab's own terminal). This
writes a 1 KB x64 DLL into the prefix's ``system32`` with one export, ``ProcessPrng``, forwarded to
``advapi32.SystemFunction036`` (``RtlGenRandom``: fills a buffer with random bytes, as ProcessPrng
does; ProcessPrng's result is always TRUE and Rust does not read it).
"""

from __future__ import annotations

import pathlib
import struct
import sys

FORWARDS = {"ProcessPrng": "advapi32.SystemFunction036"}
DLL_NAME = "bcryptprimitives.dll"
FILE_ALIGN, SECTION_ALIGN, SECTION_RVA = 0x200, 0x1000, 0x1000


def export_section(dll: str, forwards: dict[str, str]) -> bytes:
    """An export directory whose every function is a forwarder (its address points inside the directory)."""
    names = sorted(forwards)  # the loader binary-searches the name table
    n = len(names)
    head = 40  # IMAGE_EXPORT_DIRECTORY
    functions, name_ptrs, ordinals = head, head + 4 * n, head + 8 * n
    strings = bytearray()
    string_base = ordinals + 2 * n

    def add(text: str) -> int:
        rva = SECTION_RVA + string_base + len(strings)
        strings.extend(text.encode() + b"\0")
        return rva

    dll_rva = add(dll)
    name_rvas = [add(name) for name in names]
    forward_rvas = [add(forwards[name]) for name in names]
    body = struct.pack(
        "<IIHHIIIIIII", 0, 0, 0, 0, dll_rva, 1, n, n,
        SECTION_RVA + functions, SECTION_RVA + name_ptrs, SECTION_RVA + ordinals,
    )  # fmt: skip
    body += struct.pack(f"<{n}I", *forward_rvas) + struct.pack(f"<{n}I", *name_rvas) + struct.pack(f"<{n}H", *range(n))
    return body + bytes(strings)


def forwarder_dll(dll: str, forwards: dict[str, str]) -> bytes:
    """A PE32+ DLL (x64) of headers and one read-only section holding the export directory."""
    edata = export_section(dll, forwards)
    raw_size = -(-len(edata) // FILE_ALIGN) * FILE_ALIGN
    image_size = SECTION_RVA + -(-len(edata) // SECTION_ALIGN) * SECTION_ALIGN
    dos = b"MZ" + bytes(58) + struct.pack("<I", 64)
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 240, 0x2022)  # x64; 1 section; EXECUTABLE_IMAGE|LARGE_ADDRESS_AWARE|DLL
    optional = struct.pack(
        "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII",
        0x20B, 14, 0, 0, raw_size, 0, 0, SECTION_RVA,  # PE32+, no code, no entry point
        0x180000000, SECTION_ALIGN, FILE_ALIGN, 6, 0, 0, 0, 6, 0, 0,
        image_size, FILE_ALIGN, 0, 3, 0x0100,  # headers' size, checksum, console subsystem, NX compatible
        0x100000, 0x1000, 0x100000, 0x1000, 0, 16,
    )  # fmt: skip
    directories = struct.pack("<II", SECTION_RVA, len(edata)) + bytes(8 * 15)  # the export directory only
    section = struct.pack("<8sIIIIIIHHI", b".edata", len(edata), SECTION_RVA, raw_size, FILE_ALIGN, 0, 0, 0, 0, 0x40000040)
    headers = dos + b"PE\0\0" + coff + optional + directories + section
    return headers.ljust(FILE_ALIGN, b"\0") + edata.ljust(raw_size, b"\0")


def main(prefix: str) -> None:
    target = pathlib.Path(prefix) / "drive_c" / "windows" / "system32" / DLL_NAME
    data = forwarder_dll(DLL_NAME, FORWARDS)
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    print(f"{target}: {', '.join(f'{k} -> {v}' for k, v in FORWARDS.items())}")


if __name__ == "__main__":
    main(sys.argv[1])
