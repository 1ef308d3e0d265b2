"""One writer per run folder: ``fit`` and ``fit --resume`` hold an exclusive lock on ``RUN/.lock`` while they train.

A second writer (a resume of a run that still trains, two resumes at once) gets a clear error that names the process
holding the folder, instead of duplicated log lines and two exports. The operating system releases the lock when
its process ends, however it ends, so the lock of a killed run is simply taken over. Without ``fcntl`` (Windows)
runs are not locked.

Example:
    >>> lock = RunLock.acquire(Path("runs/breast"))  # doctest: +SKIP
    >>> lock.release()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import GanaugError
from ..fileio import file_mode

LOCK_NAME = ".lock"


class RunLock:
    """An exclusive ``flock`` on ``folder/.lock`` holding the owner's process id; ``release()`` frees it."""

    def __init__(self, fd: int | None):
        self.fd = fd

    @classmethod
    def acquire(cls, folder: Path) -> RunLock:
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform
            return cls(None)
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDWR | os.O_CREAT, file_mode(0o666))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise GanaugError(
                f"run folder {folder} is in use: ganaug process {holder} is training it. Wait for it to finish (or "
                "stop it), then resume; two processes writing one run would mix their checkpoints and logs"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return cls(fd)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None
