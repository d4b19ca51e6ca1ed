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
    # issue 28: write units under the corrected meter, and the per-touch cost's denominator
    "dynamodb_write_units_per_lead",
    "dynamodb_read_units_per_lead",
    "touches_per_lead_demo",
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


def test_the_cost_model_puts_leadflow_per_touch_beside_mailshot_per_email():
    figures = {
        name: {"name": name, "value": value, "unit": "", "baseline": None, "ratio": None}
        for name, value in {
            "touches_per_lead_demo": 5.0,
            "transitions_per_lead_demo": 10.0,
            "cost_usd_per_1000_leads_demo": 0.75,
            "cost_usd_per_1000_leads_demo_without_ses": 0.30,
        }.items()
    }
    page = render(figures)
    # leadflow: 10 / 5 transitions, 0.75 / 5 and 0.30 / 5 USD; mailshot: 14 / 6, 0.99 / 6 and
    # (0.99 - 6 emails at $0.10 per 1,000) / 6.
    assert "| state transitions | 2.00 | 2.33 |" in page
    assert "| USD per 1,000 touches | 0.150 | 0.165 |" in page
    assert "| USD per 1,000 touches, without SES | 0.060 | 0.065 |" in page


def test_the_per_touch_rows_say_not_measured_without_a_touch_count():
    page = render({})
    assert "Per touch: not measured" in page and "| state transitions |" not in page
