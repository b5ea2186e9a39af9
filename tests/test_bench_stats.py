"""The benchmark's statistics (bench/run.py): the median of interleaved runs, and how it is shown."""

from __future__ import annotations

from pathlib import Path

from bench.run import Run, _fmt_walls, median_run


def test_the_median_run_keeps_its_own_counts_every_wall_and_the_highest_rss() -> None:
    runs = [Run(1.20, 90.0, 89), Run(0.99, 96.0, 90), Run(1.05, 93.0, 91)]
    m = median_run(runs)
    assert (m.wall_s, m.requests, m.rss_mb, m.walls) == (1.05, 91, 96.0, [1.20, 0.99, 1.05])
    assert _fmt_walls(m, 90) == "1.05 (0.99-1.20)"
    # an even count takes the lower middle; a run killed at the timeout counts as the slowest
    m = median_run([Run(None, 50.0, 1), Run(2.0, 40.0, 2)])
    assert m.wall_s == 2.0 and _fmt_walls(m, 90) == "2.00 (2.00-> 90)"
    assert _fmt_walls(median_run([Run(0.5, 1.0, 1)]), 90) == "0.50"


def test_the_peak_rss_counts_a_helper_process_with_its_parent(tmp_path: Path) -> None:
    """llmd-doctor's page reader is a second process: its memory counts as the tool's. Parent and
    helper each hold ~60 MB at the same time; the peak is their sum, not the larger."""
    import subprocess
    import sys

    from bench.rss import LAUNCHER

    hold = "b = bytearray(60 << 20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep({})"
    parent = ("import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', {!r}]); "
              + hold.format(0.8) + "; c.wait()").format(hold.format(0.8))
    out = tmp_path / "rusage"
    subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(out), "30", sys.executable, "-c", parent], check=True)
    peak_kb, code = (int(x) for x in out.read_text().split())
    assert code == 0
    assert peak_kb > 110 * 1024, peak_kb


def test_phases_are_summarized_as_medians_and_ranges_and_pairs_are_counted() -> None:
    from bench.phases import summarize

    mine = [{"pods": 2.0, "checks_s": 0.6}, {"pods": 2.4, "checks_s": 0.5}, {"pods": 1.9, "checks_s": 0.7}]
    theirs = [{"pods": 2.1, "checks_s": 0.8}, {"pods": 2.2, "checks_s": 0.6}, {"pods": 2.0, "checks_s": 0.9}]
    lines = summarize(mine, theirs)
    assert [line.split()[0] for line in lines] == ["pods", "checks_s"]  # in the order a run goes
    assert "2.000 (1.900-2.400)" in lines[0] and "against   2.100 (2.000-2.200)" in lines[0]
    assert lines[0].endswith("less in 2/3 pairs") and lines[1].endswith("less in 3/3 pairs")
    alone = summarize(mine)
    assert "against" not in alone[0] and "0.600 (0.500-0.700)" in alone[1]
