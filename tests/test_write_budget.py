"""Issue 28, item 2: half the writes, and every guard kept.

A touch's record settles its claim (no write to the enrollment after it); the enrollment keeps no
copy of the record (the item stays under 1 KB, one write unit per write); one message index entry
per email (our own Message-ID names its touch, signed); one counter write per email for the
sending guard (the day's count is the cap's and the reputation window's). Faults are injected at
the adapters (tests/faults.py); data an earlier version wrote is read as before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from faults import crash, failing

from bench.costs import UsageMeter
from leadflow import aws, tokens
from leadflow.config import settings
from leadflow.models import Touch
from leadflow.store import enrollment_items
from leadflow.store.items import serialize


def _post(sb, email: str) -> str:
    assert sb.post("/leads", json={"email": email, "first_name": "Ada"}).status_code == 202
    return sb.find_lead(email)["id"]


def _sent(sb, lead_id: str) -> list[int]:
    """Every email or text the providers accepted for the lead, by touch (recorded or not)."""
    return [
        int(message["tags"]["touch"]) for message in sb.outbox() if message["tags"].get("lead") == lead_id
    ]


def _assert_clean(sb) -> None:
    report = sb.audit()
    assert report.clean, report.lines()


def _table_client():
    return aws.table(settings().table_name).meta.client


def _touch_put(number: int):
    def matches(params: dict) -> bool:
        return (
            str(params.get("Item", {}).get("sk", "")).startswith("TOUCH#")
            and params["Item"]["number"] == number
        )

    return matches


@pytest.mark.email_cadence
def test_a_step_that_died_after_storing_the_touch_is_settled_by_the_record_and_never_sends_again(sb):
    """No Send events here: without the stored record the retry could only wait out the in-doubt
    bound and send touch 1 a second time."""
    with failing(
        "dynamodb", "PutItem", crash(), when=_touch_put(1), after=True, client=_table_client()
    ) as died:
        lead_id = _post(sb, "stored.then.died@example.com")
    assert len(died) == 1
    stored = aws.table(settings().table_name).get_item(Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"})
    assert stored["Item"]["touch_state"] == "claimed"  # nothing written after the record...
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert (enrollment.last_touch, enrollment.touch_state) == (1, "sent")  # ...which settled it
    sb.advance(7 * 3600)  # past the in-doubt bound: the retry settled it from the record
    assert _sent(sb, lead_id) == [1]
    _assert_clean(sb)
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    assert [touch.number for touch in enrollment_items.touches(lead_id)] == [1, 2, 3, 4, 5, 6]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_a_claim_shows_sent_only_once_its_touch_is_stored(sb):
    from leadflow import clock

    lead_id = _post(sb, "settled@example.com")
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert (enrollment.last_touch, enrollment.touch_state) == (1, "sent")  # touch 1's item is stored
    claim = enrollment_items.claim_touch(lead_id, 1, 2, clock.now())
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert (enrollment.last_touch, enrollment.touch_state) == (2, "claimed")  # nothing stored for touch 2
    assert enrollment_items.release_touch(lead_id, 1, 2, claim, None)
    assert enrollment_items.get_enrollment(lead_id, 1).touch_state == "released"


@pytest.mark.email_cadence
def test_a_step_that_died_after_storing_the_last_touch_completes_the_enrollment_on_the_retry(sb):
    lead_id = _post(sb, "last.stored@example.com")
    with failing(
        "dynamodb", "PutItem", crash(), when=_touch_put(6), after=True, client=_table_client()
    ) as died:
        sb.advance(30 * 86400)
    assert len(died) == 1
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.run_status.value == "completed"
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_an_enrollment_an_earlier_version_left_accepted_is_recorded_from_its_kept_record(sb):
    """The earlier version kept the accepted record on the enrollment (`pending_touch`) before it
    stored the touch. A step that died there is settled from it after the upgrade: stored, never
    sent again (no Send events here to settle it otherwise)."""
    from moto.ses.models import ses_backends

    from leadflow.local.events import ACCOUNT_ID, REGION

    lead_id = _post(sb, "accepted.before.upgrade@example.com")
    table = aws.table(settings().table_name)

    def left_accepted() -> Exception:
        """SES took touch 2; the earlier version wrote its accept, then the step died."""
        message_id = ses_backends[ACCOUNT_ID][REGION].sent_messages[-1].id
        (enrollment,) = enrollment_items.enrollments(lead_id)
        record = Touch(
            lead_id=lead_id,
            enrollment=1,
            number=2,
            cadence=enrollment.cadence,
            channel="email",
            template="inbound-demo-request/quick-question",
            sent_at=enrollment.provider_call_at,
            message_id=message_id,
            subject="Quick question",
        )
        table.update_item(
            Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"},
            UpdateExpression="SET touch_state = :accepted, pending_touch = :record",
            ExpressionAttributeValues={":accepted": "accepted", ":record": serialize(record)},
        )
        return crash()("killed after the accept")

    second = lambda params: {"Name": "touch", "Value": "2"} in params.get("EmailTags", [])  # noqa: E731
    with failing("sesv2", "SendEmail", left_accepted, when=second, after=True) as died:
        sb.advance(86400 + 60)
    assert len(died) == 1
    sb.advance(3600)
    assert _sent(sb, lead_id) == [1, 2]
    stored = enrollment_items.get_touch(lead_id, 1, 2)
    assert stored is not None and stored.message_id == sb.outbox()[1]["message_id"]
    (enrollment,) = enrollment_items.enrollments(lead_id)
    assert enrollment.pending_touch is None and enrollment.touch_state == "sent"
    sb.advance(30 * 86400)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    _assert_clean(sb)


@pytest.mark.email_cadence
def test_one_index_entry_per_email_and_our_own_message_id_still_names_its_touch(sb):
    lead_id = _post(sb, "one.entry@example.com")
    (touch,) = enrollment_items.touches(lead_id)
    entries = [
        item["pk"]
        for item in aws.table(settings().table_name).scan()["Items"]
        if str(item["pk"]).startswith("MSG#")
    ]
    assert entries == [f"MSG#{touch.message_id}"]
    own = (touch.own_message_id or "").strip("<>")
    owner = enrollment_items.message_owner(own)
    assert owner is not None and (owner["lead_id"], owner["enrollment"], owner["touch"]) == (lead_id, 1, 1)
    # A changed character of the signed part, or a random id at our domain, names nothing.
    token, _, rest = own.partition(".")
    forged = ("b" if token[0] == "a" else "a") + token[1:] + "." + rest
    assert enrollment_items.message_owner(forged) is None
    assert (
        enrollment_items.message_owner("0f5b6a52-1c1e-4d2b-9f7c-7d1f0c2f1e11@mail.leadflow.example") is None
    )


def test_an_own_message_id_indexed_by_an_earlier_version_still_resolves(sb):
    legacy = "9a1f0c7e-5b7d-4c55-8d0e-2f6f5b0b9c11@mail.leadflow.example"  # uuid4 ids, before signing
    aws.table(settings().table_name).put_item(
        Item={"pk": f"MSG#{legacy}", "sk": "MSG", "lead_id": "ab" * 10, "enrollment": 1, "touch": 3}
    )
    owner = enrollment_items.message_owner(legacy)
    assert owner is not None and (owner["lead_id"], owner["touch"]) == ("ab" * 10, 3)


def test_own_message_ids_are_unique_per_send_and_verify_only_as_message_ids(sb):
    first = tokens.own_message_id("ab" * 10, 1, 2, "mail.example")
    second = tokens.own_message_id("ab" * 10, 1, 2, "mail.example")
    assert first != second  # a resend after the in-doubt bound gets its own id
    target = tokens.parse_own_message_id(first)
    assert target is not None and (target.lead_id, target.enrollment, target.touch) == ("ab" * 10, 1, 2)
    reply_token = tokens.sign(tokens.Purpose.REPLY, "ab" * 10, 1, 2)
    assert tokens.parse_own_message_id(f"<{reply_token}.00@mail.example>") is None


@pytest.mark.email_cadence
def test_each_email_writes_one_guard_counter_one_index_entry_and_enrollment_writes_under_1_kb(sb):
    meter = UsageMeter()
    uninstall = meter.install(sb)
    try:
        lead_id = _post(sb, "budget@example.com")
        sb.advance(30 * 86400)
    finally:
        uninstall()
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    requests, units = meter.usage.write_requests_by_kind, meter.usage.writes_by_kind
    assert requests["SENDING/DAY"] == 6 and not {"SENDING/SENDS", "SENDING/REP"} & set(requests)
    assert requests["MSG/MSG"] == 6
    # The post, then per email one claim (it records the provider call; touch 1's also stores the
    # execution's ARN, which the start left to it), and the completion.
    assert requests["ENROLLMENT"] == 1 + 6 + 1
    assert units["ENROLLMENT"] == requests["ENROLLMENT"]  # every write under 1 KB
    _assert_clean(sb)


def test_the_reputation_window_reads_an_earlier_versions_blocks_after_the_day_counts(sb):
    """Before the upgrade sends were counted in SENDING / REP#<block>; the window goes on from them."""
    from leadflow.send import guard

    table = aws.table(settings().table_name)
    for block, (sends, bounces) in enumerate([(10, 0), (10, 1), (4, 0)]):
        table.put_item(Item={"pk": "SENDING", "sk": f"REP#{block:010d}", "sends": sends, "bounces": bounces})
    before = guard.rates()
    assert (before.sends, before.bounces) == (24, 1)
    lead_id = _post(sb, "after.upgrade@example.com")
    assert _sent(sb, lead_id) == [1]
    after = guard.rates()
    assert (after.sends, after.bounces) == (25, 1)


