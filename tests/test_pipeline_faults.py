"""Faults injected by the emulator: each is retried or recorded, and the run goes on."""

import time
from datetime import timedelta

import pytest

from pipelines.emulator import AtlasEmulator, FaultRule, RateLimitConfig
from pipelines.run import RunFailed
from tests.pipeline_helpers import PipelineRunner, truth

USERS = [f"CN=app-{index}" for index in range(6)]


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.02")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "20")


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=8, fleet=None) as emulator:
        project = emulator.store.add_project(name="faults")
        for username in USERS:
            emulator.store.add_user(project.id, username)
            emulator.store.create_cert(project.id, username)
        yield emulator


@pytest.fixture
def runner(emulator, tmp_path):
    return PipelineRunner(emulator, tmp_path)


def _project(emulator):
    return emulator.store.projects()[0]


def _user_fetches(runner, status):
    return runner.query(
        "select username, http_status, error_code, reason from atlas_certs.fetches "
        "where scope = 'user' and status = ? order by username",
        [status],
    )


def _assert_complete(runner, emulator, report):
    assert report.status == "succeeded"
    assert set(runner.certificates()) == truth(emulator)
    assert report.counters.users_failed == 0


def test_429_with_retry_after_waits(emulator, runner):
    emulator.faults.add(FaultRule(route="certs", kind="rate_limit", retry_after=1, times=2))
    started = time.monotonic()

    report = runner.run()

    assert time.monotonic() - started >= 1.0
    assert emulator.stats.count(route="certs", status=429) == 2
    _assert_complete(runner, emulator, report)


def test_429_without_headers_backs_off(emulator, runner):
    emulator.faults.add(FaultRule(route="certs", kind="rate_limit", with_headers=False, times=3))
    report = runner.run()
    assert emulator.stats.count(route="certs", status=429) == 3
    _assert_complete(runner, emulator, report)


def test_rate_limit_as_400_is_retried(emulator, runner):
    emulator.faults.add(FaultRule(route="certs", kind="rate_limit_400", times=2))
    report = runner.run()
    assert emulator.stats.count(route="certs", status=400) == 2
    _assert_complete(runner, emulator, report)


def test_token_bucket_paced_without_storm(tmp_path):
    with AtlasEmulator(seed=9, fleet=None) as emulator:
        project = emulator.store.add_project(name="bucket")
        for index in range(40):
            emulator.store.add_user(project.id, f"CN=paced-{index}")
        emulator.rate_limit = RateLimitConfig(capacity=10, refill_rate=20, refill_seconds=1)
        runner = PipelineRunner(emulator, tmp_path)

        report = runner.run(workers=8)
        throttled = emulator.stats.count(status=429)

    assert report.status == "succeeded"
    assert report.counters.users_fetched == 40
    assert throttled <= 8  # at most one wave of workers learns the refill rate


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(route="certs", kind="status", status=500, times=2),
        FaultRule(route="certs", kind="status", status=503, times=2),
        FaultRule(route="certs", kind="status", status=503, html=True, times=2),
        FaultRule(route="certs", kind="reset", times=2),
        FaultRule(route="certs", kind="slow", seconds=2.5, times=1),
        FaultRule(route="certs", kind="truncated_json", times=2),
        FaultRule(route="certs", kind="truncated_json", variant="incomplete", times=2),
        FaultRule(route="certs", kind="invalid_json", times=2),
        FaultRule(route="database_users", kind="status", status=503, times=2),
        FaultRule(route="groups", kind="reset", times=1),
    ],
    ids=lambda rule: f"{rule.route}-{rule.kind}-{rule.status}-{rule.html}-{rule.variant}",
)
def test_transient_fault_is_retried(emulator, runner, rule):
    emulator.faults.add(rule)
    report = runner.run()
    assert rule.fired >= 1
    _assert_complete(runner, emulator, report)


def test_exhausted_retries_fail_one_user(emulator, runner):
    emulator.faults.add(FaultRule(route="certs", kind="status", status=503, username=USERS[0]))

    report = runner.run()

    assert report.status == "partial"
    assert report.counters.users_failed == 1
    assert report.counters.users_fetched == len(USERS) - 1
    ((username, http_status, error_code, reason),) = _user_fetches(runner, "failed")
    assert username == USERS[0]
    assert http_status == 503
    assert error_code == "SERVICE_UNAVAILABLE"
    assert "503" in reason
    assert emulator.stats.count(route="certs", status=503) == 4  # RUNTIME__REQUEST_MAX_ATTEMPTS


