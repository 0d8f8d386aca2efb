"""The learning system: codecs, the Denoiser, the diffusion loss, Lightning glue, sampler, evaluation.

`import solver` stays light (no torch): `solver.load` is resolved on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load", "list_checkpoints"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'solver' has no attribute {name!r}")
