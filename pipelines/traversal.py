"""The concurrent walk over projects, database users and certificates of one run."""

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
from requests import RequestException

from pipelines.arrow_batches import ArrowBatches
from pipelines.atlas.auth import TokenRequestFailed
from pipelines.atlas.client import AtlasClient, UnaddressableUsername
from pipelines.atlas.errors import AtlasHTTPError, short_reason
from pipelines.config import AtlasCertsConfig
from pipelines.known_state import KnownState
from pipelines.records import InvalidRecord, certificate_row
from pipelines.settings import (
    CERTIFICATES_TABLE,
    FETCHES_TABLE,
    MANAGED_X509_TYPE,
    PROJECTS_TABLE,
    RUNS_TABLE,
)

logger = logging.getLogger(__name__)


class RunAborted(Exception):
    """The credentials were rejected, so no further request can succeed."""


@dataclass
class Failure:
    reason: str
    http_status: int | None = None
    error_code: str | None = None

    @classmethod
    def from_error(cls, error: Exception) -> "Failure":
        return cls(
            reason=short_reason(error),
            http_status=getattr(error, "status_code", None),
            error_code=getattr(error, "error_code", None),
        )


@dataclass
class ProjectResult:
    project_id: str
    fetched_at: datetime
    name: str | None = None
    org_id: str | None = None
    usernames: list[str] = field(default_factory=list)
    discovered: bool = False
    failure: Failure | None = None


@dataclass
class UserResult:
    project_id: str
    username: str
    fetched_at: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    not_found: bool = False
    failure: Failure | None = None


@dataclass
class RunCounters:
    projects_fetched: int = 0
    projects_failed: int = 0
    users_fetched: int = 0
    users_failed: int = 0
    certificates_seen: int = 0
    certificates_new: int = 0
    failures: list[str] = field(default_factory=list)


# Fetches waiting to be submitted, and the submitted ones not yet consumed.
Schedule = tuple[deque[Callable[[], Any]], set[Future[Any]]]


