"""The real pipeline against the emulator over loopback: completeness, paging and encoding."""

import math
from datetime import timedelta
from urllib.parse import quote

import pytest

from pipelines.emulator import AtlasEmulator, FleetConfig
from tests.pipeline_helpers import PipelineRunner, truth

AWKWARD_USERNAMES = [
    "CN=Dylan Bloggs,OU=Sales,DC=example,DC=com",
    "a/b",
    "q?x=1",
    "h#frag",
    "pct%41",
    "c+d e",
    "zoë@example.com",
    "../etc",
    "%2F",
]


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=3, fleet=None) as emulator:
        yield emulator


@pytest.fixture
def runner(emulator, tmp_path):
    return PipelineRunner(emulator, tmp_path)


def _managed_user(emulator, project, username, certs=1, months=3):
    emulator.store.add_user(project.id, username)
    return [emulator.store.create_cert(project.id, username, months=months) for _ in range(certs)]


def _cert_requests(emulator):
    return [entry for entry in emulator.stats.entries if entry.route == "certs"]


def test_generated_fleet_loads_completely(tmp_path):
    fleet = FleetConfig(orgs=2, projects=4, users_per_project=12, heavy_users=1)
    with AtlasEmulator(seed=11, fleet=fleet) as emulator:
        runner = PipelineRunner(emulator, tmp_path)
        report = runner.run()
        expected = truth(emulator)

    assert report.status == "succeeded"
    assert set(runner.certificates()) == expected
    assert report.counters.certificates_seen == len(expected)
    assert report.counters.certificates_new == len(expected)


def test_user_with_many_pages_loads_every_page(emulator, runner):
    project = emulator.store.add_project(name="heavy")
    certs = _managed_user(emulator, project, "CN=bulk", certs=1_201, months=12)

    runner.run()

    loaded = runner.query("select cert_id from atlas_certs.certificates")
    assert {row[0] for row in loaded} == {cert.id for cert in certs}
    pages = sorted(int(entry.query["pageNum"]) for entry in _cert_requests(emulator))
    assert [p for p in pages if p] == [1, 2, 3]


def test_server_page_cap_still_reads_all(emulator, runner):
    project = emulator.store.add_project(name="capped")
    certs = _managed_user(emulator, project, "capped-user", certs=450)
    emulator.page_size_cap = 200

    runner.run()

    assert len(runner.certificates()) == len(certs)
    assert len(_cert_requests(emulator)) == 3


@pytest.mark.parametrize("mode", ["omit", "wrong"])
def test_total_count_does_not_decide(emulator, runner, mode):
    project = emulator.store.add_project(name="counts")
    certs = _managed_user(emulator, project, "counted", certs=7)
    emulator.total_count_mode = mode

    runner.run(items_per_page=2)

    assert len(runner.certificates()) == len(certs)
    assert len(_cert_requests(emulator)) == math.ceil(len(certs) / 2)


def test_awkward_usernames_arrive_intact(emulator, runner):
    project = emulator.store.add_project(name="encoding")
    expected = {}
    for username in AWKWARD_USERNAMES:
        (cert,) = _managed_user(emulator, project, username)
        expected[username] = cert.id

    runner.run()

    loaded = dict(runner.query("select username, cert_id from atlas_certs.certificates"))
    assert loaded == expected
    raw_paths = {entry.path for entry in _cert_requests(emulator)}
    for username in AWKWARD_USERNAMES:
        segment = quote(username, safe="")
        assert f"/databaseUsers/{segment}/certs" in {
            p[p.index("/databaseUsers") :] for p in raw_paths
        }


def test_only_managed_users_are_queried(emulator, runner):
    project = emulator.store.add_project(name="mixed")
    _managed_user(emulator, project, "managed-one")
    emulator.store.add_user(project.id, "CN=customer", x509_type="CUSTOMER")
    emulator.store.add_user(project.id, "scram-user", auth="SCRAM")
    emulator.store.add_user(
        project.id, "arn:aws:iam::1:role/x", auth="AWS_IAM", aws_iam_type="ROLE"
    )
    emulator.store.add_user(project.id, "ldap-user", auth="LDAP")
    emulator.store.add_user(project.id, "oidc/user", auth="OIDC")

    runner.run()

    queried = {entry.username for entry in _cert_requests(emulator)}
    assert queried == {"managed-one"}


def test_users_mapping_skips_discovery(emulator, runner):
    project = emulator.store.add_project(name="listed")
    _managed_user(emulator, project, "wanted")
    _managed_user(emulator, project, "unwanted")

    runner.run(projects=None, users={project.id: ["wanted"]})

    assert {key[1] for key in runner.certificates()} == {"wanted"}
    assert emulator.stats.count(route="database_users") == 0


