"""The one-screen summary that `atlas-certs run` prints."""

from pipelines.run import RunReport

# Failures listed one per line; the rest are counted, and all are in the `fetches` table.
MAX_LISTED_FAILURES = 10


def format_summary(report: RunReport) -> str:
    counters = report.counters
    lines = [
        f"Run {report.run_id} {report.status} in {report.duration_seconds:.1f} s",
        f"  database      {report.database}",
        f"  projects      {counters.projects_fetched} fetched, {counters.projects_failed} failed",
        f"  users         {counters.users_fetched} fetched, {counters.users_failed} failed",
        f"  certificates  {counters.certificates_seen} seen, {counters.certificates_new} new",
        f"  requests      {report.requests}",
    ]
    if counters.failures:
        lines.append(f"  errors        {len(counters.failures)}")
        for failure in counters.failures[:MAX_LISTED_FAILURES]:
            lines.append(f"    - {failure}")
        hidden = len(counters.failures) - MAX_LISTED_FAILURES
        if hidden > 0:
            lines.append(f"    … and {hidden} more in the fetches table")
    return "\n".join(lines)
