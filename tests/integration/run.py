"""Runs every tests/integration/test_*.py with unittest and prints
"integration: N passed, N failed" (the line tests/run.sh adds up).

Usage: run.py [-k PATTERN]...  (PATTERNs select tests by name, like unittest -k)
Environment: FLOE_BIN selects the floe binary (e.g. the sanitizer build).
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    loader = unittest.TestLoader()
    args = sys.argv[1:]
    patterns = [args[i + 1] for i in range(len(args) - 1) if args[i] == "-k"]
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    good = result.testsRun - bad - len(result.skipped)
    label = os.environ.get("FLOE_SUITE_LABEL", "integration")
    print("%s: %d passed, %d failed, %d skipped" % (label, good, bad, len(result.skipped)))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
