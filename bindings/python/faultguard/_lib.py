# SPDX-License-Identifier: LGPL-2.1-or-later
"""ctypes bindings to libfaultguard: the C functions and their prototypes.

The library is loaded from this package's directory first (``make python``
copies it there), then wherever the dynamic linker finds an installed
``libfaultguard``. Nothing here is public API.

Two views of the same library are used:

* ``fast``: the dictionary operations, without errno capture (they return
  -errno). FaultguardDict serialises its calls with a lock, since the C
  writer expects one writer at a time and ctypes releases the GIL.
  ``fg_set`` has no argtypes: converting arguments through argtypes costs
  about a third of an assignment, so its caller passes ready ctypes values
  (a c_void_p handle, bytes, bytes, a c_size_t).
* ``lib`` (with errno capture): everything else, which may do I/O and
  reports failure through errno.
"""

import ctypes
import ctypes.util
import errno
import os

__all__ = ["lib", "fast", "Opts", "error_from_code", "error_from_errno", "load_library"]

_LIBNAME = "libfaultguard.so"


class Opts(ctypes.Structure):
    """struct fg_opts (include/faultguard.h)."""

    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("app", ctypes.c_char_p),
        ("rescue_argv", ctypes.POINTER(ctypes.c_char_p)),
        ("socket_path", ctypes.c_char_p),
        ("max_bytes", ctypes.c_size_t),
        ("flags", ctypes.c_uint),
    ]


def _candidates():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBNAME)
    if os.path.exists(here):
        yield here
    found = ctypes.util.find_library("faultguard")
    if found:
        yield found
    # find_library does not search LD_LIBRARY_PATH on every Python; the
    # dynamic linker does.
    yield _LIBNAME + ".0"


def load_library():
    """Returns (CDLL with errno capture, CDLL without) for libfaultguard."""
    errors = []
    for path in _candidates():
        try:
            return (ctypes.CDLL(path, use_errno=True), ctypes.CDLL(path))
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    raise ImportError("faultguard: cannot load libfaultguard (" + "; ".join(errors) + ")")


def _prototype(dll, name, restype, argtypes):
    fn = getattr(dll, name)
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


lib, fast = load_library()

_p = ctypes.c_void_p
_size_p = ctypes.POINTER(ctypes.c_size_t)

# Live dictionary (struct fg *): no system call, no errno.
_prototype(fast, "fg_set", ctypes.c_int, None)  # (c_void_p, bytes, bytes, c_size_t)
_prototype(fast, "fg_get", ctypes.c_int, [_p, ctypes.c_char_p, _p, ctypes.c_size_t, _size_p])
_prototype(fast, "fg_del", ctypes.c_int, [_p, ctypes.c_char_p])
_prototype(fast, "fg_registered", ctypes.c_int, [_p])

# Handles and snapshots.
_prototype(lib, "fg_open", _p, [ctypes.POINTER(Opts)])
_prototype(lib, "fg_close", ctypes.c_int, [_p])
_prototype(lib, "fg_memfd_create", ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t])
_prototype(lib, "fg_snapshot_read_fd", _p, [ctypes.c_int, _size_p])
_prototype(lib, "fg_snapshot_open", _p, [ctypes.c_char_p])
_prototype(lib, "fg_snapshot_save", ctypes.c_int, [_p, ctypes.c_char_p])
_prototype(lib, "fg_snapshot_count", ctypes.c_size_t, [_p])
_prototype(
    lib,
    "fg_snapshot_entry",
    ctypes.c_int,
    [_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_p), _size_p],
)
_prototype(
    lib,
    "fg_snapshot_meta",
    ctypes.c_int,
    [
        _p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_uint),
        ctypes.POINTER(ctypes.c_longlong),
    ],
)
_prototype(lib, "fg_snapshot_close", None, [_p])
_prototype(lib, "fg_claim_previous", _p, [ctypes.POINTER(Opts)])


def error_from_code(rc, what):
    """An OSError for a negative errno returned by a libfaultguard function."""
    code = -rc
    return OSError(code, "%s: %s" % (what, os.strerror(code)))


def error_from_errno(what):
    """An OSError for a failed pointer-returning call (errno captured by ctypes)."""
    code = ctypes.get_errno() or errno.EIO
    return OSError(code, "%s: %s" % (what, os.strerror(code)))
