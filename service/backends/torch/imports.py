"""Importing sentence-transformers without scikit-learn: sklearn is only needed for its evaluation code."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from typing import Any

logger = logging.getLogger(__name__)


def _real_metrics() -> Any:
    return importlib.import_module("sklearn.metrics")


def _pairwise_distances(*args: Any, **kwargs: Any) -> Any:
    """sklearn.metrics.pairwise_distances, imported on first call (sentence-transformers' similarity helpers)."""
    return _real_metrics().pairwise_distances(*args, **kwargs)


def import_sentence_transformers() -> Any:
    """`import sentence_transformers`, with its one module-level scikit-learn import deferred to first use.

    sentence-transformers imports `sklearn.metrics.pairwise_distances` at import time, for similarity
    helpers the service never calls; that import alone (scikit-learn, scipy.stats, pandas) measured
    ~130 MB of resident memory and ~1.8 s of every start-up here. During this one import,
    placeholders stand in for `sklearn` and `sklearn.metrics` (the function imports the real module
    when called); they are removed right after, so any later `import sklearn` gets the real package.
    Should a future sentence-transformers import more of scikit-learn, the placeholders are dropped
    and the import is simply repeated the ordinary way.
    """
    if "sentence_transformers" in sys.modules:
        return sys.modules["sentence_transformers"]
    if "sklearn" in sys.modules or importlib.util.find_spec("sklearn") is None:
        return importlib.import_module("sentence_transformers")
    spec = importlib.util.find_spec("sklearn")
    package = types.ModuleType("sklearn")
    package.__spec__ = spec
    metrics = types.ModuleType("sklearn.metrics")
    metrics.pairwise_distances = _pairwise_distances  # type: ignore[attr-defined]
    package.metrics = metrics  # type: ignore[attr-defined]
    sys.modules["sklearn"], sys.modules["sklearn.metrics"] = package, metrics
    try:
        return importlib.import_module("sentence_transformers")
    except ImportError as exc:
        logger.debug("sentence-transformers needs more of scikit-learn at import (%s): importing it fully", exc)
        for name in [name for name in sys.modules if name.split(".")[0] in ("sentence_transformers", "sklearn")]:
            del sys.modules[name]
        _restore(package, metrics)
        return importlib.import_module("sentence_transformers")
    finally:
        _restore(package, metrics)


def _restore(package: types.ModuleType, metrics: types.ModuleType) -> None:
    for name, placeholder in (("sklearn", package), ("sklearn.metrics", metrics)):
        if sys.modules.get(name) is placeholder:
            del sys.modules[name]
