"""Where converted base weights live: FRONTWATCH_CACHE, else the user's cache folder."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """Returns the cache root, creating nothing."""
    env = os.environ.get("FRONTWATCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "frontwatch"
