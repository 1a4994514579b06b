"""frontwatch: front sector, direction of movement and English summaries for French war news."""

import os

__version__ = "0.1.0"

# Every model comes from installed packages; never let a library wait on a hub that cannot be reached.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

__all__ = ["Analysis", "Analyzer", "__version__"]


def __getattr__(name):
    # Lazy so that `frontwatch --help` and the data tools do not import torch.
    if name in ("Analyzer", "Analysis"):
        from frontwatch.inference import analyzer

        return getattr(analyzer, name)
    raise AttributeError(name)