SPEED_DEMO = {"email": "dana@bigco.example", "first_name": "Dana", "company": "BigCo", "form": "demo-request"}


def test_speed_to_lead_writes_its_task_once_per_alert_and_the_last_alert_ends_the_chain():
    """The task is stored with the owner's first alert and the next one's time (one write, in the
    sweep's index from it); each later alert is one write noting the next one; the manager's, the
    last, takes the task out of the sweep's index (no write left for the sweep)."""
    from leadflow.local.sandbox import Sandbox
    from leadflow.store import task_items

    with Sandbox(start="2026-11-23T15:00:00Z") as sb:  # Monday 10:00 New York: Alex is at work
        meter = UsageMeter()
        uninstall = meter.install(sb)
        try:
            assert sb.post("/leads", json=SPEED_DEMO).status_code == 202
            lead_id = sb.find_lead(SPEED_DEMO["email"])["id"]
            stored = task_items.get_task(lead_id, 1, 0)
            assert [e["step"] for e in stored.escalations] == ["owner"]
            assert stored.escalate_at == datetime(2026, 11, 23, 15, 10, tzinfo=UTC)
            assert task_items.escalating_tasks() == [(lead_id, 1, 0)]
            assert meter.usage.write_requests_by_kind["TASK"] == 1
            sb.advance_to("2026-11-23T17:00:00Z")
        finally:
            uninstall()
        task = task_items.get_task(lead_id, 1, 0)
        assert [e["step"] for e in task.escalations] == ["owner", "owner again", "next rep", "manager"]
        assert meter.usage.write_requests_by_kind["TASK"] == 4  # one per alert, nothing else
        assert task_items.escalating_tasks() == []
        _assert_clean(sb)


