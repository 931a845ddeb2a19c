# SPDX-License-Identifier: LGPL-2.1-or-later
"""Autosave files, is_active() and recover(), including a guardian that is
itself killed with SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import faultguard
import pytest
from faultguard import _autosave, _guard, _lib

from conftest import segfault, wait_until


def snapshot_or_none(path):
    try:
        d = faultguard.load_snapshot(path)
    except OSError:
        return None
    return {k: d[k] for k in d}


def make_old(path):
    """Makes the file's access time 10 s old, as if its guardian had died."""
    st = os.stat(path)
    os.utime(path, ns=(time.time_ns() - 10 * 10**9, st.st_mtime_ns))


def never_launched(marker):
    def launch(data):
        marker.write_text("launched")

    return launch


def no_rescue(*a):
    raise AssertionError("rescue must not run")


def test_autosave_arguments_go_together(tmp_path):
    marker = tmp_path / "marker"
    f = str(tmp_path / "auto.fgsnap")
    with pytest.raises(TypeError):
        faultguard.start(never_launched(marker), no_rescue, autosave_interval=1)
    with pytest.raises(TypeError):
        faultguard.start(never_launched(marker), no_rescue, autosave_file=f)
    with pytest.raises(ValueError):
        faultguard.start(never_launched(marker), no_rescue, autosave_interval=0, autosave_file=f)
    with pytest.raises(TypeError):
        faultguard.start(never_launched(marker), no_rescue, autosave_interval="1", autosave_file=f)
    assert not marker.exists()
    assert not os.path.exists(f)


def test_existing_autosave_file_is_refused(tmp_path):
    marker = tmp_path / "marker"
    f = tmp_path / "auto.fgsnap"
    f.write_bytes(b"earlier data")
    with pytest.raises(RuntimeError):
        faultguard.start(never_launched(marker), no_rescue, autosave_interval=1, autosave_file=str(f))
    assert not marker.exists()
    assert f.read_bytes() == b"earlier data"


def test_is_active(tmp_path):
    f = tmp_path / "auto.fgsnap"
    assert faultguard.is_active(str(f)) is False
    f.write_bytes(b"x")
    os.utime(f)  # access time now
    assert faultguard.is_active(str(f)) is True
    make_old(f)
    assert faultguard.is_active(str(f)) is False


def test_rotation_keeps_the_previous_autosave(tmp_path, monkeypatch, no_socket):
    """Autosaver.save moves FILE to FILE.tmp and writes the dictionary to FILE."""
    memfd = _lib.lib.fg_memfd_create(b"pytest-rot", 0)
    assert memfd >= 0
    f = str(tmp_path / "auto.fgsnap")
    monkeypatch.setenv("FAULTGUARD_FD", str(memfd))
    d = _guard.open_dictionary("pytest-rot", socket_path=no_socket)
    try:
        saver = _autosave.Autosaver(memfd, f, 1.0)
        saver.begin()
        assert snapshot_or_none(f) == {}
        assert not os.path.exists(f + ".tmp")
        d["a"] = 1
        saver.save()
        assert snapshot_or_none(f) == {"a": 1}
        assert snapshot_or_none(f + ".tmp") == {}
        d["a"] = 2
        d["b"] = [3]
        saver.save()
        assert snapshot_or_none(f) == {"a": 2, "b": [3]}
        assert snapshot_or_none(f + ".tmp") == {"a": 1}
        # A separate file, not a second name: damage to one spares the other.
        assert os.stat(f).st_ino != os.stat(f + ".tmp").st_ino
        saver.remove()
        assert not os.path.exists(f) and not os.path.exists(f + ".tmp")
    finally:
        d.close()  # closes memfd too: fg_open took it over from $FAULTGUARD_FD


def test_autosave_while_running_then_removed_after_clean_exit(tmp_path):
    f = str(tmp_path / "auto.fgsnap")
    with open(f + ".tmp", "wb") as stale:
        stale.write(b"stale backup of an earlier run")
    results = tmp_path / "results.json"

    def launch(data):
        data["doc"] = {"text": "v1"}
        wait_until(lambda: snapshot_or_none(f) == {"doc": {"text": "v1"}}, what="first autosave")
        data["doc"] = {"text": "v2"}
        wait_until(lambda: snapshot_or_none(f) == {"doc": {"text": "v2"}}, what="second autosave")
        wait_until(lambda: snapshot_or_none(f + ".tmp") == {"doc": {"text": "v2"}}, what="rotation")
        results.write_text(json.dumps({"active": faultguard.is_active(f)}))

    assert faultguard.start(launch, no_rescue, autosave_interval=0.1, autosave_file=f) == 0
    assert json.loads(results.read_text()) == {"active": True}
    assert not os.path.exists(f)
    assert not os.path.exists(f + ".tmp")


