"""`make bench` runs; a smoke run at small sizes prints every report figure (targets live in the bench)."""

import json

import pytest

from bench.__main__ import main


def test_the_report_bench_prints_its_figures(capsys):
    assert main(["report", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "1,000 leads, 6,000 touches" in out
    assert "assumed" not in out  # the report's time is report_stream's, measured end to end
    for figure in (
        "read (computed)",
        "read units",
        "aggregate (measured)",
        "memory:",
        "tracemalloc",
        "fits Lambda",
    ):
        assert figure in out


def test_an_unknown_section_is_refused(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["nosuch"])
    assert exit.value.code == 2
    assert "unknown section" in capsys.readouterr().err


def test_the_report_stream_bench_runs_the_report_over_recorded_pages(capsys):
    """The real report function's code over recorded Query pages (its reads of the sending guard too)."""
    assert main(["report_stream", "--quick"]) == 0
    figures = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [figure["name"] for figure in figures] == ["report_2k_s", "report_2k_cpu_s", "report_2k_peak_mb"]
    # 32 for the period and its trailing 90 days (August to November x 8 shards), 8 for the not-now
    # leads due back the week after (November, issue 24); by UTC day it was 728 + 64 = 792.
    assert "40 queries" in figures[0]["note"]
    assert all(figure["value"] > 0 for figure in figures)
