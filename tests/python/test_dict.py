# SPDX-License-Identifier: LGPL-2.1-or-later
"""FaultguardDict: the MutableMapping over the crash-safe dictionary.

These use register() with a socket where no collector listens: fg_open
succeeds without a collector, so the dictionary is fully usable in-process.
"""

import collections.abc
import errno
import os
import pickle
import threading

import faultguard
import pytest
from faultguard import _guard


@pytest.fixture
def data(no_socket):
    d = faultguard.register("pytest-dict", socket_path=no_socket)
    yield d
    d.close()


def test_is_a_mutable_mapping(data):
    assert isinstance(data, collections.abc.MutableMapping)
    assert isinstance(data, faultguard.FaultguardDict)
    assert len(data) == 0
    assert list(data) == []


def test_set_get_overwrite_delete(data):
    data["a"] = {"nested": [1, 2, 3]}
    data["b"] = b"\x00bytes\xff"
    data["c"] = None
    assert data["a"] == {"nested": [1, 2, 3]}
    assert data["b"] == b"\x00bytes\xff"
    assert data["c"] is None
    data["a"] = "replaced"
    assert data["a"] == "replaced"
    del data["b"]
    assert "b" not in data
    with pytest.raises(KeyError):
        data["b"]
    with pytest.raises(KeyError):
        del data["b"]
    assert len(data) == 2
    assert list(data) == ["a", "c"]


def test_values_are_copies(data):
    value = [1, 2]
    data["list"] = value
    value.append(3)
    assert data["list"] == [1, 2]
    got = data["list"]
    got.append(4)
    assert data["list"] == [1, 2]


def test_iteration_in_insertion_order_and_len(data):
    keys = ["z", "y", "ä", "x1", "a"]
    for i, k in enumerate(keys):
        data[k] = i
    data["y"] = "again"  # reassignment keeps the position, as in a dict
    assert list(data) == keys
    assert len(data) == 5
    assert dict(data.items()) == {"z": 0, "y": "again", "ä": 2, "x1": 3, "a": 4}
    assert list(data.values()) == [0, "again", 2, 3, 4]


def test_mapping_methods(data):
    data.update({"one": 1, "two": 2}, three=3)
    assert data.get("one") == 1
    assert data.get("four", "dflt") == "dflt"
    assert data.setdefault("one", 100) == 1
    assert data.setdefault("four", 4) == 4
    assert data.pop("two") == 2
    assert data.pop("two", "none") == "none"
    assert sorted(data.keys()) == ["four", "one", "three"]
    assert data == {"one": 1, "three": 3, "four": 4}
    key, value = data.popitem()
    assert key not in data and {key: value}.items() <= {"one": 1, "three": 3, "four": 4}.items()
    data.clear()
    assert len(data) == 0 and list(data) == []


def test_large_values_roundtrip(data):
    big = os.urandom(1 << 20)
    data["big"] = big
    data["small"] = 1
    assert data["big"] == big
    bigger = big * 3
    data["big"] = bigger
    assert data["big"] == bigger
    assert data["small"] == 1


def test_key_rules(data):
    with pytest.raises(TypeError):
        data[1] = "int key"
    with pytest.raises(TypeError):
        data[b"bytes"] = "bytes key"
    with pytest.raises(ValueError):
        data[""] = "empty"
    with pytest.raises(ValueError):
        data["nul\0inside"] = "nul"
    with pytest.raises(ValueError):
        data["k" * 256] = "too long"
    with pytest.raises(ValueError):
        data["é" * 128] = "256 bytes in UTF-8"
    data["k" * 255] = "longest"
    data["é" * 127 + "a"] = "255 bytes in UTF-8"
    assert data["k" * 255] == "longest"
    assert data["é" * 127 + "a"] == "255 bytes in UTF-8"
    assert len(data) == 2
    # A key that cannot exist is simply absent.
    for bad in (1, "", "nul\0inside", "k" * 256, None):
        assert bad not in data
        with pytest.raises(KeyError):
            data[bad]
        with pytest.raises(KeyError):
            del data[bad]


def test_nul_key_does_not_alias_its_prefix(data):
    data["prefix"] = "kept"
    with pytest.raises(ValueError):
        data["prefix\0suffix"] = "must not overwrite"
    assert data["prefix"] == "kept"


def test_unpicklable_value_changes_nothing(data):
    data["f"] = "before"
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        data["f"] = lambda: None
    assert data["f"] == "before"
    assert list(data) == ["f"]


def test_full_dictionary_keeps_earlier_values(no_socket):
    d = _guard.open_dictionary("pytest-full", socket_path=no_socket, max_bytes=64 << 10)
    try:
        d["small"] = "kept"
        with pytest.raises(OSError) as exc:
            d["huge"] = b"x" * (256 << 10)
        assert exc.value.errno == errno.ENOSPC
        assert "huge" not in d
        assert d["small"] == "kept"
        assert list(d) == ["small"]
    finally:
        d.close()


def test_closed_dictionary(no_socket):
    d = faultguard.register("pytest-closed", socket_path=no_socket)
    d["a"] = 1
    assert not d.closed
    d.close()
    assert d.closed
    d.close()  # twice is fine
    with pytest.raises(ValueError):
        d["a"] = 2
    with pytest.raises(ValueError):
        d["a"]
    assert len(d) == 0


def test_threads_keep_keys_and_data_in_step(data):
    """Concurrent sets and deletes of the same keys from several threads:
    afterwards, iteration, len and `in` agree with what the dictionary holds,
    and every value is one a thread wrote under that key. (Races are rare
    events: passing here is evidence, not proof.)"""
    pool = ["k%d" % i for i in range(8)]

    def worker(seed):
        for i in range(3000):
            key = pool[(i * 7 + seed) % len(pool)]
            if (i + seed) % 3 == 0:
                try:
                    del data[key]
                except KeyError:
                    pass
            else:
                data[key] = (seed, i)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    present = [k for k in pool if k in data]
    assert sorted(data) == sorted(present)
    assert len(data) == len(present) > 0
    for k in pool:
        if k in present:
            seed, i = data[k]
            assert pool[(i * 7 + seed) % len(pool)] == k
        else:
            with pytest.raises(KeyError):
                data[k]
