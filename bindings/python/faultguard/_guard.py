# SPDX-License-Identifier: LGPL-2.1-or-later
"""The standalone guardian: start() runs the app in a forked child, keeps its
dictionary, and calls the rescue handler when the child dies abnormally.

The parent creates the dictionary memfd (fg_memfd_create) and the child
inherits it through fork; the child's fg_open finds it in $FAULTGUARD_FD,
exactly as a C program started by fg_guard or `faultguardctl run` does.
"""

import ctypes
import errno
import os
import re
import select
import signal
import sys
import threading
import time
import traceback

from . import _autosave, _lib, _snapshot
from ._dict import FaultguardDict

__all__ = ["start", "app_name", "open_dictionary"]

# Signals the guardian ignores while the child runs (as fg_guard does), so a
# Ctrl-C or a `kill` of the process group reaches the app alone.
GUARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

_APP_BAD = re.compile(r"[^A-Za-z0-9._-]")


def app_name(name=None):
    """A valid app name (1-64 of [A-Za-z0-9._-]) derived from ``name`` or sys.argv[0]."""
    if name is None:
        argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
        name = os.path.basename(argv0)
        if name.endswith(".py"):
            name = name[:-3]
    name = _APP_BAD.sub("_", name)[:64]
    return name or "python"


def _no_nul(raw, what):
    if b"\0" in raw:
        raise ValueError("%s cannot contain NUL characters" % what)
    return raw


def open_dictionary(app, rescue_argv=None, socket_path=None, max_bytes=0):
    """fg_open: a FaultguardDict for ``app`` (guardian mode when $FAULTGUARD_FD is set)."""
    if "\0" in app:
        raise ValueError("an app name cannot contain NUL characters")
    if rescue_argv is not None:
        if isinstance(rescue_argv, (str, bytes)):
            raise TypeError("rescue_argv is a list of arguments, not a string")
        argv = [_no_nul(os.fsencode(a), "rescue_argv") for a in rescue_argv]
        c_argv = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    else:
        c_argv = None
    opts = _lib.Opts(
        sz=ctypes.sizeof(_lib.Opts),
        app=app.encode("utf-8"),
        rescue_argv=ctypes.cast(c_argv, ctypes.POINTER(ctypes.c_char_p)) if c_argv is not None else None,
        socket_path=_no_nul(os.fsencode(socket_path), "socket_path") if socket_path is not None else None,
        max_bytes=max_bytes,
        flags=0,
    )
    handle = _lib.lib.fg_open(ctypes.byref(opts))
    if not handle:
        err = _lib.error_from_errno("fg_open")
        if err.errno == errno.EINVAL:
            raise ValueError(
                "fg_open: invalid options (app names are 1-64 of [A-Za-z0-9._-]; "
                "rescue_argv needs a non-empty first argument)"
            )
        raise err
    return FaultguardDict(handle)


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


def _flush_std_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def _child(memfd, app, launch, args, saved_handlers):
    """The guarded app. Never returns: ends the process with os._exit."""
    code = 1
    try:
        # The app gets the signal handlers its caller had: a plain Python
        # program thus gets KeyboardInterrupt on Ctrl-C, as with the original
        # faultguard (and as without any guardian).
        _restore(saved_handlers)
        os.environ["FAULTGUARD_FD"] = str(memfd)
        try:
            data = open_dictionary(app)
        finally:
            os.environ.pop("FAULTGUARD_FD", None)
        try:
            if args is None:
                launch(data)
            else:
                launch(data, args)
            code = 0
        except SystemExit as e:
            # As multiprocessing.Process does.
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                sys.stderr.write(str(e.code) + "\n")
                code = 1
        if code == 0:
            data.close()  # an orderly end: nothing to rescue
    except BaseException:
        code = 1
        try:
            sys.stderr.write("faultguard: uncaught exception in the guarded application:\n")
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        _flush_std_streams()
        os._exit(code & 0xFF)


