"""Reading TOML files: the one place that picks tomllib (3.11+) or tomli (3.10), and turns every
way a file can fail to read into one line naming it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tfbridge.errors import TfbridgeError
from tfbridge.files import require_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = ["read_toml", "tomllib"]


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; anything that stops that (not a regular file, not UTF-8, bad syntax,
    nested too deeply, an OS error) is one line naming the file."""
    require_regular_file(path, hint="make it a plain UTF-8 TOML file")
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as error:
        raise TfbridgeError(f"{path}: not valid TOML ({error})", hint="fix the syntax") from None
    except UnicodeDecodeError as error:
        raise TfbridgeError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} on line "
            f"{_line_of(error.object, error.start)})",
            hint="TOML files are UTF-8: save it with that encoding",
        ) from None
    except RecursionError:
        raise TfbridgeError(
            f"{path}: nested too deeply to read", hint="flatten the arrays or tables"
        ) from None
    except OSError as error:
        raise TfbridgeError(f"cannot read {path}: {error.strerror}") from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
