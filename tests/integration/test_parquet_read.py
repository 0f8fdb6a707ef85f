"""floe's Parquet reader on another writer's files: tests/tools/pq_read_check
has DuckDB (in-process, the vendored libduckdb) write a table of every floe
type under PARQUET_VERSION V1 and V2 and each codec, then reads every value
back with pq_reader and with rowfetch (also through promoted types) and
compares it with the value it computes itself.
"""
import os
import subprocess
import tempfile
import unittest

from harness import ROOT

PQ_READ_CHECK = os.environ.get("PQ_READ_CHECK_BIN",
                               os.path.join(ROOT, "build", "rel", "tools", "pq_read_check"))


class ParquetReadTest(unittest.TestCase):
    def test_duckdb_files(self):
        with tempfile.TemporaryDirectory(prefix="pq-read-") as d:
            p = subprocess.run([PQ_READ_CHECK, d], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        lines = p.stdout.splitlines()
        self.assertRegex(lines[-1], r"^total: \d+ passed, 0 failed$")
        self.assertEqual(len([x for x in lines if x.startswith("v")]), 8, p.stdout)


if __name__ == "__main__":
    unittest.main()
