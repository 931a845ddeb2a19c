# SPDX-License-Identifier: LGPL-2.1-or-later
"""faultguard.start(): the guarded child, exit codes, the rescue handler."""

import collections.abc
import os
import signal
import threading

import faultguard
import pytest

from conftest import segfault


class Recorder:
    """A rescue handler that keeps what it was called with (copied out)."""

    def __init__(self):
        self.calls = []

    def __call__(self, data, exit_code, *args):
        assert isinstance(data, collections.abc.MutableMapping)
        self.calls.append({"data": {k: data[k] for k in data}, "exit_code": exit_code, "args": args})

    @property
    def only(self):
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


def test_segfault_rescues_up_to_last_assignment():
    def launch(data):
        for i in range(100):
            data["k%d" % i] = i * i
            data["last"] = i
            if i == 57:
                segfault()

    rescue = Recorder()
    before = signal.getsignal(signal.SIGINT)
    assert faultguard.start(launch, rescue) == -11
    assert signal.getsignal(signal.SIGINT) is before
    call = rescue.only
    assert call["exit_code"] == -11
    assert call["args"] == ()
    expected = {"k%d" % i: i * i for i in range(58)}
    expected["last"] = 57
    assert call["data"] == expected


def test_readme_example_with_numpy():
    np = pytest.importorskip("numpy")
    seen = []

    def launch(faultguard_data, args):
        important_data_1 = np.array([1, 2, 3])
        important_data_2 = args[0] + " " + args[1]
        for i in range(10):
            important_data_1[i % 3] = i
            important_data_2 += str(i)
            faultguard_data["important_data_1"] = important_data_1
            faultguard_data["important_data_2"] = important_data_2
            if i == 7:
                segfault()  # ctypes.string_at(0), without pytest's faulthandler noise

    def rescue(faultguard_data, exit_code, args):
        assert "important_data_1" in faultguard_data and "important_data_2" in faultguard_data
        seen.append((faultguard_data["important_data_1"], faultguard_data["important_data_2"], exit_code, args))

    assert faultguard.start(launch, rescue, args=("Hello", "World")) == -11
    assert len(seen) == 1
    arr, text, code, args = seen[0]
    assert isinstance(arr, np.ndarray)
    assert arr.tolist() == [6, 7, 5]
    assert text == "Hello World01234567"
    assert code == -11
    assert args == ("Hello", "World")


README_EXAMPLE = '''
import faultguard
import numpy as np

def launch(faultguard_data, args):
    print("Launching demo")
    important_data_1 = np.array([1,2,3])
    important_data_2 = args[0] + " " + args[1]
    for i in range(10):
        important_data_1[i%3] = i
        important_data_2 += str(i)
        print("important_data_1:", important_data_1)
        print("important_data_2:", important_data_2)
        faultguard_data["important_data_1"] = important_data_1
        faultguard_data["important_data_2"] = important_data_2
        if i == 7:
            import ctypes
            ctypes.string_at(0)

def rescue(faultguard_data, exit_code, args):
    print("Fault occured. Exit code: {}. Rescued data:".format(exit_code))
    if "important_data_1" not in faultguard_data or "important_data_2" not in faultguard_data:
        return
    important_data_1 = faultguard_data["important_data_1"]
    important_data_2 = faultguard_data["important_data_2"]
    print("important_data_1:", important_data_1)
    print("important_data_2:", important_data_2)

def main():
    faultguard.start(launch, rescue, args=("Hello", "World"))

if __name__ == "__main__":
    main()
'''