def test_guardian_keeps_the_file_active_between_saves(tmp_path):
    f = str(tmp_path / "auto.fgsnap")
    results = tmp_path / "results.json"

    def launch(data):
        # No save comes for an hour: only the once-a-second touch can
        # make an aged file active again.
        for _ in range(3):  # a touch could land between the two calls
            make_old(f)
            aged = faultguard.is_active(f)
            if not aged:
                break
        wait_until(lambda: faultguard.is_active(f), what="the guardian's touch")
        results.write_text(json.dumps({"aged": aged, "contents": snapshot_or_none(f)}))

    assert faultguard.start(launch, no_rescue, autosave_interval=3600, autosave_file=f) == 0
    assert json.loads(results.read_text()) == {"aged": False, "contents": {}}


def test_crash_saves_once_more_then_removes_after_rescue(tmp_path):
    f = str(tmp_path / "auto.fgsnap")
    seen = []

    def launch(data):
        data["n"] = 1
        data["n"] = 2
        segfault()

    def rescue(data, code):
        # The guardian saved the final dictionary before calling rescue.
        seen.append((code, {k: data[k] for k in data}, snapshot_or_none(f)))

    # The interval is long: only the start and the crash write the file.
    assert faultguard.start(launch, rescue, autosave_interval=3600, autosave_file=f) == -11
    assert seen == [(-11, {"n": 2}, {"n": 2})]
    assert not os.path.exists(f)
    assert not os.path.exists(f + ".tmp")


def test_files_stay_when_rescue_fails_and_recover_reads_them(tmp_path):
    f = str(tmp_path / "auto.fgsnap")

    def launch(data):
        data["draft"] = "unsaved words"
        raise SystemExit(3)

    def rescue(data, code):
        raise OSError("the rescue could not write")

    with pytest.raises(OSError, match="could not write"):
        faultguard.start(launch, rescue, autosave_interval=3600, autosave_file=f)
    assert snapshot_or_none(f) == {"draft": "unsaved words"}
    make_old(f)
    got = []
    assert faultguard.recover(lambda data: got.append(dict(data.items())), f) == 0
    assert got == [{"draft": "unsaved words"}]


GUARDIAN = r'''
import os, sys, time
import faultguard

F = sys.argv[1]
DOC = {"title": "unsaved", "lines": ["x", "y"]}

def has_data(path):
    try:
        d = faultguard.load_snapshot(path)
    except OSError:
        return False
    return dict(d.items()) == {"doc": DOC, "n": 42}

def launch(data):
    data["doc"] = DOC
    data["n"] = 41
    data["n"] = 42
    deadline = time.monotonic() + 20
    while not (has_data(F) and has_data(F + ".tmp")):
        if time.monotonic() > deadline:
            print("NOT READY: the autosaves never held the data", flush=True)
            raise SystemExit(0)
        time.sleep(0.02)
    print("READY", os.getpid(), flush=True)
    time.sleep(120)

def rescue(data, code):
    print("RESCUE CALLED", code, flush=True)

faultguard.start(launch, rescue, autosave_interval=0.2, autosave_file=F)
print("START RETURNED", flush=True)
'''


def test_guardian_killed_then_recover(tmp_path, py_env):
    f = str(tmp_path / "auto.fgsnap")
    script = tmp_path / "guardian.py"
    script.write_text(GUARDIAN)
    guardian = subprocess.Popen(
        [sys.executable, str(script), f], env=py_env, stdout=subprocess.PIPE, text=True
    )
    child = None
    try:
        line = guardian.stdout.readline().split()
        assert line[:1] == ["READY"], line
        child = int(line[1])
        # While the guardian lives, the file is active: recover refuses.
        assert faultguard.is_active(f)
        with pytest.raises(RuntimeError, match="in use"):
            faultguard.recover(no_rescue, f)
        os.kill(guardian.pid, signal.SIGKILL)
        assert guardian.wait(timeout=30) == -signal.SIGKILL
    finally:
        if guardian.poll() is None:
            guardian.kill()
            guardian.wait()
        if child is not None:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert "RESCUE CALLED" not in guardian.stdout.read()

    expected = {"doc": {"title": "unsaved", "lines": ["x", "y"]}, "n": 42}
    got = []
    # The guardian is dead: recover waits out the activity window if need be.
    assert faultguard.recover(lambda data: got.append(dict(data.items())), f) == 0
    assert got == [expected]

    # A damaged autosave: the previous one, FILE.tmp, is used.
    with open(f, "wb") as broken:
        broken.write(b"not a snapshot")
    make_old(f)
    got.clear()
    assert faultguard.recover(lambda data: got.append(dict(data.items())), f) == 1
    assert got == [expected]

    # Neither loads.
    with open(f + ".tmp", "wb") as broken:
        broken.write(b"\x00" * 100)
    with pytest.raises(RuntimeError):
        faultguard.recover(no_rescue, f)
    os.unlink(f)
    os.unlink(f + ".tmp")
    with pytest.raises(RuntimeError):
        faultguard.recover(no_rescue, f)
