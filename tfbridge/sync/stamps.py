"""What a file's stat said when its SHA-256 was known, so that an unchanged file is not read again.

SHA-256 stays the identity of a model; a stamp only spares recomputing it. The ledger keeps, with
each model sent, a stamp of the local file and one of the far-side copy. Next time, the same stat
means the same bytes, and a changed file is always hashed again:

- Local: size, mtime and ctime in nanoseconds, inode and device. A write changes the ctime, and no
  program can set it back (`touch -d` sets the mtime, and that changes the ctime). A stamp is
  recorded only when the file was last changed well before it was hashed (`RACY_NS`): a write in
  the same clock tick as the hashing could otherwise leave the ctime as it was.
- Far side: size and mtime in whole seconds, which is all SFTP reports (no ctime, no inode). Before
  the upload is renamed into place, its mtime is set to a second before the far side's own clock
  at upload time, so any later write there (which sets the mtime to its "now") changes it. What
  goes unseen is a same-size rewrite whose writer then sets the mtime to that very second
  (`touch -r`, or `cp -p` of another model saved in the same second): only a far-side `stat` of
  the ctime would show it, and each far-side command costs the user's login shell (0.2 s here).
"""

from __future__ import annotations

import os
import time

from tfbridge import records
from tfbridge.sync.transport import FileStat

RACY_NS = 2_000_000_000  # coarser than any file system's timestamps (FAT: 2 s)


class LocalStamp(records.Record, frozen=True):
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int


class RemoteStamp(records.Record, frozen=True):
    size: int
    mtime: int  # whole seconds, as SFTP carries it


def local_stamp(info: os.stat_result) -> LocalStamp:
    return LocalStamp(
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        ctime_ns=info.st_ctime_ns,
        inode=info.st_ino,
        device=info.st_dev,
    )


def settled_stamp(before: os.stat_result, path: str, hashed_from_ns: int) -> LocalStamp | None:
    """The stamp to record for a file hashed after `hashed_from_ns` (time.time_ns()), whose stat
    was `before` then: None if it changed since, or so shortly before that a write in the same
    clock tick could hide (the next run then hashes it again)."""
    try:
        now = os.stat(path)
    except OSError:
        return None
    stamp = local_stamp(before)
    if local_stamp(now) != stamp or stamp.ctime_ns > hashed_from_ns - RACY_NS:
        return None
    return stamp


def remote_stamp(info: FileStat | None) -> RemoteStamp | None:
    if info is None or not info.is_file or info.mtime is None:
        return None
    return RemoteStamp(size=info.size, mtime=int(info.mtime))


def placed_mtime(local_mtime_ns: int, far_now: float | None) -> int:
    """The mtime to give an upload: the local model's own (as `scp -p` keeps it), unless that is
    not before the far side's clock (`far_now`, the upload's own mtime): then a second before
    it. Either way, a later write on the far side gives the file another mtime."""
    local = local_mtime_ns // 1_000_000_000
    if far_now is None:
        return local
    return min(local, int(far_now) - 1)


def now_ns() -> int:
    return time.time_ns()
