# SPDX-License-Identifier: LGPL-2.1-or-later
"""faultguard.register(): the system-wide mode's entry point."""

import os
import shutil
import subprocess
import sys

import faultguard
import pytest


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
    if not os.access(ctl, os.X_OK):
        pytest.skip("no %s (build it first)" % ctl)
    probe = subprocess.run([ctl, "run", "--help"], capture_output=True, text=True)
    if "unknown command" in (probe.stdout + probe.stderr).lower():
        pytest.skip("this faultguardctl has no `run` command yet")
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
