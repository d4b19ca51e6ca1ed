"""`make bench` prints the classifier figures; a smoke run (targets live in the bench)."""

from bench.__main__ import main


def test_the_classify_bench_prints_its_figures(capsys):
    assert main(["classify", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "corpus messages" in out
    assert "cold import + first message" in out
    for kind in ("auto_reply", "bounce", "complaint", "reply", "unsubscribe"):
        assert kind in out
