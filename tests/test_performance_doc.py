"""docs/PERFORMANCE.md is generated from bench/results.json, and both are committed: the page's numbers
are the results file's (a stale page fails here; `python -m bench.performance_doc` regenerates it)."""

import json

from bench.performance_doc import DOC_PATH, render
from bench.results import RESULTS_PATH

ISSUE_13_NAMES = [
    "speed_to_lead_p50_ms",
    "speed_to_lead_p99_ms",
    "intake_posts_last_vs_first_p50",
    "sandbox_rss_mb_1000_leads",
    "sandbox_full_cadence_s_1000_leads",
    "transitions_per_lead_demo",
    "step_invocations_per_lead_demo",
    "cost_usd_per_1000_leads_demo",
    "cost_usd_per_1000_leads_demo_without_ses",
    "report_100k_s",
    "report_100k_peak_mb",
    "our_code_ms_per_post",
    *(
        f"cold_start_ratio_{function}"
        for function in ("intake", "step", "inbound", "events", "report", "sweep")
    ),
    # issue 11 item 6: the load test
    "load_wall_s_1000_posts",
    "load_posts_first_100_p50_ms",
    "load_posts_last_100_p50_ms",
    "load_invariant_breaches",
]


def test_the_results_file_has_every_figure_the_issues_name_each_with_value_and_unit():
    figures = json.loads(RESULTS_PATH.read_text())
    assert set(ISSUE_13_NAMES) <= set(figures), sorted(set(ISSUE_13_NAMES) - set(figures))
    for name, figure in figures.items():
        assert figure["name"] == name
        assert isinstance(figure["value"], int | float) and figure["unit"]
        assert {"baseline", "ratio"} <= set(figure)


def test_performance_md_is_generated_from_the_results_file():
    assert DOC_PATH.read_text() == render(json.loads(RESULTS_PATH.read_text()))