def test_a_retried_open_of_the_call_task_alerts_the_owner_once():
    """The task's put is conditional: a second open finds it stored (with its first alert) and
    alerts nobody and schedules nothing."""
    from leadflow import clock
    from leadflow.cadence import versions
    from leadflow.local.sandbox import Sandbox
    from leadflow.send import escalations
    from leadflow.store import lead_items, task_items

    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        assert sb.post("/leads", json=SPEED_DEMO).status_code == 202
        lead_id = sb.find_lead(SPEED_DEMO["email"])["id"]
        alerts = [note for note in sb.rep_alerts() if note["kind"].startswith("speed_to_lead")]
        assert len(alerts) == 1
        before = task_items.get_task(lead_id, 1, 0)
        lead = lead_items.get_lead(lead_id)
        enrollment = enrollment_items.get_enrollment(lead_id, 1)
        cadence = versions.cadence_at(enrollment.cadence, enrollment.version)
        sb.advance(60)
        escalations.open_call(lead, cadence, enrollment, clock.now(), None)
        assert [note for note in sb.rep_alerts() if note["kind"].startswith("speed_to_lead")] == alerts
        assert task_items.get_task(lead_id, 1, 0) == before


def _task_put(number: int):
    def matches(params: dict) -> bool:
        return str(params.get("Item", {}).get("sk", "")) == f"TASK#001#{number:02d}"

    return matches