def test_timeout_while_paging_never_triggered(emulator, runner):
    project = _project(emulator)
    for _ in range(5):
        emulator.store.create_cert(project.id, USERS[0])
    emulator.faults.add(FaultRule(route="certs", kind="timeout_while_paging", min_page_num=2))

    report = runner.run(items_per_page=2)

    _assert_complete(runner, emulator, report)
    cert_requests = [entry for entry in emulator.stats.entries if entry.route == "certs"]
    assert {entry.query.get("includeCount") for entry in cert_requests} == {"false"}
    assert emulator.stats.count(status=500) == 0


def test_stale_digest_nonce_mid_run(emulator, runner):
    emulator.clock.set(emulator.clock.now())
    emulator.nonce_lifetime_seconds = 60
    emulator.faults.add(FaultRule(route="certs", kind="latency", seconds=0.05))
    original_advance = emulator.clock.advance

    def age_nonce_on_second_user():
        deadline = time.monotonic() + 30
        while emulator.stats.count(route="certs", status=200) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        original_advance(timedelta(minutes=5))

    import threading

    ager = threading.Thread(target=age_nonce_on_second_user)
    ager.start()
    report = runner.run(workers=1)
    ager.join()

    _assert_complete(runner, emulator, report)
    challenges = [entry for entry in emulator.stats.entries if entry.status == 401]
    assert len(challenges) == 2  # the first challenge and one stale nonce


def test_forbidden_project_recorded(emulator, runner):
    allowed = _project(emulator)
    hidden = emulator.store.add_project(name="hidden")
    emulator.store.add_user(hidden.id, "CN=hidden-user")
    emulator.store.create_cert(hidden.id, "CN=hidden-user")
    emulator.add_api_key("limitedkey", "limited-private-key", project_ids=[allowed.id])

    report = runner.run(
        projects=[allowed.id, hidden.id],
        public_key="limitedkey",
        private_key="limited-private-key",
    )

    assert report.status == "partial"
    assert report.counters.projects_failed == 1
    failed = runner.query(
        "select project_id, http_status from atlas_certs.fetches "
        "where scope = 'project' and status = 'failed'"
    )
    assert len(failed) == 1
    assert failed[0][0] == hidden.id
    assert failed[0][1] in (401, 403)
    assert {key[1] for key in runner.certificates()} == set(USERS)


def test_project_deleted_after_discovery(emulator, runner):
    gone = emulator.store.add_project(name="gone")
    emulator.store.add_user(gone.id, "CN=ghost")
    emulator.faults.add(
        FaultRule(route="database_users", kind="status", status=404, project_id=gone.id)
    )

    report = runner.run()

    assert report.status == "partial"
    failed = runner.query(
        "select project_id, http_status from atlas_certs.fetches where status = 'failed'"
    )
    assert failed == [(gone.id, 404)]
    assert {key[1] for key in runner.certificates()} == set(USERS)


def test_user_deleted_after_discovery(emulator, runner):
    emulator.faults.add(FaultRule(route="certs", kind="user_deleted", username=USERS[1]))

    report = runner.run()

    assert report.status == "succeeded"
    assert [row[0] for row in _user_fetches(runner, "not_found")] == [USERS[1]]
    assert USERS[1] not in {key[1] for key in runner.certificates()}


def test_failed_user_keeps_loaded_certificates(emulator, runner):
    runner.run()
    before = runner.certificates()
    emulator.clock.advance(timedelta(days=1))
    emulator.faults.add(FaultRule(route="certs", kind="status", status=500, username=USERS[2]))

    report = runner.run()

    after = runner.certificates()
    assert report.status == "partial"
    assert set(after) == set(before)
    failed_key = next(key for key in before if key[1] == USERS[2])
    assert after[failed_key] == before[failed_key]  # last_seen_at did not move


def test_wrong_credentials_make_no_retry_storm(emulator, runner):
    with pytest.raises(RunFailed, match="rejected the credentials"):
        runner.run(public_key="nobody", private_key="wrong")
    assert emulator.stats.count(status=401) <= 2
    assert len(emulator.stats.entries) <= 2
