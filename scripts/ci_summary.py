"""Print CI's closing line from this run's JUnit reports: 'ci: N passed, N failed, N skipped'.

Sums pytest's reports (build/junit/*.xml: both test passes and the browser
test), newman's (build/newman/junit.xml) and schemathesis' (build/schemathesis/junit.xml).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = [
    *sorted((ROOT / "build" / "junit").glob("*.xml")),
    ROOT / "build" / "newman" / "junit.xml",
]
REPORTS.append(ROOT / "build" / "schemathesis" / "junit.xml")


def main() -> int:
    total = failed = skipped = 0
    for report in REPORTS:
        if not report.exists() or report.stat().st_size == 0:
            continue
        root = ET.parse(report).getroot()
        suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
        for suite in suites:
            total += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
    print(f"ci: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