def test_a_call_touch_is_one_item_the_task_carrying_its_record():
    """One item per task touch: the call's task is its touch record (no TOUCH# item); it settles the
    claim, and the touches, the audit and the report read it as before."""
    from leadflow.local.sandbox import Sandbox
    from leadflow.store import task_items

    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        meter = UsageMeter()
        uninstall = meter.install(sb)
        try:
            assert sb.post("/leads", json=SPEED_DEMO).status_code == 202
            lead_id = sb.find_lead(SPEED_DEMO["email"])["id"]
            (enrollment,) = enrollment_items.enrollments(lead_id)
            sb.advance_to(enrollment.schedule[4] + (enrollment.schedule[5] - enrollment.schedule[4]) / 2)
        finally:
            uninstall()
        table = aws.table(settings().table_name)
        for number in (2, 5):  # the demo cadence's calls
            key = {"pk": f"LEAD#{lead_id}", "sk": f"TOUCH#001#{number:02d}"}
            assert "Item" not in table.get_item(Key=key)
            task = task_items.get_task(lead_id, 1, number)
            assert task.sent_at == enrollment.schedule[number - 1].replace(microsecond=0)
            assert task.template and task.claimed_at == task.sent_at
        touches = enrollment_items.touches(lead_id)
        assert [(t.number, t.status.value) for t in touches] == [
            (1, "sent"),
            (2, "task"),
            (3, "skipped"),  # no SMS consent
            (4, "sent"),
            (5, "task"),
        ]
        assert touches[4].task_id == task.id and enrollment_items.get_touch(lead_id, 1, 5) == touches[4]
        stored = table.get_item(Key={"pk": f"LEAD#{lead_id}", "sk": "ENROLLMENT#001"})["Item"]
        assert (stored["last_touch"], stored["touch_state"]) == (5, "claimed")  # nothing written after...
        assert enrollment_items.get_enrollment(lead_id, 1).touch_state == "sent"  # ...the task settled it
        # A call touch's writes: its claim and its task (with the by_day index), nothing else.
        assert meter.usage.write_requests_by_kind["TOUCH"] == 3  # touches 1, 3 and 4
        _assert_clean(sb)


def test_a_call_touch_whose_step_died_after_storing_its_task_is_settled_on_the_retry():
    from leadflow.local.sandbox import Sandbox
    from leadflow.store import task_items

    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        assert sb.post("/leads", json=SPEED_DEMO).status_code == 202
        lead_id = sb.find_lead(SPEED_DEMO["email"])["id"]
        (enrollment,) = enrollment_items.enrollments(lead_id)
        with failing(
            "dynamodb", "PutItem", crash(), when=_task_put(5), after=True, client=_table_client()
        ) as died:
            sb.advance_to(enrollment.schedule[4] + timedelta(minutes=10))
        assert len(died) == 1
        current = enrollment_items.get_enrollment(lead_id, 1)
        assert (current.last_touch, current.touch_state) == (5, "sent")
        assert task_items.get_task(lead_id, 1, 5).claimed_at == current.claimed_at
        assert [t.number for t in enrollment_items.touches(lead_id)] == [1, 2, 3, 4, 5]
        _assert_clean(sb)
        sb.advance(30 * 86400)
        assert [t.number for t in enrollment_items.touches(lead_id)] == [1, 2, 3, 4, 5, 6, 7]
        _assert_clean(sb)


