"""`make test`'s xdist scheduler (tests/conftest.py): the synth's files run as one, the longest first."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from tests.conftest import SLOW_FIRST, SYNTH_FILES, slow_first

TESTS = Path(__file__).parent


def test_every_slow_first_name_is_a_test_file_or_the_synth_group() -> None:
    assert "test_infra.py" in SYNTH_FILES and "test_checkov.py" in SYNTH_FILES
    names = {path.name for path in TESTS.glob("test_*.py")}
    assert [name for name in SLOW_FIRST if name not in names and name != "synth"] == []
    assert not SYNTH_FILES & set(SLOW_FIRST)  # they are scheduled as "synth", not by file name


def test_the_slow_files_go_first_in_their_order_and_the_rest_keep_theirs() -> None:
    scopes = ["tests/test_a.py", "tests/test_stages.py", "synth", "tests/test_b.py"]
    scopes.append("tests/test_speed_to_lead.py")
    queue = OrderedDict((scope, {}) for scope in scopes)
    slow_first(queue)
    assert list(queue) == [
        "tests/test_speed_to_lead.py",
        "synth",
        "tests/test_stages.py",
        "tests/test_a.py",
        "tests/test_b.py",
    ]
