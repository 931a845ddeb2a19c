# SPDX-License-Identifier: LGPL-2.1-or-later
"""faultguard.register(): the system-wide mode's entry point."""

import json
import os
import shutil
import subprocess
import sys
import time

import faultguard
import pytest

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(faultguard.__file__)))


def test_register_without_collector(no_socket):
    d = faultguard.register("pytest-reg", rescue_argv=["/bin/true", "arg"], socket_path=no_socket)
    try:
        assert isinstance(d, faultguard.FaultguardDict)
        assert d.registered is False  # no collector listens there
        d["k"] = {"v": 1}
        assert d["k"] == {"v": 1}
    finally:
        d.close()


@pytest.mark.parametrize("app", ["", "has space", "slash/no", "x" * 65, "nul\0"])
def test_register_rejects_bad_app_names(app, no_socket):
    with pytest.raises(ValueError):
        faultguard.register(app, socket_path=no_socket)


def test_register_argument_types(no_socket):
    with pytest.raises(TypeError):
        faultguard.register(b"bytes-app", socket_path=no_socket)
    with pytest.raises(TypeError):
        faultguard.register("app", rescue_argv="/bin/echo hi", socket_path=no_socket)
    with pytest.raises(ValueError):
        faultguard.register("app", rescue_argv=[], socket_path=no_socket)


CRASHING_APP = r'''
import ctypes, sys
import faultguard
data = faultguard.register("pyrun", socket_path=sys.argv[1])
assert data.registered, "the guardian's dictionary is held"
data["doc"] = {"title": "t", "n": [1, 2, 3]}
data["step"] = 1
data["step"] = 2
ctypes.string_at(0)
'''

RESCUE = r'''
import json, os, sys
import faultguard
data = faultguard.load_snapshot(os.environ["FAULTGUARD_SNAPSHOT"])
with open(sys.argv[1], "w") as f:
    json.dump({k: data[k] for k in data}, f, sort_keys=True)
'''


def test_register_under_faultguardctl_run(tmp_path, py_env, build_dir, no_socket):
    """register() inside `faultguardctl run` uses the guardian's dictionary."""
    ctl = os.path.join(build_dir, "faultguardctl")
    assert os.access(ctl, os.X_OK), "no %s: build it first (make python tests)" % ctl
    app = tmp_path / "app.py"
    app.write_text(CRASHING_APP)
    rescue = tmp_path / "rescue.py"
    rescue.write_text(RESCUE)
    out = tmp_path / "rescued.json"
    state = tmp_path / "state"
    state.mkdir()
    cmd = "%s %s %s" % (sys.executable, rescue, out)
    proc = subprocess.run(
        [ctl, "run", "--app", "pyrun", "--state-dir", str(state), "--rescue", cmd, "--",
         sys.executable, str(app), no_socket],
        env=py_env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 128 + 11, proc.stderr
    assert out.read_text() == '{"doc": {"n": [1, 2, 3], "title": "t"}, "step": 2}'


COLLECTOR_APP = r'''
import ctypes, faulthandler, sys, time
import faultguard
out, package = sys.argv[2], sys.argv[3]
rescue = [sys.executable, sys.argv[4], package, out]
data = faultguard.register("pycollector", rescue_argv=rescue, socket_path=sys.argv[1])
data["doc"] = {"title": "t", "n": [1, 2, 3]}
data["step"] = 1
data["step"] = 2
deadline = time.monotonic() + 20
while not data.registered and time.monotonic() < deadline:
    time.sleep(0.01)
assert data.registered, "the collector holds the dictionary"
faulthandler.disable()
ctypes.string_at(0)
'''

COLLECTOR_RESCUE = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])  # the rescue runs in a clean environment
import faultguard
data = faultguard.load_snapshot(os.environ["FAULTGUARD_SNAPSHOT"])
with open(sys.argv[2], "w") as f:
    json.dump({"cause": os.environ["FAULTGUARD_CAUSE"],
               "data": {k: data[k] for k in data}}, f, sort_keys=True)
'''


def test_register_with_the_collector(tmp_path, py_env, build_dir):
    """register() with a real faultguardd: a segfault is rescued by the collector."""
    daemon = os.path.join(build_dir, "faultguardd")
    if os.geteuid() != 0:
        if os.environ.get("FG_TEST_ALLOW_SKIP") == "1":
            pytest.skip("faultguardd needs root")
        pytest.fail("faultguardd needs root (FG_TEST_ALLOW_SKIP=1 skips this test)")
    tmp_path.chmod(0o755)
    sock = str(tmp_path / "fg.sock")
    app, rescue, out = tmp_path / "app.py", tmp_path / "rescue.py", tmp_path / "rescued.json"
    app.write_text(COLLECTOR_APP)
    rescue.write_text(COLLECTOR_RESCUE)
    collector = subprocess.Popen(
        [daemon, "--socket", sock, "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: os.path.exists(sock) or collector.poll() is not None, "the socket")
        assert collector.poll() is None, collector.stderr.read()
        proc = subprocess.run(
            [sys.executable, str(app), sock, str(out), PACKAGE_PARENT, str(rescue)],
            env=py_env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == -11, proc.stderr
        wait_for(lambda: out.exists() and out.stat().st_size > 0, "the rescue's output")
        assert json.loads(out.read_text()) == {
            "cause": "segfault", "data": {"doc": {"n": [1, 2, 3], "title": "t"}, "step": 2}}
    finally:
        collector.terminate()
        collector.wait(timeout=30)


def wait_for(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail("timed out waiting for " + what)


@pytest.mark.parametrize("app", ["", "has space", "slash/no", "x" * 65, ".", ".."])
def test_claim_previous_rejects_bad_app_names(app, no_socket):
    with pytest.raises(ValueError):
        faultguard.claim_previous(app, socket_path=no_socket)


def test_claim_previous_argument_types(no_socket):
    with pytest.raises(TypeError):
        faultguard.claim_previous(b"bytes-app", socket_path=no_socket)


def test_claim_previous_none_when_nothing_was_left(no_socket, tmp_path, monkeypatch):
    # No collector listens: the standalone state directory, where this app left nothing.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert faultguard.claim_previous("pytest-claim-nothing-%d" % os.getpid(), socket_path=no_socket) is None
