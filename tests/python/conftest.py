# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared fixtures for the Python binding's tests.

`make check` runs them with PYTHONPATH=$BUILD/python and FG_BUILD_DIR=$BUILD.
Subprocesses get the same faultguard package through PYTHONPATH.
"""

import ctypes
import faulthandler
import os
import subprocess
import sys
import time

import pytest

BUILD_DIR = os.environ.get("FG_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"
)
if not any(os.path.isdir(os.path.join(p or ".", "faultguard")) for p in sys.path):
    sys.path.insert(0, os.path.join(BUILD_DIR, "python"))

import faultguard  # noqa: E402

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(faultguard.__file__)))


def segfault():
    """Dies of SIGSEGV, as the original faultguard's example does. pytest's
    faulthandler (inherited by a forked child) would print a traceback first."""
    faulthandler.disable()
    ctypes.string_at(0)


def wait_until(predicate, timeout=15.0, what="condition"):
    """Polls predicate until it is true; fails the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail("timed out waiting for " + what)


@pytest.fixture
def build_dir():
    return os.path.abspath(BUILD_DIR)


@pytest.fixture
def py_env():
    """Environment for a Python subprocess that imports this faultguard."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("FAULTGUARD_FD", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def run_py(tmp_path, py_env):
    """Runs a Python script (source text) in a subprocess; returns CompletedProcess."""

    def run(source, *args, python=sys.executable, timeout=60, **kw):
        script = tmp_path / "script_{}.py".format(time.monotonic_ns())
        script.write_text(source)
        return subprocess.run(
            [python, str(script), *args],
            env=py_env,
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kw,
        )

    return run


@pytest.fixture
def no_socket(tmp_path):
    """A collector socket path where no collector listens."""
    return str(tmp_path / "no-collector.sock")
