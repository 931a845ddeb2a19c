# SPDX-License-Identifier: LGPL-2.1-or-later
"""Signals: the guardian ignores SIGINT/SIGTERM/SIGHUP/SIGQUIT while the app
runs, so a Ctrl-C (SIGINT to the whole process group) reaches the app alone."""

import os
import signal
import subprocess
import sys

import pytest

APP = r'''
import os, signal, sys, time
import faultguard

mode = sys.argv[1]

def launch(data):
    if mode == "dfl":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    data["typed"] = "hello wor"
    print("READY", os.getpid(), flush=True)
    while True:
        time.sleep(0.05)

def rescue(data, code):
    print("RESCUED", code, data["typed"], flush=True)

code = faultguard.start(launch, rescue)
print("START RETURNED", code, flush=True)
'''


@pytest.mark.parametrize("mode,code", [("python", 1), ("dfl", -2)])
def test_ctrl_c_reaches_the_app_alone(mode, code, tmp_path, py_env):
    script = tmp_path / "app.py"
    script.write_text(APP)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        env=py_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline().split()
        assert line[:1] == ["READY"], (line, proc.stderr.read() if proc.poll() is not None else "")
        # Aimed at the guardian alone: ignored while the app runs.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT):
            os.kill(proc.pid, sig)
        # A Ctrl-C: the whole foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["RESCUED %d hello wor" % code, "START RETURNED %d" % code]
    if mode == "python":
        assert "KeyboardInterrupt" in err
