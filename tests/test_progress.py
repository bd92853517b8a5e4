"""The sweep's progress lines when stderr is not a terminal (a log file, CI)."""

import io

from annbench.runner.progress import Progress


def test_a_log_gets_the_finished_bar_once_however_often_the_end_is_reported():
    out = io.StringIO()
    bar = Progress(4, stream=out)
    bar.update(0, "hnsw")
    for _ in range(3):  # the end reported again, e.g. once per client count of a loaded point
        bar.update(4)
    lines = out.getvalue().splitlines()
    assert [line.split("]")[1].split("points")[0].strip() for line in lines] == ["0/4", "4/4"]
    assert all(line.endswith("hnsw") for line in lines)
