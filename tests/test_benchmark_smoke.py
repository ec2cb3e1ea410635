"""The benchmarks run end to end at CI size. Figures are printed, never asserted."""

from __future__ import annotations

import pytest

from benchmarks import ack_latency


@pytest.mark.timeout(120)
def test_ack_latency_smoke_prints_a_table_without_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ack_latency.main(["--stores", "sqlite", "--smoke"]) == 0
    out = capsys.readouterr().out

    assert "ratio p50" in out  # the table header
    rows = [line for line in out.splitlines() if line.startswith("sqlite/embedded ")]
    # submit, adr, stance, search at concurrency 20 (the smoke runs the embedded topology)
    assert len(rows) == 4, out
    for line in rows:
        _label, app, bare, _ratios = line.split("|")
        n, errors = int(line.split()[3]), int(app.split()[3])
        bare_errors = int(bare.split()[3])
        assert n == 50 and errors == 0 and bare_errors == 0, line
    assert "submit -> channel post, sqlite/embedded, concurrency 1, n 10:" in out
    assert "missing 0" in out
    for target in (
        "p99 ratio to bare Bolt <= 2",
        "search p95 < 150 ms",
        "submit -> channel post p95 < 200 ms",
    ):
        assert target in out


@pytest.mark.timeout(120)
def test_estimate_reveal_smoke_prints_its_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import estimate_reveal

    assert estimate_reveal.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:5]}
    assert list(rows) == ["floor", "combine", "chart"], out
    assert rows["combine"][0] == "5" and rows["chart"][0] == "3"
    assert "first chart in a new process: import matplotlib" in out
    for target in ("combine p95 < 100 ms", "chart p95 < 300 ms"):
        assert target in out


@pytest.mark.timeout(120)
def test_estimate_ack_smoke_reveals_every_round_after_its_ack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import estimate_ack

    assert estimate_ack.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()[1:4]]
    assert names == ["floor", "agree", "reveal"], out
    assert all(" n=3 " in line for line in out.splitlines()[1:4]), out
    assert "rounds computed after their acks: 3/3" in out


@pytest.mark.timeout(120)
def test_parking_lot_smoke_prints_its_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import parking_lot

    assert parking_lot.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("parking lot: sqlite, 2,000 items in T1"), out
    rows = {line[:15].strip(): line[15:].split() for line in lines[2:12]}
    assert list(rows) == [
        "list floor",
        "list query",
        "list answer",
        "regex floor",
        "noop handler",
        "unwatched miss",
        "unwatched hit",
        "watched floor",
        "watched new",
        "watched again",
    ], out
    assert all(len(figures) == 4 and figures[0] == "10" for figures in rows.values()), out
    assert "from the other workspace: 0;" in out
    assert "offers taken by 'watched new': 10/10, by 'watched floor': 10/10" in out
    assert "list query reads the index: yes" in out
    for target in ("list answer p95 < 50 ms", "unwatched channel p95 < 2 ms", "watched channel"):
        assert target in out


@pytest.mark.timeout(180)
def test_digest_smoke_counts_the_same_statements_for_few_and_many_decisions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import digest

    assert digest.main(["--quick"]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "statements per digest:" in line]
    assert "equal" in line, out
    assert "p95" in out


@pytest.mark.timeout(180)
def test_adr_files_smoke_prints_its_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import adr_files

    assert adr_files.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("adr files: sqlite, import 200 files, export 2,000 decisions"), out
    for row in (
        "import: read_tree",
        "import: import_records",
        "import: total",
        "import floor",
        "export: export_to_dir",
        "export again (unchanged)",
        "export as nygard",
        "export floor",
        "export one (/adr export N)",
        "export one decision: p50",
    ):
        assert row in out
    assert "import >= 500 records/s" in out and "export >= 2,000 records/s" in out


@pytest.mark.timeout(180)
def test_installations_smoke_prints_both_parts(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import installations

    assert installations.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "authorization: sqlite, 50 installed workspaces" in out, out
    assert "(not answered with the help: 0)" in out, out
    for row in (
        "request, single workspace",
        "request, distributed",
        "StoredAuthorize alone, cached",
        "StoredAuthorize alone, miss",
        "request, distributed, cache miss",
        "distributed - single:",
        "idle engine",
        "A holds 500 due rows",
        "with backlog / idle:",
    ):
        assert row in out, out
    assert "authorization added per request p95 < 1 ms (cached)" in out
    assert "B's post within 2x of idle" in out


@pytest.mark.timeout(120)
def test_health_smoke_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import health

    assert health.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("health: sqlite, 2,000 decisions in one workspace"), out
    rows = {line[:24].strip(): line[24:].split() for line in out.splitlines()[2:7]}
    assert list(rows) == [
        "stats workspace 30d",
        "stats workspace 90d",
        "stats workspace 1y",
        "digest workspace 90d",
        "count(*) floor",
    ], out
    assert rows["count(*) floor"][0] == "2,000"
    # a year holds about a third of three years' decisions, 90 days about a twelfth
    assert 500 < int(rows["stats workspace 1y"][0].replace(",", "")) < 700, out
    assert "stats workspace 1y p95 < 200 ms" in out


@pytest.mark.timeout(120)
def test_health_charts_smoke_prints_each_chart_beside_an_empty_figure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import health_charts

    assert health_charts.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("health charts: 13 months, 8 calibration bins"), out
    rows = {line[:16].strip(): line[16:].split() for line in out.splitlines()[2:7]}
    assert list(rows) == [
        "empty figure",
        "calibration.png",
        "lead-time.png",
        "outcomes.png",
        "reversals.png",
    ], out
    assert all(r[0] == "3" for r in rows.values()), out
    assert "import matplotlib in a new process:" in out
    for name in ("calibration", "lead-time", "outcomes", "reversals"):
        assert f"{name}.png p95 < 300 ms" in out


@pytest.mark.timeout(180)
def test_interaction_profile_smoke_profiles_each_interaction(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import interaction_profile

    names = ("adr", "submit", "agree", "stance", "search", "estimate", "park")
    assert (
        interaction_profile.main(["--repeat", "3", "--top", "40", "--only", ",".join(names)]) == 0
    )
    out = capsys.readouterr().out
    headers = [line for line in out.splitlines() if line.startswith("## ")]
    assert [h.split()[1] for h in headers] == list(names), out
    for header in headers:
        # "## submit (sqlite): 3 interactions, 40.1 CPU ms each ..., 12.3 statements each {...}"
        assert "3 interactions" in header and "statements each" in header, header
    # every app thread was profiled: Bolt's listeners and the dispatcher's deliveries show up
    assert "bot/core/errors.py" in out and "bot/engine/delivery.py" in out, out
