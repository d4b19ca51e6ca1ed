"""`make bench` prints the intake figures; a smoke run at a small size (targets live in the bench)."""

from bench.__main__ import main


def test_the_intake_bench_prints_its_figures(capsys):
    assert main(["intake", "--quick"]) == 0
    out = capsys.readouterr().out
    for figure in ("warm handler, new address", "p50", "p99", "bare PutItem + StartExecution", "overhead"):
        assert figure in out
