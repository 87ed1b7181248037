"""A sweep's results file: one row per configuration and seed, appended as each arrives.

``.csv`` is a CSV table; any other name holds JSON lines. A row written is
flushed at once, so a sweep that is killed leaves every finished row behind
(and at most one cut-off line, dropped when the sweep resumes).
"""
import csv
import io
import json
import os

from ..core.storage import json_value, read_bytes

RESULTS = ("test_accuracy", "train_cost", "seconds")


def row_key(row, names):
    """What identifies a row: its value of every grid name, and its seed."""
    return json.dumps([[row[name] for name in names], row["seed"]])


class ResultsFile:
    """The results of a sweep over the grid names ``names`` at ``path``."""

    def __init__(self, path, names):
        self.path, self.names = os.fspath(path), list(names)
        self.csv = self.path.endswith(".csv")
        self.columns = self.names + ["seed", "epochs", *RESULTS, "error"]

    def read(self):
        """The rows already in the file (none when it does not exist), its cut-off last line dropped from it."""
        if not os.path.exists(self.path):
            return []
        data = read_bytes(self.path)
        if data and not data.endswith(b"\n"):  # killed while writing a line: keep the lines before it
            data = data[:data.rfind(b"\n") + 1]
            os.truncate(self.path, len(data))  # one call: the complete lines are never rewritten
        text = data.decode("utf-8")
        rows = self._csv_rows(text) if self.csv else [self._json_row(n, line) for n, line in
                                                      enumerate(text.splitlines(), 1) if line.strip()]
        for row in rows:
            if sorted(set(row) - {"error"}) != sorted(set(self.columns) - {"error"}):
                raise ValueError(f"{self.path}: written by a sweep over other settings ({', '.join(row)}); "
                                 f"this one varies {', '.join(self.names)}: give another results file")
        return rows

    def _json_row(self, number, line):
        row = json_value(line, f"{self.path}: line {number}")
        if not isinstance(row, dict):
            raise ValueError(f"{self.path}: line {number} is not a JSON object")
        return row

    def _csv_rows(self, text):
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames and reader.fieldnames != self.columns:
            raise ValueError(f"{self.path}: written by a sweep over other settings ({', '.join(reader.fieldnames)}); "
                             f"this one varies {', '.join(self.names)}: give another results file")
        rows = []
        for cells in reader:
            row = {name: _cell_value(cells[name]) for name in self.names}
            row.update(seed=int(cells["seed"]), epochs=int(cells["epochs"]),
                       **{name: float(cells[name]) for name in RESULTS})
            if cells["error"]:
                row["error"] = cells["error"]
            rows.append(row)
        return rows

    def append(self, row):
        """Write one row at the end of the file, flushed."""
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", encoding="utf-8", newline="") as file:
            if self.csv:
                writer = csv.writer(file, lineterminator="\n")
                if new:
                    writer.writerow(self.columns)
                writer.writerow([_cell(row.get(name, "")) for name in self.columns])
            else:
                file.write(json.dumps(row) + "\n")


def _cell(value):
    """A CSV cell that ``_cell_value`` reads back as ``value``: JSON, except for a string that JSON would read
    as something else (such as relu), which is written as it is."""
    if isinstance(value, str) and not _reads_as_json(value):
        return value
    return json.dumps(value)  # numbers (NaN and Infinity included), lists, true, null, and strings such as "3"


def _reads_as_json(text):
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _cell_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text
