#!/usr/bin/env bash
# Sets up (tools/setup.sh: installs what is missing, builds) and runs the whole test suite.
# Extra arguments go to `meson test` (e.g. a suite: tools/test.sh --suite unit).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?

# One closing line counting test cases (not test programs): "N passed, N failed".
python3 - build/meson-logs/testlog.json build/meson-logs/testlog.junit.xml <<'PY'
import json, sys, xml.etree.ElementTree as ET
programs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
cases = ET.parse(sys.argv[2]).getroot().iter("testcase")
passed = failed = 0
failing_programs = {p["name"] for p in programs if p["result"] not in ("OK", "SKIP", "EXPECTEDFAIL")}
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    else:
        passed += 1
# A program that failed without a failing case (a crash, a timeout) still counts as a failure.
failed = max(failed, len(failing_programs))
print(f"{passed} passed, {failed} failed")
PY
exit "$status"
