"""Where a command writes (``--out``): checked before any request, replaced only on success.

Every command with an ``--out PATH`` option uses this one helper::

    output = check_output(args.out)        # first, before the client sends anything
    ...
    with output.open() as out:             # a binary file object
        out.write(...)
    print(f"written to {output.where}")

``check_output`` raises :class:`UsageError` (exit 2) for a path it cannot honour, so a bad
``--out`` never costs a request (or a token). What each kind of path gets:

* ``-``: stdout.
* a regular file, or a path that does not exist yet: written to a temporary file beside
  it and moved over it only once the command succeeded (``os.replace``); on any failure,
  Ctrl-C included, the previous file stays as it was. The file keeps its permissions (and,
  for root, its owner).
* a symbolic link: the same for the file it points to; the link itself stays.
* a FIFO or a character device (``/dev/null``, ``/dev/stdout``, a terminal): written into
  directly, as a shell's ``>`` would; there is no previous content to protect. A FIFO
  nobody is reading is refused (the command would wait for a reader forever).
* refused: ``''``, a directory, a block device or socket, a read-only file (no write
  permission bit, even for root), an immutable or append-only file, a file or directory
  this user may not write to, a missing directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import BinaryIO

from ._failures import CommandError, UsageError

__all__ = ["Output", "check_output", "open_output"]

# Linux inode flags (``lsattr``): a file or directory carrying them cannot be replaced.
_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL = 0x00000010
_FS_APPEND_FL = 0x00000020


class Output:
    """A checked ``--out`` destination; :meth:`open` it to write."""

    __slots__ = ("_fd", "_target", "path")

    def __init__(self, path: str, *, target: str | None = None, fd: int | None = None) -> None:
        #: The path as the user gave it (``-`` for stdout).
        self.path = path
        self._target = target  # the regular file to replace (symlinks resolved)
        self._fd = fd  # an already opened FIFO or device

    @property
    def where(self) -> str:
        """How to name the destination in a message."""
        return "stdout" if self.path == "-" else self.path

    @property
    def is_stdout(self) -> bool:
        return self.path == "-"

    def open(self) -> AbstractContextManager[BinaryIO]:
        """A binary file object; for a file, the result appears only on success."""
        if self._target is not None:
            return _replace_on_success(self._target, self.path)
        if self._fd is not None:
            fd, self._fd = self._fd, None
            return _stream(os.fdopen(fd, "wb"), close=True)
        return _stream(sys.stdout.buffer, close=False)


def check_output(path: str, *, flag: str = "--out") -> Output:
    """Check that the command can write to ``path``; :class:`UsageError` if not."""
    if path == "-":
        return Output(path)
    if not path:
        raise UsageError(f"{flag} is empty: give a file name, or '-' for stdout")
    if "\0" in path:
        raise UsageError(f"{flag} contains a NUL character")
    try:
        info: os.stat_result | None = os.stat(path)  # follows symbolic links
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a link loop, a path through a file, no permission to look
        raise _cannot(path, exc.strerror or str(exc)) from None
    if info is None:
        return _new_file(path, flag)
    if stat.S_ISREG(info.st_mode):
        return _existing_file(path, info)
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{flag} {path!r} is a directory: give a file name")
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode):
        return Output(path, fd=_open_stream(path, fifo=stat.S_ISFIFO(info.st_mode)))
    kind = "a block device" if stat.S_ISBLK(info.st_mode) else "not a file"
    raise UsageError(
        f"{flag} {path!r} is {kind}: give a regular file, a FIFO or a character device"
    )


def open_output(path: str) -> AbstractContextManager[BinaryIO]:
    """:func:`check_output`, then :meth:`Output.open` (for callers that need no early check)."""
    return check_output(path).open()


# -- checks ---------------------------------------------------------------------------------


def _cannot(path: str, why: str) -> UsageError:
    return UsageError(f"cannot write {path!r}: {why}")


def _new_file(path: str, flag: str) -> Output:
    if path.endswith(("/", os.sep)):
        raise UsageError(f"{flag} {path!r} names a directory: give a file name")
    # A dangling symbolic link: the file is created where it points, the link kept.
    target = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise _cannot(path, f"there is no directory {directory!r}")
    _check_directory(path, directory, None)
    return Output(path, target=target)


def _existing_file(path: str, info: os.stat_result) -> Output:
    target = os.path.realpath(path)
    # Root may write to anything: a file without any write bit is still read-only to us,
    # as someone made it so on purpose. os.access (the real uid's rights) also reports
    # immutable files and read-only filesystems, for root too.
    if not info.st_mode & 0o222:
        raise _cannot(path, "the file is read-only")
    if not os.access(target, os.W_OK):
        raise _cannot(path, "this user may not write to the file")
    if _inode_flags(target) & (_FS_IMMUTABLE_FL | _FS_APPEND_FL):
        raise _cannot(path, "the file is immutable or append-only (see lsattr)")
    _check_directory(path, os.path.dirname(target), info)
    return Output(path, target=target)


def _check_directory(path: str, directory: str, file: os.stat_result | None) -> None:
    """The temporary file is created in ``directory`` and renamed there."""
    if not os.access(directory, os.W_OK | os.X_OK):
        raise _cannot(path, f"the directory {directory!r} is not writable")
    if _inode_flags(directory) & (_FS_IMMUTABLE_FL | _FS_APPEND_FL):
        raise _cannot(path, f"the directory {directory!r} is immutable or append-only")
    euid = _euid()
    if file is not None and euid != 0:
        folder = os.stat(directory)
        # In a sticky directory (/tmp) only a file's owner may replace it.
        if folder.st_mode & stat.S_ISVTX and euid not in (folder.st_uid, file.st_uid):
            raise _cannot(path, "the file belongs to another user in a sticky directory")


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


def _inode_flags(path: str) -> int:
    """The file's ``lsattr`` flags; 0 where the filesystem or OS has none."""
    if not sys.platform.startswith("linux"):
        return 0
    import fcntl  # POSIX only: imported where the Linux-only branch needs it

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return 0
    try:
        raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("l", 0))
        flags: int = struct.unpack("l", raw)[0]
        return flags
    except OSError:
        return 0
    finally:
        os.close(fd)


