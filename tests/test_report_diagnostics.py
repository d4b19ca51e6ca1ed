"""Each diagnostic fires on data built to trigger it, with its numbers, and stays silent on healthy data."""

from datetime import UTC, datetime

import pytest

from leadflow.local.synthetic_report import Profile, generate
from leadflow.report.build import build_report
from leadflow.report.metrics import Window

END = datetime(2026, 11, 23, tzinfo=UTC)
WEEK = Window("week", datetime(2026, 11, 16, tzinfo=UTC), END)
TEN_EMAILS = tuple(("email", 1) for _ in range(10))


def findings(*profiles, seed=1):
    dataset, plans = generate(list(profiles), END, seed=seed)
    return build_report(dataset, WEEK, plans, company="Demo", timezone="UTC").findings


def codes(found):
    return sorted({finding.code for finding in found})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_healthy_data_draws_no_finding(seed):
    # 400 cold leads: at 200, seed 1 drew a 14.5% contact rate, under the band; counting responders at
    # once and the others only at their last step (before issue 27) had lifted it over 15%.
    cold = Profile(cadence="cold-list", lead_type="cold", respond=0.2, leads=400)
    assert findings(Profile(leads=400), cold, seed=seed) == []


# Each case: the profile that should trigger the rule, and the numbers the finding must carry.
TRIGGERS = {
    "low_reply_rate": Profile(reply=0.05, response_steps=(0, 0.5, 0, 0.5, 0, 0)),
    "slow_first_response": Profile(steps=TEN_EMAILS, response_steps=(0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5)),
    "contact_rate_below_band": Profile(respond=0.25, days=60),
    "dropoff_spike": Profile(unsubscribe=0.15, leave_steps=(0, 1, 0, 0, 0, 0)),
    "channel_underused": Profile(response_steps=(0.05, 0.05, 0.05, 0.8, 0.03, 0.02)),
    "effort_placement": Profile(response_steps=(0.05, 0.05, 0.1, 0.2, 0.4, 0.2)),
    "archive_sequence": Profile(respond=0.05),
    "rep_variance": Profile(owner_respond={"alex": 0.6, "sam": 0.35}),
    "slow_speed_to_lead": Profile(speed_seconds=3600),
    "complaint_rate": Profile(complaint=0.01),
    "bounce_rate": Profile(bounce=0.08),
}


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_diagnostic_fires_on_data_built_for_it(code):
    found = [finding for finding in findings(TRIGGERS[code]) if finding.code == code]
    assert found, f"{code} did not fire"
    for finding in found:
        assert finding.numbers, "a finding carries the numbers behind it"
        assert any(character.isdigit() for character in finding.headline + finding.evidence)
        assert finding.recommendation


def test_reply_rate_below_ten_percent_points_at_targeting_not_frequency():
    (finding,) = [f for f in findings(TRIGGERS["low_reply_rate"]) if f.code == "low_reply_rate"]
    assert finding.numbers["reply_rate"] < 0.10
    assert "targeting" in finding.recommendation and "relevance" in finding.recommendation


def test_healthy_opens_with_few_replies_blame_the_body_copy():
    profile = Profile(reply=0.05, response_steps=(0, 0.5, 0, 0.5, 0, 0), opens=0.5)
    (finding,) = [f for f in findings(profile) if f.code == "low_reply_rate"]
    assert finding.numbers["open_rate"] >= 0.25
    assert "body copy" in finding.recommendation


def test_contact_rate_bands_differ_for_inbound_and_cold_leads():
    inbound = Profile(respond=0.2, days=60)
    cold = Profile(cadence="cold-list", lead_type="cold", respond=0.2, days=60)
    assert "contact_rate_below_band" in codes(findings(inbound))
    assert "contact_rate_below_band" not in codes(findings(cold))
    low_cold = findings(Profile(cadence="cold-list", lead_type="cold", respond=0.08, days=60))
    (finding,) = [f for f in low_cold if f.code == "contact_rate_below_band"]
    assert finding.numbers["band_low"] == 0.15


def test_spikes_at_step_two_and_four_name_their_causes():
    (second,) = [f for f in findings(TRIGGERS["dropoff_spike"]) if f.code == "dropoff_spike"]
    assert second.numbers["step"] == 2 and "second touch" in second.evidence
    fourth_profile = Profile(unsubscribe=0.15, leave_steps=(0, 0, 0, 1, 0, 0))
    (fourth,) = [f for f in findings(fourth_profile) if f.code == "dropoff_spike"]
    assert fourth.numbers["step"] == 4 and "channel mismatch" in fourth.evidence


def test_the_channel_that_draws_responses_gets_more_of_the_sequence():
    found = [f for f in findings(TRIGGERS["channel_underused"]) if f.code == "channel_underused"]
    assert [f.scope for f in found] == ["channel linkedin"]
    assert found[0].numbers["response_share"] > 2 * found[0].numbers["touch_share"]


def test_highest_effort_touch_belongs_one_step_before_the_median_response():
    (finding,) = [f for f in findings(TRIGGERS["effort_placement"]) if f.code == "effort_placement"]
    assert finding.numbers == {"median_response_step": 5.0, "highest_effort_step": 2, "target_step": 4}


def test_a_sequence_archived_only_after_ninety_days():
    assert "archive_sequence" in codes(findings(Profile(respond=0.05)))
    young = findings(Profile(respond=0.05, days=60))
    assert "archive_sequence" not in codes(young)
    assert "contact_rate_below_band" in codes(young)


def test_rep_variance_names_the_best_and_the_worst_rep():
    (finding,) = [f for f in findings(TRIGGERS["rep_variance"]) if f.code == "rep_variance"]
    assert (finding.numbers["best"], finding.numbers["worst"]) == ("alex", "sam")
    assert finding.numbers["spread"] > 0.15