def test_cert_ids_near_int64_max_exact(emulator, runner):
    project = emulator.store.add_project(name="ids")
    emulator.store.add_user(project.id, "big")
    largest = 2**63 - 1
    for cert_id in (largest, largest - 1, 2**53 + 1):
        emulator.store.create_cert(project.id, "big", cert_id=cert_id)

    runner.run()

    rows = dict(runner.query("select cert_id, serial_hex from atlas_certs.certificates"))
    assert rows == {
        largest: "7FFFFFFFFFFFFFFF",
        largest - 1: "7FFFFFFFFFFFFFFE",
        2**53 + 1: "20000000000001",
    }
    column_type = runner.query(
        "select data_type from information_schema.columns "
        "where table_schema = 'atlas_certs' and table_name = 'certificates' "
        "and column_name = 'cert_id'"
    )
    assert column_type == [("BIGINT",)]


def test_request_count_is_minimum(tmp_path):
    fleet = FleetConfig(orgs=1, projects=3, users_per_project=10, heavy_users=1)
    with AtlasEmulator(seed=5, fleet=fleet) as emulator:
        runner = PipelineRunner(emulator, tmp_path)
        per_user = {}
        for project_id, username, _ in emulator.store.iter_unexpired_managed_certs():
            per_user[(project_id, username)] = per_user.get((project_id, username), 0) + 1
        managed = [
            (project.id, user.username)
            for project in emulator.store.projects()
            for user in emulator.store.users(project.id)
            if user.is_managed_x509
        ]
        projects = emulator.store.projects()

        runner.run()

        cert_pages = sum(max(1, math.ceil(per_user.get(key, 0) / 500)) for key in managed)
        user_pages = sum(max(1, math.ceil(len(emulator.store.users(p.id)) / 500)) for p in projects)
        floor = 1 + user_pages + cert_pages  # one page of projects
        authenticated = [e for e in emulator.stats.entries if e.status != 401]
        challenges = [e for e in emulator.stats.entries if e.status == 401]

    assert len(authenticated) == floor
    assert len(challenges) == 1


def test_three_runs_keep_history_without_duplicates(emulator, runner):
    project = emulator.store.add_project(name="history")
    emulator.store.add_user(project.id, "rotating")
    short = emulator.store.create_cert(project.id, "rotating", months=1)
    long = emulator.store.create_cert(project.id, "rotating", months=6)

    runner.run()
    first = runner.certificates()

    emulator.clock.advance(timedelta(days=20))
    newer = emulator.store.create_cert(project.id, "rotating", months=3)
    runner.run()

    emulator.clock.advance(timedelta(days=15))  # the one-month certificate has expired now
    runner.run()
    final = runner.certificates()

    key = (project.id, "rotating")
    assert set(final) == {(*key, short.id), (*key, long.id), (*key, newer.id)}
    count, distinct = runner.query(
        "select count(*), count(distinct (project_id, username, cert_id)) "
        "from atlas_certs.certificates"
    )[0]
    assert count == distinct == 3
    for cert in (short, long):
        assert final[(*key, cert.id)][1] == first[(*key, cert.id)][1]  # first_seen_at
    assert final[(*key, short.id)][2] < final[(*key, long.id)][2]  # expired: last_seen_at frozen
    assert final[(*key, long.id)][2] == emulator.clock.now()  # the frozen clock of run 3


def test_project_filter_leaves_others_untouched(emulator, runner):
    first = emulator.store.add_project(name="first")
    second = emulator.store.add_project(name="second")
    _managed_user(emulator, first, "one")
    _managed_user(emulator, second, "two")
    runner.run()
    before = runner.query(
        "select * exclude (_dlt_load_id) from atlas_certs.certificates where project_id = ?",
        [second.id],
    )
    fetches_before = runner.query(
        "select count(*) from atlas_certs.fetches where project_id = ?", [second.id]
    )

    emulator.clock.advance(timedelta(days=1))
    emulator.store.create_cert(second.id, "two")
    emulator.store.create_cert(first.id, "one")
    report = runner.run(project_filter=(first.id,))

    after = runner.query(
        "select * exclude (_dlt_load_id) from atlas_certs.certificates where project_id = ?",
        [second.id],
    )
    fetches_after = runner.query(
        "select count(*) from atlas_certs.fetches where project_id = ?", [second.id]
    )
    assert report.project_filter == (first.id,)
    assert after == before
    assert fetches_after == fetches_before
    assert (
        len(runner.query("select 1 from atlas_certs.certificates where project_id = ?", [first.id]))
        == 2
    )