def _open_stream(path: str, *, fifo: bool) -> int:
    """Open a FIFO or device for writing now, so a failure is a usage error."""
    try:
        if not fifo:
            return os.open(path, os.O_WRONLY)
        # Without a reader, a blocking open would wait forever: ask without blocking.
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise _cannot(path, "no process is reading from this FIFO") from None
        raise _cannot(path, exc.strerror or str(exc)) from None
    os.set_blocking(fd, True)
    return fd


# -- writing --------------------------------------------------------------------------------


def _new_file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777  # replacing a file keeps its permissions
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def _replace_on_success(target: str, shown: str) -> Iterator[BinaryIO]:
    directory, name = os.path.split(target)
    try:
        # Same directory as the target, so os.replace is a rename on one filesystem.
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise _cannot(shown, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        _keep_attributes(temp, target)
        _still_replaceable(target, shown)
        os.replace(temp, target)
    except BaseException:
        # Any failure, Ctrl-C included: the previous file stays as it was.
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _keep_attributes(temp: str, target: str) -> None:
    os.chmod(temp, _new_file_mode(target))
    if _euid() == 0:
        with contextlib.suppress(OSError):
            previous = os.stat(target)
            os.chown(temp, previous.st_uid, previous.st_gid)


def _still_replaceable(target: str, shown: str) -> None:
    """The check ran before the download: the path may have changed since."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise CommandError(f"{shown!r} changed while downloading; nothing was replaced")


@contextmanager
def _stream(file: BinaryIO, *, close: bool) -> Iterator[BinaryIO]:
    try:
        yield file
        file.flush()
    finally:
        if close:
            with contextlib.suppress(OSError):
                file.close()
