# SPDX-License-Identifier: LGPL-2.1-or-later
"""Autosave files: what a guardian writes while its app runs, and how a later
process tells whether a guardian is still writing one and recovers from it.

An autosave file is a .fgsnap snapshot (zlib-compressed, written to a
temporary name, fsynced and renamed into place). ``FILE + ".tmp"`` holds the
autosave before the current one. The guardian sets the file's access time
to now once a second, so an access time less than ACTIVE_SECONDS old means
a guardian is alive.
"""

import os
import time

from . import _snapshot

__all__ = ["Autosaver", "is_active", "recover", "ACTIVE_SECONDS", "TOUCH_SECONDS"]

ACTIVE_SECONDS = 2.0
TOUCH_SECONDS = 1.0


def _backup(path):
    return path + ".tmp"


def _write_atomic(path, data):
    """Writes ``data`` to ``path`` through a temporary name: fsync, rename."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, ".%s.%d.copy" % (name, os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Autosaver:
    """The guardian side: periodic snapshots of a dictionary memfd to a file."""

    def __init__(self, memfd, path, interval):
        self.memfd = memfd
        self.path = os.fspath(path)
        self.interval = interval

    @staticmethod
    def check_args(interval, path):
        """Validates start()'s autosave arguments; True when autosave is on."""
        if interval is None and path is None:
            return False
        if interval is None or path is None:
            raise TypeError("autosave_interval and autosave_file go together: give both or neither")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise TypeError("autosave_interval is a number of seconds")
        if not interval > 0:
            raise ValueError("autosave_interval must be positive, not %r" % (interval,))
        if os.path.lexists(path):
            raise RuntimeError(
                "the autosave file %s already exists: recover() it, or remove it, first" % (os.fspath(path),)
            )
        return True

    def begin(self):
        """Writes the first (empty) autosave, so the file exists and is active
        from the start; a stale backup of an earlier run is removed."""
        _remove(_backup(self.path))
        _snapshot.save_fd(self.memfd, self.path)

    def save(self):
        """Copies the current autosave to FILE.tmp and writes the dictionary to FILE.

        Both steps replace their file atomically, so a guardian killed at any
        instant leaves FILE complete (the newest autosave) and FILE.tmp, if
        present, complete and separate (a copy, not a second name).
        """
        try:
            with open(self.path, "rb") as f:
                previous = f.read()
        except FileNotFoundError:
            previous = None  # removed from outside: nothing to keep
        if previous is not None:
            _write_atomic(_backup(self.path), previous)
        _snapshot.save_fd(self.memfd, self.path)

    def touch(self):
        """Sets the autosave file's access time to now (keeping its mtime)."""
        try:
            st = os.stat(self.path)
            os.utime(self.path, ns=(time.time_ns(), st.st_mtime_ns))
        except FileNotFoundError:
            pass

    def remove(self):
        """Removes FILE and FILE.tmp: the data needs no recovery."""
        _remove(self.path)
        _remove(_backup(self.path))


def is_active(autosave_file):
    """True when ``autosave_file`` is being written by a running guardian.

    A guardian sets the file's access time to now once a second, so the file
    is active when its access time is less than 2 seconds old. A missing file
    is not active.
    """
    try:
        st = os.stat(autosave_file)
    except FileNotFoundError:
        return False
    return time.time() - st.st_atime < ACTIVE_SECONDS


def recover(rescue, autosave_file):
    """Loads the dictionary from an autosave file and calls ``rescue(data)``.

    Use it after the guardian itself died (for example when the whole
    Python process was killed), so that ``start()`` could not call the
    rescue handler. If a guardian still writes the file, waits 2 seconds
    and raises RuntimeError if it is still active.

    Returns 0 when ``autosave_file`` was used, 1 when it could not be loaded
    and the previous autosave ``autosave_file + ".tmp"`` was used instead.
    Raises RuntimeError when neither can be loaded. ``data`` is a
    :class:`RescuedData`. The files are left in place: remove them once the
    data is safe (``start()`` refuses to overwrite an existing autosave).
    """
    autosave_file = os.fspath(autosave_file)
    if is_active(autosave_file):
        time.sleep(ACTIVE_SECONDS)
        if is_active(autosave_file):
            raise RuntimeError("%s is in use by a running faultguard guardian" % autosave_file)
    try:
        data = _snapshot.from_file(autosave_file)
    except OSError as first:
        try:
            data = _snapshot.from_file(_backup(autosave_file))
        except OSError as second:
            raise RuntimeError("recovery failed: %s; %s" % (first, second)) from second
        rescue(data)
        return 1
    rescue(data)
    return 0
