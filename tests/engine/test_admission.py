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


def test_a_bulk_flood_refuses_bulk_but_still_admits_queries() -> None:
    admission = Admission(max_wait_s=2.0, interactive_share=0.8)
    admission.observe("embed", tokens=1000, seconds=1.0)
    with admission.admit("embed", 1900, "bulk"):  # 1.9 s of bulk queued
        with pytest.raises(Overloaded), admission.admit("embed", 200, "bulk"):
            pass
        with admission.admit("embed", 200, "interactive"):  # a query waits for queries only
            assert admission.wait_ahead("interactive") == pytest.approx(0.2 + 0.05)  # + the bulk share: 0.2 x 0.25
            assert admission.wait_ahead("bulk") == pytest.approx(2.1)
    assert admission.by_class["bulk"].rejected == 1 and admission.by_class["interactive"].rejected == 0
    assert (admission.by_class["bulk"].admitted, admission.by_class["interactive"].admitted) == (1, 1)
    assert admission.stats.admitted == 2 and admission.stats.queued_seconds == pytest.approx(0)


def test_queries_past_their_own_limit_are_refused_too() -> None:
    admission = Admission(max_wait_s=1.0, interactive_share=0.5)
    admission.observe("embed", tokens=1000, seconds=1.0)
    # 0.6 s of queries, and the scheduler lets as much bulk through meanwhile (share 0.5): 1.2 s ahead
    with (
        admission.admit("embed", 5000, "bulk"),
        admission.admit("embed", 600, "interactive"),
        pytest.raises(Overloaded),
        admission.admit("embed", 10, "interactive"),
    ):
        pass


def test_check_refuses_without_admitting() -> None:
    admission = Admission(max_wait_s=1.0)
    admission.observe("embed", tokens=1000, seconds=1.0)
    with admission.admit("embed", 900, "bulk"):
        admission.check("embed", 50, "bulk")  # fits: nothing is reserved
        assert admission.stats.queued_seconds == pytest.approx(0.9)
        with pytest.raises(Overloaded):
            admission.check("embed", 500, "bulk")
    assert admission.stats.admitted == 1 and admission.stats.rejected == 1
