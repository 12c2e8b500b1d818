#!/usr/bin/env python3
"""The harness's bookkeeping without running a case: rows carry their commit, --merge refuses rows of another
commit unless asked, the docs' counts come from the rows with self-pairings apart, measurements as mean ± sd.
Run by `make check` (check-verify)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def row(s, c, t, r, commit="abc1234", why="1.0 s"):
    return (s, c, t, r, why, commit, "2026-12-07T22:00:00Z")


class Rows(unittest.TestCase):
    def test_roundtrip_and_legacy_rows(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "r.tsv")
            harness.write_tsv(p, [row("lwquic", "ngtcp2", "retry", "pass")])
            with open(p, "a", encoding="utf-8") as f:
                f.write("lwquic\tquicgo\thandshake\tpass\t0.1 s\n")  # written before commits were recorded
            rows = harness.read_tsv(p)
        self.assertEqual(rows[0], row("lwquic", "ngtcp2", "retry", "pass"))
        self.assertEqual(rows[1][5:], ("", ""))

    def test_merge_refuses_other_commit(self):
        old = [row("lwquic", "ngtcp2", "retry", "pass", "0ld0ld0"), row("lwquic", "ngtcp2", "handshake", "pass")]
        redo = {("lwquic", "ngtcp2", "handshake")}
        with self.assertRaises(ValueError) as e:
            harness.merge_rows(old, redo, "abc1234", False)
        self.assertIn("0ld0ld0", str(e.exception))
        self.assertEqual(harness.merge_rows(old, redo, "abc1234", True), old[:1])
        # rows this run redoes are dropped whatever their commit; the same commit's rows are kept
        self.assertEqual(harness.merge_rows(old[1:] + [row("a", "b", "x", "pass")], redo, "abc1234", False),
                         [row("a", "b", "x", "pass")])

    def test_merge_refuses_unrecorded_commit(self):
        with self.assertRaises(ValueError):
            harness.merge_rows([row("a", "b", "x", "pass", "")], set(), "abc1234", False)


class Docs(unittest.TestCase):
    def test_counts_from_rows_self_apart(self):
        rows = [row("lwquic", "lwquic", "v2", "pass"), row("lwquic", "lwquic", "handshake", "pass"),
                row("lwquic", "ngtcp2", "v2", "unsupported"), row("lwquic", "ngtcp2", "handshake", "pass"),
                row("ngtcp2", "lwquic", "handshake", "fail", why="1 missing")]
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "interop.md")
            with open(p, "w", encoding="utf-8") as f:
                f.write("intro\n\n%s\nold\n%s\n\nafter\n" % (harness.MARK_BEGIN, harness.MARK_END))
            harness.write_docs(p, rows)
            with open(p, encoding="utf-8") as f:
                text = f.read()
        self.assertTrue(text.startswith("intro") and text.rstrip().endswith("after") and "old" not in text)
        self.assertIn("| test | lwquic → ngtcp2 | ngtcp2 → lwquic | lwquic → lwquic (self) |", text)
        self.assertIn("| v2 (V2) | – |   | ✓ |", text)
        self.assertIn("interop (2 peer pairings) 1 passed, 1 failed, 1 unsupported", text)
        self.assertIn("self-pairings (not interop) 2 passed, 0 failed, 0 unsupported", text)
        self.assertIn("Commit abc1234, 2026-12-07", text)
        self.assertIn("- ngtcp2 → lwquic handshake: 1 missing", text)

    def test_mean_sd(self):
        self.assertEqual(harness.mean_sd([9000, 9100, 8900, 9000, 9000]), "9000 ± 71")
        self.assertEqual(harness.mean_sd([5000]), "5000 ± 0")


if __name__ == "__main__":
    unittest.main()
