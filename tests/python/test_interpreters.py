# SPDX-License-Identifier: LGPL-2.1-or-later
"""The package works with every python3 on this machine (Debian's and, if
present, another one on PATH such as pyenv's)."""

import os
import shutil
import sys

import pytest

CRASH = r'''
import ctypes, sys
import faultguard

def launch(data, args):
    data["who"] = sys.version_info[:2]
    data["args"] = args
    ctypes.string_at(0)

def rescue(data, code, args):
    print("rescued", code, tuple(data["who"]) == sys.version_info[:2], data["args"], args)

print("returned", faultguard.start(launch, rescue, args=["a", 1]))
'''


def interpreters():
    found = {}
    for exe in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if exe and os.access(exe, os.X_OK):
            found.setdefault(os.path.realpath(exe), exe)
    return sorted(found.values())


@pytest.mark.parametrize("python", interpreters())
def test_crash_rescued_under(python, run_py):
    proc = run_py(CRASH, python=python)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["rescued -11 True ['a', 1] ['a', 1]", "returned -11"]
