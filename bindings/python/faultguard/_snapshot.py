# SPDX-License-Identifier: LGPL-2.1-or-later
"""Rescued dictionaries: reading a dictionary memfd or a .fgsnap file into a
:class:`RescuedData`, and writing a memfd's contents to a .fgsnap file."""

import ctypes
import errno
import os
import pickle
import re
from collections.abc import Mapping, MutableMapping

from . import _lib

__all__ = ["RescuedData", "ClaimedData", "from_fd", "from_file", "save_fd", "claim_previous"]


class RescuedData(MutableMapping):
    """The dictionary of an application that died, as handed to a rescue handler.

    It behaves like the dictionary the application wrote: ``data[key]``
    unpickles a fresh copy of the value stored under ``key``; ``in``,
    iteration (in key order), ``len``, ``get`` and the other mapping methods
    work as on a ``dict``. Assignments and deletions change only this object.

    A value that does not unpickle (for example because its class cannot be
    imported here) raises only when it is read; :meth:`raw` returns its bytes.

    Attributes (from the snapshot, where known): ``discarded`` (entries
    dropped as torn or corrupt), ``app``, ``pid``, ``uid``, ``time_ms``.
    Unpickling runs code chosen by whoever wrote the data: only rescue data
    written by your own application.
    """

    def __init__(self, entries=None, discarded=0, app="", pid=0, uid=0, time_ms=0):
        self._store = dict(entries or {})
        self.discarded = discarded
        self.app = app
        self.pid = pid
        self.uid = uid
        self.time_ms = time_ms

    def __getitem__(self, key):
        return pickle.loads(self._store[key])

    def __setitem__(self, key, value):
        self._store[key] = pickle.dumps(value)

    def __delitem__(self, key):
        del self._store[key]

    def __contains__(self, key):
        return key in self._store

    def __iter__(self):
        return iter(self._store)

    def __len__(self):
        return len(self._store)

    def raw(self, key):
        """The stored bytes of ``key`` (the pickle), without unpickling them."""
        return self._store[key]

    def __repr__(self):
        return "<faultguard.RescuedData keys=%r>" % (list(self._store),)


def _decode_key(raw):
    # Keys written from Python are UTF-8; keep other bytes round-trippable.
    return raw.decode("utf-8", "surrogateescape")


def _convert(snap, discarded):
    """Copies a struct fg_snapshot into a RescuedData; does not close it."""
    lib = _lib.lib
    key = ctypes.c_char_p()
    val = ctypes.c_void_p()
    length = ctypes.c_size_t()
    entries = {}
    for i in range(lib.fg_snapshot_count(snap)):
        rc = lib.fg_snapshot_entry(snap, i, ctypes.byref(key), ctypes.byref(val), ctypes.byref(length))
        if rc < 0:
            raise _lib.error_from_code(rc, "fg_snapshot_entry")
        n = length.value
        entries[_decode_key(key.value)] = ctypes.string_at(val.value, n) if n else b""
    app = ctypes.c_char_p()
    pid = ctypes.c_int()
    uid = ctypes.c_uint()
    time_ms = ctypes.c_longlong()
    lib.fg_snapshot_meta(snap, ctypes.byref(app), ctypes.byref(pid), ctypes.byref(uid), ctypes.byref(time_ms))
    return RescuedData(
        entries,
        discarded=discarded,
        app=(app.value or b"").decode("utf-8", "replace"),
        pid=pid.value,
        uid=uid.value,
        time_ms=time_ms.value,
    )


def from_fd(fd):
    """Reads (copies and validates) the dictionary memfd ``fd``."""
    discarded = ctypes.c_size_t(0)
    snap = _lib.lib.fg_snapshot_read_fd(fd, ctypes.byref(discarded))
    if not snap:
        raise _lib.error_from_errno("reading the faultguard dictionary")
    try:
        return _convert(snap, discarded.value)
    finally:
        _lib.lib.fg_snapshot_close(snap)


def from_file(path):
    """Loads a .fgsnap file (an autosave or a collector's snapshot)."""
    snap = _lib.lib.fg_snapshot_open(os.fsencode(path))
    if not snap:
        raise _lib.error_from_errno("loading %s" % (os.fsdecode(path),))
    try:
        return _convert(snap, 0)
    finally:
        _lib.lib.fg_snapshot_close(snap)


def save_fd(fd, path):
    """Writes the dictionary in memfd ``fd`` to ``path`` (compressed, atomic)."""
    snap = _lib.lib.fg_snapshot_read_fd(fd, None)
    if not snap:
        raise _lib.error_from_errno("reading the faultguard dictionary")
    try:
        rc = _lib.lib.fg_snapshot_save(snap, os.fsencode(path))
    finally:
        _lib.lib.fg_snapshot_close(snap)
    if rc < 0:
        raise _lib.error_from_code(rc, "writing %s" % (os.fsdecode(path),))


class ClaimedData(Mapping):
    """A claimed snapshot (:func:`faultguard.claim_previous`): a read-only
    mapping of the original keys to their unpickled values (a fresh copy at
    each read). ``app``, ``pid``, ``uid``, ``time_ms`` say who died, when."""

    def __init__(self, rescued):
        self._data = rescued
        self.app = rescued.app
        self.pid = rescued.pid
        self.uid = rescued.uid
        self.time_ms = rescued.time_ms

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def raw(self, key):
        """The stored bytes of ``key`` (the pickle), without unpickling them."""
        return self._data.raw(key)

    def __repr__(self):
        return "<faultguard.ClaimedData app=%r keys=%r>" % (self.app, list(self._data))


_APP_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def claim_previous(app, socket_path=None):
    """The data the last abnormal end of ``app`` left, at its next start.

    Returns the newest snapshot of ``app`` under this process's uid that
    nobody claimed yet, as a :class:`ClaimedData`, and claims it (the next
    call returns the one before, or None); None when there is none. Asks the
    faultguardd collector (``socket_path``, else ``$FAULTGUARD_SOCKET``,
    else the default), which hands the file over as a descriptor (this
    works from a container); with no collector running, reads the
    standalone state directory. ValueError for a bad app name, OSError when
    the collector could not be asked.
    """
    if not isinstance(app, str):
        raise TypeError("app is a str")
    if app in (".", "..") or not _APP_RE.match(app):
        raise ValueError("app must be 1-64 characters of [A-Za-z0-9._-]")
    opts = _lib.Opts()
    opts.sz = ctypes.sizeof(_lib.Opts)
    opts.app = app.encode()
    opts.socket_path = os.fsencode(socket_path) if socket_path is not None else None
    snap = _lib.lib.fg_claim_previous(ctypes.byref(opts))
    if not snap:
        code = ctypes.get_errno()
        if code == errno.ENOENT:
            return None
        raise _lib.error_from_errno("claiming the snapshot of %s" % (app,))
    try:
        return ClaimedData(_convert(snap, 0))
    finally:
        _lib.lib.fg_snapshot_close(snap)
