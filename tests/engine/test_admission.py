"""Admission: idle admits anything, busy refuses at once with an honest Retry-After, reservations always released."""

from __future__ import annotations

import pytest

from service.engine.admission import Admission
from service.errors import Overloaded


def test_an_idle_server_admits_even_a_huge_request() -> None:
    admission = Admission(max_wait_s=1.0)
    admission.observe("embed", tokens=1000, seconds=1.0)  # 1 ms per token
    with admission.admit("embed", 1_000_000):  # ~1000 s of work, but nothing else is queued
        assert admission.stats.queued_seconds == pytest.approx(1000)
    assert admission.stats.queued_seconds == 0


def test_work_past_the_limit_is_refused_with_retry_after() -> None:
    admission = Admission(max_wait_s=2.0)
    admission.observe("embed", tokens=1000, seconds=1.0)
    # 1.5 s queued, then 0.4 s more still fits the 2 s limit
    with admission.admit("embed", 1500), admission.admit("embed", 400):
        with pytest.raises(Overloaded) as refused, admission.admit("embed", 3000):  # would reach 4.9 s
            pass
        assert refused.value.retry_after == 3  # 4.9 - 2.0 = 2.9 s, rounded up
    assert (admission.stats.admitted, admission.stats.rejected) == (2, 1)
    assert admission.stats.queued_seconds == pytest.approx(0)


def test_models_keep_their_own_cost_but_share_the_wait() -> None:
    admission = Admission(max_wait_s=1.0)
    admission.observe("embed", tokens=1000, seconds=0.1)
    admission.observe("score", tokens=1000, seconds=1.0)
    with admission.admit("score", 900):  # 0.9 s of reranking holds the one inference thread
        with admission.admit("embed", 900):  # +0.09 s
            pass
        with pytest.raises(Overloaded), admission.admit("score", 200):  # +0.2 s
            pass


def test_a_failing_request_releases_its_reservation() -> None:
    admission = Admission(max_wait_s=1.0)
    with pytest.raises(RuntimeError), admission.admit("embed", 100):
        raise RuntimeError("backend failed")
    assert admission.stats.queued_seconds == 0


def test_estimates_follow_measurements_weighted_by_tokens() -> None:
    admission = Admission(max_wait_s=1.0)
    admission.observe("embed", tokens=4096, seconds=1.0)
    admission.observe("embed", tokens=2, seconds=1.0)  # a tiny batch: mostly fixed overhead
    assert admission.seconds_per_token("embed") < 3 / 4096, "the tiny batch moves the estimate by its weight"
