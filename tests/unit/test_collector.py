"""Once the server is up, Python's cycle collector no longer walks the objects of start-up
(rejoinder/collector.py), and still collects what is made after."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import gc, json, weakref
from rejoinder.collector import freeze_start_up

class Part:
    pass

def cycle():
    part = Part()
    part.me = part
    return part

kept = [[i] for i in range(100_000)]  # what start-up made and keeps
dropped = cycle()
start_up_garbage = weakref.ref(dropped)
del dropped
walked_before = len(gc.get_objects())
frozen = freeze_start_up()
walked_after = len(gc.get_objects())
later = cycle()
later_garbage = weakref.ref(later)
del later
gc.collect()
print(json.dumps({
    "walked_before": walked_before,
    "walked_after": walked_after,
    "frozen": frozen,
    "start_up_garbage_freed": start_up_garbage() is None,
    "later_garbage_freed": later_garbage() is None,
    "kept": len(kept),
}))
"""


def _child() -> dict[str, int | bool]:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    result: dict[str, int | bool] = json.loads(done.stdout)
    return result


def test_start_up_objects_are_no_longer_walked_and_later_garbage_is_still_collected() -> None:
    seen = _child()
    assert seen["frozen"] >= 100_000, seen
    assert seen["walked_after"] <= seen["walked_before"] - 100_000, seen  # a full collection skips them
    assert seen["start_up_garbage_freed"] is True, seen  # collected first, not frozen for good
    assert seen["later_garbage_freed"] is True, seen
    assert seen["kept"] == 100_000, seen