def test_a_task_stored_by_an_earlier_attempt_names_the_retrys_claim():
    """The task's put is conditional (stored once, the rep's task as it was): a retry claims the
    touch again, and the stored task must name that claim to settle it. Without the note the
    enrollment reads `claimed` for good."""
    from leadflow import clock
    from leadflow.cadence import versions
    from leadflow.local.sandbox import Sandbox
    from leadflow.models import TouchStatus
    from leadflow.send import tasks
    from leadflow.store import lead_items, task_items

    with Sandbox(start="2026-11-23T15:00:00Z") as sb:
        assert sb.post("/leads", json=SPEED_DEMO).status_code == 202
        lead = lead_items.get_lead(sb.find_lead(SPEED_DEMO["email"])["id"])
        enrollment = enrollment_items.get_enrollment(lead.id, 1)
        cadence = versions.cadence_at(enrollment.cadence, enrollment.version)
        first = clock.now().replace(microsecond=0)
        claims = []
        for claimed_at in (first, first + timedelta(seconds=90)):
            claims.append(claimed_at)
            record = Touch(
                lead_id=lead.id,
                enrollment=1,
                number=5,
                cadence=cadence.name,
                channel="call",
                template="call",
                sent_at=claimed_at,
                status=TouchStatus.TASK,
                claimed_at=claimed_at,
            )
            assert tasks.create_task(lead, cadence, 1, 5, claimed_at, None, record).sent_at == claimed_at
            assert task_items.get_task(lead.id, 1, 5).claimed_at == claimed_at
        assert len(claims) == 2


def test_the_report_reads_a_task_carrying_its_touch_as_the_two_items_it_replaces():
    """report.source: the by_day entries of a call touch, as two items (touch + task) and as one (the
    task carrying the touch's record), give the same records, in either order and open or done."""
    from leadflow.report.source import dataset_from_items

    keys = {"lead_id": "ab" * 10, "enrollment": 1, "channel": "call", "cadence": "inbound-demo-request"}
    touch = {"sk": "TOUCH#001#02", "kind": "touch", **keys, "number": 2, "sent_at": "2026-11-24T15:00:00Z"}
    touch["status"] = "task"
    for outcome in ({"status": "open"}, {"status": "no_answer", "outcome_at": "2026-11-24T16:00:00Z"}):
        # Due later that day (a call spaced after another): the open task's time is its touch's.
        task = {"sk": "TASK#001#02", "kind": "task", **keys, "touch": 2, "due_at": "2026-11-24T19:00:00Z"}
        task |= outcome
        two = dataset_from_items([touch, task])
        assert dataset_from_items([task, touch]).touches == two.touches
        carrying = task | {"sent_at": touch["sent_at"]}
        assert dataset_from_items([carrying]).touches == two.touches
        assert dataset_from_items([carrying, touch]).touches == two.touches  # both, where both exist


@pytest.mark.email_cadence
def test_a_step_reads_the_enrollment_once_and_a_claims_record_only_when_its_state_decides(sb):
    """Reads (issue 28): the step reads the enrollment as stored; the record of its last claim (the
    read that shows a settled claim as `sent`) is read only where that state decides something: a
    retry of a touch an earlier attempt claimed (the tests above), and the second moment, which
    sends an unsettled first moment first (tests/test_first_moment.py). Not once per touch. A reserved
    sending slot is read for touch 1 alone (the sending guard's reservations: test_sending_guard)."""
    gets: list[str] = []

    def count(params: dict, **_: object) -> None:
        # A GetItem's key, or each key of a BatchGetItem (DynamoDB reads each as its own GetItem).
        keys = [params["Key"]] if "Key" in params else []
        keys += [key for request in params.get("RequestItems", {}).values() for key in request["Keys"]]
        gets.extend(str(key["sk"]).split("#")[0] for key in keys)

    client = _table_client()
    events = ("provide-client-params.dynamodb.GetItem", "provide-client-params.dynamodb.BatchGetItem")
    for event in events:
        client.meta.events.register(event, count)
    try:
        lead_id = _post(sb, "reads@example.com")
        sb.advance(30 * 86400)
    finally:
        for event in events:
            client.meta.events.unregister(event, count)
    assert _sent(sb, lead_id) == [1, 2, 3, 4, 5, 6]
    # One enrollment read per step run (6 touches), none for their records but the second moment's
    # (touch 1's record); the threaded follow-ups (touches 2-6) read their thread's first email.
    assert gets.count("ENROLLMENT") == 6
    assert gets.count("TOUCH") == 1 + 5
    assert "TASK" not in gets
    # The sending guard reads a reserved slot for touch 1 only: only a first touch reserves one.
    assert gets.count("SLOT") == 1
    _assert_clean(sb)
