"""Console fixtures: skip the whole folder without gradio; handlers of apps run with their lifespan."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio", reason="the console needs gradio: pip install 'embedrank[ui]'")
