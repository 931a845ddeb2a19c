# SPDX-License-Identifier: LGPL-2.1-or-later
"""The live dictionary: a MutableMapping whose values are pickled into
libfaultguard's crash-safe dictionary."""

import ctypes
import errno
import pickle
import threading
from collections.abc import MutableMapping

from . import _lib

__all__ = ["FaultguardDict", "KEY_MAX", "encode_key"]

KEY_MAX = 255  # FG_KEY_MAX: longest key, in bytes

_fg_set = _lib.fast.fg_set
_fg_get = _lib.fast.fg_get
_fg_del = _lib.fast.fg_del
_size_t = ctypes.c_size_t
_dumps = pickle.dumps
_loads = pickle.loads


def encode_key(key):
    """The UTF-8 bytes of ``key``, or TypeError/ValueError when it cannot be a key.

    Keys are ``str`` of 1 to 255 UTF-8 bytes without NUL characters.
    """
    if not isinstance(key, str):
        raise TypeError("faultguard keys are str, not %s" % type(key).__name__)
    raw = key.encode("utf-8")
    if not raw:
        raise ValueError("a faultguard key cannot be empty")
    if len(raw) > KEY_MAX:
        raise ValueError("a faultguard key is at most %d bytes in UTF-8, not %d" % (KEY_MAX, len(raw)))
    if b"\0" in raw:
        raise ValueError("a faultguard key cannot contain NUL characters")
    return raw


def _lookup_key(key):
    """encode_key for lookups: a key that cannot exist is a KeyError."""
    try:
        return encode_key(key)
    except (TypeError, ValueError):
        raise KeyError(key) from None


class FaultguardDict(MutableMapping):
    """A dictionary whose contents survive the death of the process writing it.

    Behaves like a ``dict`` with ``str`` keys (1-255 UTF-8 bytes, no NUL):
    ``data[key] = value`` stores ``pickle.dumps(value)`` in the crash-safe
    dictionary (a copy: changing ``value`` afterwards changes nothing until
    it is assigned again), ``data[key]`` returns a fresh unpickled copy, and
    ``del``, ``in``, iteration (in insertion order), ``len`` and the other
    mapping methods work as on a ``dict``.

    After an abrupt death at any instant, every key holds the value of its
    last completed assignment (or of the one before, if the process died
    during the assignment). A value that does not fit in the dictionary
    raises ``OSError(ENOSPC)`` and leaves every earlier value intact.

    You get one from :func:`faultguard.start` (in the guarded ``launch``) or
    from :func:`faultguard.register`; it is not created directly.
    """

    def __init__(self, handle):
        self._fg = handle  # int address of the struct fg; None once closed
        self._h = ctypes.c_void_p(handle)  # the same, ready for untyped calls
        # The keys, for iteration and len, each with its UTF-8 bytes: this
        # process is the only writer. A dict keeps insertion order, like the
        # dict this object imitates.
        self._keys = {}
        # The C writer takes one writer at a time, and the key set must stay
        # in step with the dictionary when several threads write.
        self._lock = threading.Lock()
        self._buf = ctypes.create_string_buffer(4096)
        self._len = ctypes.c_size_t()

    def _handle(self):
        if self._fg is None:
            raise ValueError("operation on a closed faultguard dictionary")
        return self._fg

    def _check(self, rc, key):
        if rc == -errno.ENOENT:
            raise KeyError(key)
        if rc == -errno.EBADF or self._fg is None:
            raise ValueError("operation on a closed faultguard dictionary")
        if rc == -errno.ENOSPC:
            raise OSError(errno.ENOSPC, "the faultguard dictionary is full (earlier values are kept)")
        raise _lib.error_from_code(rc, "faultguard dictionary, key %r" % (key,))

    def __setitem__(self, key, value):
        # The hot path: a known key needs no encoding or checking.
        keys = self._keys
        raw = keys.get(key) if type(key) is str else None
        if raw is None:
            raw = encode_key(key)
        data = _dumps(value)
        lock = self._lock
        lock.acquire()
        try:
            rc = _fg_set(self._h, raw, data, _size_t(len(data)))
            if rc == 0:
                if key not in keys:
                    keys[key] = raw
                return
        finally:
            lock.release()
        self._check(rc, key)

    def __getitem__(self, key):
        raw = self._keys.get(key) if type(key) is str else None
        if raw is None:
            raw = _lookup_key(key)
        with self._lock:
            fg = self._handle()
            rc = _fg_get(fg, raw, self._buf, len(self._buf), self._len)
            if rc == -errno.ENOBUFS:
                self._buf = ctypes.create_string_buffer(self._len.value)
                rc = _fg_get(fg, raw, self._buf, len(self._buf), self._len)
            if rc < 0:
                self._check(rc, key)
            data = ctypes.string_at(self._buf, self._len.value)
        return _loads(data)

    def __delitem__(self, key):
        raw = _lookup_key(key)
        with self._lock:
            rc = _fg_del(self._handle(), raw)
            if rc < 0:
                self._check(rc, key)
            self._keys.pop(key, None)

    def __contains__(self, key):
        return key in self._keys

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)

    def __repr__(self):
        state = "closed" if self._fg is None else "%d keys" % len(self._keys)
        return "<faultguard.FaultguardDict %s>" % state

    @property
    def registered(self):
        """True while a guardian or the faultguardd collector holds the dictionary."""
        if self._fg is None:
            return False
        return bool(_lib.fast.fg_registered(self._fg))

    @property
    def closed(self):
        """True after :meth:`close`."""
        return self._fg is None

    def close(self):
        """Ends the dictionary in order: its data is discarded.

        The collector then runs no rescue for this process, and a guardian's
        rescue handler finds the dictionary empty. Use it when the
        application is about to end normally but may still exit with a
        non-zero status that is no crash. Further use of the dictionary
        raises ValueError. Closing twice does nothing.
        """
        with self._lock:
            if self._fg is None:
                return
            rc = _lib.lib.fg_close(self._fg)
            self._fg = None
            self._h = ctypes.c_void_p(None)
            self._keys.clear()
        if rc < 0:
            raise _lib.error_from_code(rc, "fg_close")