def _wait(pid, autosaver):
    """Waits for the child; autosaves meanwhile when ``autosaver`` is set. Returns the wait status."""
    if autosaver is None:
        while True:
            try:
                return os.waitpid(pid, 0)[1]
            except InterruptedError:
                continue
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    poller = None
    if pidfd is not None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
    try:
        now = time.monotonic()
        next_save = now + autosaver.interval
        next_touch = now + _autosave.TOUCH_SECONDS
        while True:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                return status
            timeout = max(0.0, min(next_save, next_touch) - time.monotonic())
            if poller is not None:
                poller.poll(int(timeout * 1000) + 1)
            else:
                time.sleep(min(timeout, 0.05))
            now = time.monotonic()
            if now >= next_save:
                _autosave_quietly(autosaver.save)
                next_save = now + autosaver.interval
            if now >= next_touch:
                _autosave_quietly(autosaver.touch)
                next_touch = now + _autosave.TOUCH_SECONDS
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _autosave_quietly(fn):
    # A failed autosave (disk full, directory removed) must not end the guard:
    # the dictionary itself is safe, and the rescue still gets it.
    try:
        fn()
    except OSError as e:
        sys.stderr.write("faultguard: autosave failed: %s\n" % (e,))


def start(launch, rescue, args=None, autosave_interval=None, autosave_file=None):
    """Runs ``launch`` in a guarded child process; calls ``rescue`` if it dies.

    ``launch(data)`` -- or ``launch(data, args)`` when ``args`` is not None --
    runs in a forked child. ``data`` is a :class:`FaultguardDict`: a
    ``collections.abc.MutableMapping`` whose values are pickled into a
    crash-safe dictionary that outlives the child. If the child ends with an
    exit code other than 0, the parent calls ``rescue(data, exit_code)`` --
    or ``rescue(data, exit_code, args)`` -- with the rescued dictionary (a
    :class:`RescuedData`). Returns the exit code.

    Exit codes follow ``multiprocessing``: 0 when ``launch`` returns, the
    status of ``sys.exit(status)``, 1 after an uncaught exception (its
    traceback is printed), minus the signal number when the child was
    killed (-11 after a segmentation fault, -9 after SIGKILL).

    Signals: while the child runs, this process ignores SIGINT, SIGTERM,
    SIGHUP and SIGQUIT, so a Ctrl-C reaches the app alone. The child gets the
    handlers the caller had when it called start(): in a plain Python program
    a Ctrl-C raises KeyboardInterrupt in ``launch`` (exit code 1 unless
    caught, as with the original faultguard); an app that prefers to die of
    the signal sets ``signal.signal(signal.SIGINT, signal.SIG_DFL)`` itself
    (exit code -2). Signal handlers are changed only when start() runs in
    the main thread.

    Autosave: with ``autosave_interval`` (seconds) and ``autosave_file`` --
    both or neither, else TypeError -- the guardian writes the dictionary,
    compressed, to ``autosave_file`` at start and every ``autosave_interval``
    seconds, after copying the previous autosave to ``autosave_file +
    ".tmp"``, and sets the file's access time to now once a second (see
    :func:`is_active`). An existing ``autosave_file`` raises RuntimeError.
    When the app ends with exit code 0 both files are removed. After a crash
    the dictionary is autosaved once more before ``rescue`` runs, and both
    files are removed once ``rescue`` returns; if ``rescue`` raises, they
    stay for :func:`recover`. If the guardian itself dies, they stay too.
    """
    autosave = _autosave.Autosaver.check_args(autosave_interval, autosave_file)
    app = app_name()
    memfd = _lib.lib.fg_memfd_create(app.encode(), 0)
    if memfd < 0:
        raise _lib.error_from_code(memfd, "creating the faultguard dictionary")
    try:
        autosaver = None
        if autosave:
            autosaver = _autosave.Autosaver(memfd, autosave_file, autosave_interval)
            autosaver.begin()
        return _guard(memfd, app, launch, rescue, args, autosaver)
    finally:
        os.close(memfd)


def _guard(memfd, app, launch, rescue, args, autosaver):
    saved = {}
    if _in_main_thread():
        for sig in GUARDED_SIGNALS:
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
        # With SIGCHLD ignored the child would be reaped behind our back.
        if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
            saved[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _flush_std_streams()
    try:
        pid = os.fork()
    except BaseException:
        _restore(saved)
        raise
    if pid == 0:
        _child(memfd, app, launch, args, saved)
    try:
        status = _wait(pid, autosaver)
    finally:
        _restore(saved)
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code == 0:
        if autosaver is not None:
            autosaver.remove()
        return 0
    data = _snapshot.from_fd(memfd)
    if autosaver is not None:
        _autosave_quietly(autosaver.save)
    if args is None:
        rescue(data, exit_code)
    else:
        rescue(data, exit_code, args)
    if autosaver is not None:
        autosaver.remove()
    return exit_code


def _restore(saved):
    for sig, handler in saved.items():
        # None: a handler installed outside Python, which Python cannot reinstall.
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
