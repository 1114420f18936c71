"""Shared by the coverage benches' row printers (tools/bench/coverage.sh runs the CLI; each bench formats its own row)."""
import json
import os
import sys


def report_or_failure_row(cells, path, code, err, blank_columns):
    """The run's report.json as a dict (the file is removed once read); when the run wrote none, prints a table row of
    `cells`, the exit code, `blank_columns` dashes and the last line of its stderr, and ends the script."""
    if not os.path.exists(path):
        msg = open(err).read().strip().splitlines()
        last = (msg[-1] if msg else "")[:160]
        print("| " + " | ".join(list(cells) + [str(code)] + ["-"] * blank_columns + [last]) + " |")
        sys.exit()
    report = json.load(open(path))
    os.remove(path)
    return report
