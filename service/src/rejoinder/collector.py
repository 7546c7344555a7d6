"""Python's cycle collector leaves the objects of start-up alone.

A full collection walks every object the collector tracks, and holds the event loop while it does. Once it
serves, the service holds about 140,000 such objects that live as long as it does (modules, classes,
functions, the app's parts). A request with many items makes enough long-lived objects to bring a full
collection every 1-3 s, and each walked them all: 45-77 ms (`python -m bench --only beside_big`, probed).
Frozen once the server is up, they are never walked again, and those collections take 0.2-5 ms.
"""

from __future__ import annotations

import gc


def freeze_start_up() -> int:
    """Collect the garbage start-up left, then put every object still tracked in the permanent generation,
    which collections skip (objects in it are still freed when nothing refers to them). Call once the
    server is up. Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
