"""Runs scim2-tester's compliance checks against a SCIM server and fails on any check that
finds a violation of a MUST of RFC 7643/7644 (ERROR, CRITICAL), except the few listed in
KNOWN below, each with the reason attest answers differently on purpose.

Usage: check.py BASE_URL   (the bearer token comes in the SCIM_TOKEN environment variable)
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# (check name, words of its reason): where attest disagrees with the checker, and why.
KNOWN = [
    # The checker sets the enterprise manager to a random id. attest refuses a manager that
    # is not a user of the same source (invalidValue): managers review their reports'
    # access, so a dangling manager would route those reviews to nobody.
    ("", "is not the id of a user of this source"),
    # The checker expects members exactly as sent; attest also returns each member's
    # read-only `display` (RFC 7643 §4.2 defines it as returned, read-only).
    ("check_add_attribute", "'members' was not added"),
    ("check_replace_attribute", "'members' was not replaced"),
]

PASS = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


def known(result):
    reason = result.reason or ""
    return any((not name or name == result.title) and words in reason for name, words in KNOWN)


def main():
    base_url = sys.argv[1]
    token = os.environ["SCIM_TOKEN"]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    counts = {}
    failed = 0
    for result in results:
        verdict = result.status.name
        if result.status not in PASS:
            verdict = "KNOWN" if known(result) else verdict
            if verdict != "KNOWN" and result.status != Status.DEVIATION:
                failed += 1
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict != "SUCCESS":
            print(f"{verdict} {result.title}: {result.reason or ''}".replace("\n", " ")[:300])
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"SCIM compliance ({len(results)} checks): {summary}")
    if not results:
        print("the checker ran no check", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
