# SPDX-License-Identifier: LGPL-2.1-or-later
"""faultguard: rescue a Python application's important data after it dies.

The API of the original Python faultguard, on libfaultguard's crash-safe
dictionary::

    import faultguard

    def launch(data, args):
        data["document"] = build_document(args)   # pickled, crash-safe
        run_the_app()                              # may segfault

    def rescue(data, exit_code, args):
        save_somewhere(data["document"])

    faultguard.start(launch, rescue, args=("Hello", "World"))

* :func:`start` runs ``launch`` in a guarded child and ``rescue`` in the
  parent after an abnormal end (standalone mode: no daemon, no root).
* :func:`is_active` and :func:`recover` use the autosave file ``start``
  can keep, for when the guardian process itself was killed.
* :func:`claim_previous` hands back, at the next start, the data the last
  abnormal end of an app left (the newest snapshot nobody claimed yet).
* :func:`register` is the system-wide mode: the dictionary is registered
  with the ``faultguardd`` collector, which snapshots it and runs
  ``rescue_argv`` after a crash. No child process.

Values are stored with ``pickle``; keys are ``str`` of 1 to 255 UTF-8 bytes.
"""

from ._autosave import is_active, recover
from ._dict import FaultguardDict
from ._guard import open_dictionary, start
from ._snapshot import ClaimedData, RescuedData, claim_previous, from_file

__all__ = [
    "start",
    "recover",
    "is_active",
    "register",
    "load_snapshot",
    "FaultguardDict",
    "RescuedData",
    "ClaimedData",
    "claim_previous",
]

__version__ = "0.1.0"


def register(app, rescue_argv=None, socket_path=None):
    """Registers this process with the faultguardd collector (system-wide mode).

    Returns a :class:`FaultguardDict`: what is stored in it is snapshotted
    by the collector if this process dies abnormally (a fatal signal or a
    non-zero exit status), and ``rescue_argv`` (a list of strings, or None
    for a snapshot only) runs with ``$FAULTGUARD_SNAPSHOT`` naming the
    snapshot file; :func:`load_snapshot` reads it back. No child process is
    started. ``app`` is 1-64 of ``[A-Za-z0-9._-]`` (else ValueError);
    ``socket_path`` defaults to ``$FAULTGUARD_SOCKET``, else
    ``/run/faultguard/faultguard.sock``.

    Works without a running collector: registration happens in the
    background as soon as one appears. Under a guardian that set
    ``$FAULTGUARD_FD`` (``faultguardctl run``), the guardian's dictionary is
    used instead. Call ``close()`` on the result for an orderly end with no
    rescue.
    """
    if not isinstance(app, str):
        raise TypeError("app is a str")
    return open_dictionary(app, rescue_argv=rescue_argv, socket_path=socket_path)


def load_snapshot(path):
    """Reads a .fgsnap snapshot file (e.g. ``$FAULTGUARD_SNAPSHOT`` in a rescue
    command) into a :class:`RescuedData` whose values are unpickled on access."""
    return from_file(path)

