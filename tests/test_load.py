"""Issue 11 item 6 at test size: posts from 16 threads, 10% of them repeats of addresses posted a few
posts earlier, through the intake handler on the Sandbox. `make bench` runs the same at 1,000 posts and
prints its wall time and per-post p50 of the first and last 100 (bench/load.py)."""

from bench.load import THREADS, load_test, posting_order
from leadflow.local.sandbox import Sandbox


def test_posting_order_repeats_a_tenth_of_the_posts_close_to_their_first_post():
    order = posting_order(1000, 0.10)
    assert len(order) == 1000 and len(set(order)) == 900
    for address in {address for address in order if order.count(address) > 1}:
        first = order.index(address)
        assert order.index(address, first + 1) - first <= THREADS + 100  # inserts shift it a little


def test_concurrent_posts_with_repeats_give_one_lead_one_enrollment_one_execution_and_touch_1_each():
    with Sandbox("2026-11-23T15:00:00Z") as sb:
        result = load_test(sb, posts=80, threads=THREADS)

    assert (result.posts, result.addresses) == (80, 72)
    assert result.breaches == []