class Traversal:
    """Walks every configured project and user and yields the rows of one run.

    Projects and users are fetched by a bounded thread pool (`workers` threads); rows are
    yielded from the caller's thread, so counters need no lock. `start()` may begin the
    walk before `rows()` is called; the known state is read only while yielding rows.
    """

    def __init__(
        self,
        client: AtlasClient,
        config: AtlasCertsConfig,
        run_id: str,
        clock: Callable[[], datetime],
        project_filter: tuple[str, ...] = (),
        finish: Callable[[RunCounters], dict[str, Any]] | None = None,
        known: KnownState | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.known = known or KnownState()
        self.run_id = run_id
        self.clock = clock
        self.project_filter = project_filter
        self.counters = RunCounters()
        self.finish = finish
        self.batches = ArrowBatches()
        self._pool: ThreadPoolExecutor | None = None
        self._first_fetches: Future[Schedule] | None = None

    def start(self) -> None:
        """Discover the projects and submit the first fetches in the background."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="atlas")
            self._first_fetches = self._pool.submit(self._submit_first_fetches)

    def close(self) -> None:
        """Cancel the fetches that have not started and wait for the running ones."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def rows(self) -> Iterator[Any]:
        """Yield certificate rows, and fetch-log and project rows marked for their tables."""
        # Create all three tables even in a run that finds no rows, so the views always work.
        for table in (CERTIFICATES_TABLE, FETCHES_TABLE, PROJECTS_TABLE):
            yield dlt.mark.with_table_name(dlt.mark.materialize_table_schema(), table)

        self.start()
        assert self._pool is not None and self._first_fetches is not None
        try:
            queue, pending = self._first_fetches.result()
            while queue or pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    if isinstance(result, ProjectResult):
                        yield from self._project_rows(result, queue)
                    else:
                        yield from self._user_rows(result)
                self._submit(queue, pending)
        finally:
            self.close()
        yield from self.batches.flush()
        if self.finish is not None:
            # The run's own row is extracted last, into the same load package as its data.
            yield dlt.mark.with_table_name(self.finish(self.counters), RUNS_TABLE)

    def _submit_first_fetches(self) -> Schedule:
        projects = self._plan_projects()
        queue: deque[Callable[[], Any]] = deque(
            (lambda p=p: self._fetch_project(*p)) for p in projects
        )
        pending: set[Future[Any]] = set()
        self._submit(queue, pending)
        return queue, pending

    def _submit(self, queue: deque[Callable[[], Any]], pending: set[Future[Any]]) -> None:
        # Keep the pool busy without queueing every user at once.
        assert self._pool is not None
        while queue and len(pending) < self.config.workers * 2:
            pending.add(self._pool.submit(queue.popleft()))

    def _plan_projects(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Return (project id, project document if already listed) for every project to walk."""
        if self.project_filter:
            return [(project_id, None) for project_id in self.project_filter]

        planned: dict[str, dict[str, Any] | None] = {}
        if self.config.projects == "*":
            for page in self._guarded(self.client.list_projects):
                planned.update((doc["id"], doc) for doc in page if isinstance(doc, dict))
        elif self.config.projects:
            planned.update((project_id, None) for project_id in self.config.projects)
        for org_id in self.config.org_ids:
            for page in self._guarded(lambda o=org_id: self.client.list_org_projects(o)):
                planned.update((doc["id"], doc) for doc in page if isinstance(doc, dict))
        for project_id in self.config.users:
            planned.setdefault(project_id, None)
        return list(planned.items())

    def _guarded(self, pages: Callable[[], Iterator[list[dict[str, Any]]]]) -> Iterator[list[Any]]:
        """Iterate discovery pages; without the project list the run cannot go on."""
        try:
            yield from pages()
        except (AtlasHTTPError, RequestException, TokenRequestFailed) as error:
            _abort_on_rejected_credentials(error)
            raise RunAborted(f"project discovery failed: {short_reason(error)}") from None

    def _fetch_project(self, project_id: str, listed: dict[str, Any] | None) -> ProjectResult:
        result = ProjectResult(project_id=project_id, fetched_at=self.clock())
        try:
            document = listed or self.client.get_project(project_id)
            result.name = document.get("name")
            result.org_id = document.get("orgId")
            configured = self.config.users.get(project_id)
            if configured is not None:
                result.usernames = list(configured)
            else:
                result.discovered = True
                result.usernames = self._managed_usernames(project_id)
        except (AtlasHTTPError, RequestException) as error:
            _abort_on_rejected_credentials(error)
            result.failure = Failure.from_error(error)
            logger.warning("project %s failed: %s", project_id, result.failure.reason)
        except TokenRequestFailed as error:
            raise RunAborted(str(error)) from None
        return result

    def _managed_usernames(self, project_id: str) -> list[str]:
        usernames: list[str] = []
        for page in self.client.list_database_users(project_id):
            for user in page:
                if isinstance(user, dict) and user.get("x509Type") == MANAGED_X509_TYPE:
                    usernames.append(str(user["username"]))
        return list(dict.fromkeys(usernames))

    def _fetch_user(self, project_id: str, username: str) -> UserResult:
        result = UserResult(project_id=project_id, username=username, fetched_at=self.clock())
        seen: set[int] = set()
        try:
            for page in self.client.list_certificates(project_id, username):
                result.pages += 1
                for item in page:
                    row = certificate_row(
                        item, project_id, username, result.fetched_at, self.run_id
                    )
                    if row["cert_id"] not in seen:
                        seen.add(row["cert_id"])
                        result.rows.append(row)
        except AtlasHTTPError as error:
            _abort_on_rejected_credentials(error)
            if error.status_code == 404:
                result.not_found = True
            else:
                result.failure = Failure.from_error(error)
        except (RequestException, InvalidRecord, UnaddressableUsername) as error:
            result.failure = Failure.from_error(error)
        except TokenRequestFailed as error:
            raise RunAborted(str(error)) from None
        if result.failure is not None or result.not_found:
            result.rows = []
        if result.failure is not None:
            logger.warning(
                "user %r in project %s failed: %s", username, project_id, result.failure.reason
            )
        return result

    def _record_fetch(self, row: dict[str, Any]) -> Iterator[Any]:
        """Add one `fetches` row, and yield a table when its batch is full."""
        yield from self.batches.add(FETCHES_TABLE, [row])

    def _project_rows(
        self, result: ProjectResult, queue: deque[Callable[[], Any]]
    ) -> Iterator[Any]:
        status = "ok" if result.usernames else "empty"
        if result.failure is not None:
            status = "failed"
        yield from self._record_fetch(
            _fetch_row(
                self.run_id,
                "project",
                result.project_id,
                None,
                status,
                result.fetched_at,
                failure=result.failure,
                certificate_count=None,
                pages=None,
            )
        )
        known = self.known.known_users(result.project_id)

        if result.failure is not None:
            self.counters.projects_failed += 1
            self.counters.failures.append(f"project {result.project_id}: {result.failure.reason}")
            # Users of a failed project keep their last known state, so their rows are "skipped".
            for username in sorted(known):
                yield from self._record_fetch(
                    _fetch_row(
                        self.run_id,
                        "user",
                        result.project_id,
                        username,
                        "skipped",
                        result.fetched_at,
                        failure=result.failure,
                    )
                )
            return

        self.counters.projects_fetched += 1
        yield dlt.mark.with_table_name(
            {
                "project_id": result.project_id,
                "name": result.name,
                "org_id": result.org_id,
                "last_seen_at": result.fetched_at,
            },
            PROJECTS_TABLE,
        )
        if result.discovered:
            # A user that earlier runs fetched and Atlas no longer lists as MANAGED was deleted
            # or changed: its certificates are gone, as after a 404.
            for username in sorted(known - set(result.usernames)):
                yield from self._record_fetch(
                    _fetch_row(
                        self.run_id,
                        "user",
                        result.project_id,
                        username,
                        "not_found",
                        result.fetched_at,
                        certificate_count=0,
                        pages=0,
                    )
                )
        for username in result.usernames:
            queue.append(lambda p=result.project_id, u=username: self._fetch_user(p, u))

    def _user_rows(self, result: UserResult) -> Iterator[Any]:
        if result.failure is not None:
            status = "failed"
            self.counters.users_failed += 1
            self.counters.failures.append(
                f"user {result.username!r} in project {result.project_id}: {result.failure.reason}"
            )
        else:
            status = "ok" if result.rows else "empty"
            if result.not_found:
                status = "not_found"
            self.counters.users_fetched += 1

        for row in result.rows:
            key = (result.project_id, result.username, row["cert_id"])
            first_seen = self.known.first_seen_at(*key)
            if first_seen is None:
                self.counters.certificates_new += 1
            else:
                row["first_seen_at"] = first_seen
        yield from self.batches.add(CERTIFICATES_TABLE, result.rows)
        self.counters.certificates_seen += len(result.rows)
        yield from self._record_fetch(
            _fetch_row(
                self.run_id,
                "user",
                result.project_id,
                result.username,
                status,
                result.fetched_at,
                failure=result.failure,
                certificate_count=len(result.rows),
                pages=result.pages,
            )
        )


# Atlas returns 401 with this code when valid credentials lack access to one resource. Any
# other 401 means the credentials themselves were rejected.
NOT_AUTHORIZED_FOR_RESOURCE = "USER_UNAUTHORIZED"


def _abort_on_rejected_credentials(error: Exception) -> None:
    if (
        isinstance(error, AtlasHTTPError)
        and error.status_code == 401
        and error.error_code != NOT_AUTHORIZED_FOR_RESOURCE
    ):
        raise RunAborted(
            f"Atlas rejected the credentials ({short_reason(error)}); check "
            "sources.atlas_certs.credentials and the key's access list"
        ) from None


def _fetch_row(
    run_id: str,
    scope: str,
    project_id: str,
    username: str | None,
    status: str,
    fetched_at: datetime,
    *,
    failure: Failure | None = None,
    certificate_count: int | None = None,
    pages: int | None = None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "scope": scope,
        "project_id": project_id,
        "username": username,
        "status": status,
        "http_status": failure.http_status if failure else None,
        "error_code": failure.error_code if failure else None,
        "reason": failure.reason if failure else None,
        "certificate_count": certificate_count,
        "pages": pages,
        "fetched_at": fetched_at,
    }