def test_readme_example_verbatim_script(run_py):
    pytest.importorskip("numpy")
    proc = run_py(README_EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Launching demo" in out
    rescued = out[out.index("Fault occured. Exit code: -11. Rescued data:") :].splitlines()
    assert rescued[1:] == ["important_data_1: [6 7 5]", "important_data_2: Hello World01234567"]


def test_sigkill_from_outside():
    r, w = os.pipe()
    pids = []

    def killer():
        with os.fdopen(r) as f:
            line = f.readline()
        if line:
            pids.append(int(line))
            os.kill(int(line), signal.SIGKILL)

    def launch(data):
        data["doc"] = {"title": "draft", "words": ["a", "b"]}
        data["doc"] = {"title": "final", "words": ["a", "b", "c"]}
        data["gone"] = 1
        del data["gone"]
        os.write(w, b"%d\n" % os.getpid())
        threading.Event().wait(60)

    t = threading.Thread(target=killer)
    t.start()
    rescue = Recorder()
    try:
        code = faultguard.start(launch, rescue)
    finally:
        os.close(w)
        t.join()
    assert code == -9
    assert len(pids) == 1
    assert rescue.only["data"] == {"doc": {"title": "final", "words": ["a", "b", "c"]}}


def test_uncaught_exception_exit_code_1(capfd):
    def launch(data):
        data["count"] = 3
        raise ValueError("boom in launch")

    rescue = Recorder()
    assert faultguard.start(launch, rescue) == 1
    assert rescue.only["exit_code"] == 1
    assert rescue.only["data"] == {"count": 3}
    err = capfd.readouterr().err
    assert "Traceback" in err and "ValueError: boom in launch" in err


def test_clean_exit_no_rescue(tmp_path):
    marker = tmp_path / "ran"

    def launch(data):
        data["x"] = 1
        marker.write_text("launch ran")

    rescue = Recorder()
    assert faultguard.start(launch, rescue) == 0
    assert marker.read_text() == "launch ran"
    assert rescue.calls == []


@pytest.mark.parametrize("status,expected", [(3, 3), (0, 0), (None, 0), ("message", 1)])
def test_sys_exit_codes(status, expected, tmp_path):
    marker = tmp_path / "ran"

    def launch(data):
        data["status"] = status
        marker.write_text("yes")
        raise SystemExit(status)

    rescue = Recorder()
    assert faultguard.start(launch, rescue) == expected
    assert marker.read_text() == "yes"
    if expected == 0:
        assert rescue.calls == []
    else:
        assert rescue.only["exit_code"] == expected
        assert rescue.only["data"] == {"status": status}


def test_args_passed_to_launch_and_rescue():
    args = ("Hello", 42, [1, 2])

    def launch(data, a):
        data["args"] = a
        os._exit(5)

    rescue = Recorder()
    assert faultguard.start(launch, rescue, args=args) == 5
    assert rescue.only["args"] == (args,)
    assert rescue.only["args"][0] is args
    assert rescue.only["data"] == {"args": args}


def test_empty_args_are_still_passed():
    def launch(data, a):
        data["a"] = a
        raise SystemExit(2)

    rescue = Recorder()
    assert faultguard.start(launch, rescue, args=()) == 2
    assert rescue.only["args"] == ((),)
    assert rescue.only["data"] == {"a": ()}


def test_no_args_means_one_argument_calls():
    def launch(*a):
        raise SystemExit(10 + len(a))

    rescue = Recorder()
    assert faultguard.start(launch, rescue) == 11
    assert rescue.only["args"] == ()


def test_rescued_dictionary_is_empty_when_nothing_was_stored():
    def launch(data):
        segfault()

    rescue = Recorder()
    assert faultguard.start(launch, rescue) == -11
    assert rescue.only["data"] == {}


def test_child_writes_do_not_leak_into_a_later_run():
    def first(data):
        data["old"] = "from the first run"
        raise SystemExit(1)

    def second(data):
        data["new"] = "from the second run"
        segfault()

    r1, r2 = Recorder(), Recorder()
    assert faultguard.start(first, r1) == 1
    assert faultguard.start(second, r2) == -11
    assert r1.only["data"] == {"old": "from the first run"}
    assert r2.only["data"] == {"new": "from the second run"}


def test_rescue_data_behaves_like_the_dictionary():
    seen = {}

    def launch(data):
        data["b"] = [1, 2]
        data["a"] = "x"
        segfault()

    def rescue(data, code):
        seen["keys"] = sorted(data)
        seen["len"] = len(data)
        seen["get"] = data.get("missing", "default")
        seen["copy"] = data["b"] is not data["b"]
        seen["raw"] = data.raw("a")
        seen["discarded"] = data.discarded
        data["c"] = 3  # local to the rescue
        seen["c"] = data["c"]

    assert faultguard.start(launch, rescue) == -11
    assert seen == {
        "keys": ["a", "b"],
        "len": 2,
        "get": "default",
        "copy": True,
        "raw": __import__("pickle").dumps("x"),
        "discarded": 0,
        "c": 3,
    }


def test_exception_in_rescue_propagates():
    def launch(data):
        raise SystemExit(1)

    def rescue(data, code):
        raise LookupError("rescue failed")

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(LookupError, match="rescue failed"):
        faultguard.start(launch, rescue)
    assert signal.getsignal(signal.SIGTERM) is before


def test_child_dictionary_is_held_by_the_guardian():
    def launch(data):
        assert isinstance(data, faultguard.FaultguardDict)
        assert "FAULTGUARD_FD" not in os.environ  # not passed on to programs it runs
        data["registered"] = data.registered
        raise SystemExit(9)

    rescue = Recorder()
    assert faultguard.start(launch, rescue) == 9
    assert rescue.only["data"] == {"registered": True}
