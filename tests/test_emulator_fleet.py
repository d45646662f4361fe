"""Fleet generation and the in-process store API."""

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.emulator import AtlasEmulator, FleetConfig
from pipelines.emulator.fleet import AWKWARD_MANAGED_USERNAMES
from pipelines.emulator.models import add_months

START = datetime(2026, 6, 2, 13, 56, 22, tzinfo=UTC)
OBJECT_ID = re.compile(r"^[a-f0-9]{24}$")


def snapshot(emulator: AtlasEmulator) -> list:
    store = emulator.store
    return [
        (
            project.id,
            project.name,
            project.org_id,
            [
                (
                    user.username,
                    user.database_name,
                    user.x509_type,
                    [
                        (c.id, c.created_at, c.not_after)
                        for c in store.certs(project.id, user.username, include_expired=True)
                    ],
                )
                for user in store.users(project.id)
            ],
        )
        for project in store.projects()
    ]


def test_same_seed_same_fleet():
    first = AtlasEmulator(seed=11, fleet=FleetConfig.demo(), start_time=START)
    second = AtlasEmulator(seed=11, fleet=FleetConfig.demo(), start_time=START)

    assert snapshot(first) == snapshot(second)
    assert first.demo_api_key == second.demo_api_key
    assert first.demo_service_account == second.demo_service_account


def test_other_seed_other_fleet():
    first = AtlasEmulator(seed=11, fleet=FleetConfig.demo(), start_time=START)
    second = AtlasEmulator(seed=12, fleet=FleetConfig.demo(), start_time=START)

    assert snapshot(first) != snapshot(second)


def test_demo_fleet_shape():
    emulator = AtlasEmulator(seed=7, fleet=FleetConfig.demo(), start_time=START)
    store = emulator.store
    projects = store.projects()
    users = [user for project in projects for user in store.users(project.id)]
    unexpired = Counter((p, u) for p, u, _ in emulator.fleet_truth())

    assert len(store.orgs()) == 3
    assert len(projects) == 12
    assert 120 <= len(users) <= 180
    assert max(unexpired.values()) >= 1200
    assert all(OBJECT_ID.match(p.id) and OBJECT_ID.match(p.org_id) for p in projects)
    assert all(OBJECT_ID.match(org.id) for org in store.orgs())
    names = {user.username for user in users}
    assert set(AWKWARD_MANAGED_USERNAMES) <= names
    assert {user.auth_kind for user in users} == {"X509", "SCRAM", "AWS_IAM", "LDAP", "OIDC"}


def test_external_and_admin_databases():
    emulator = AtlasEmulator(seed=7, fleet=FleetConfig.demo(), start_time=START)

    for project in emulator.store.projects():
        for user in emulator.store.users(project.id):
            if user.auth_kind in ("X509", "AWS_IAM", "LDAP"):
                assert user.database_name == "$external"
            elif user.auth_kind == "SCRAM" or user.oidc_auth_type == "IDP_GROUP":
                assert user.database_name == "admin"
            else:
                assert user.database_name == "$external"


def test_cert_ids_unique_and_int64():
    emulator = AtlasEmulator(seed=7, fleet=FleetConfig.demo(), start_time=START)
    store = emulator.store
    ids = [
        cert.id
        for project in store.projects()
        for user in store.users(project.id)
        for cert in store.certs(project.id, user.username, include_expired=True)
    ]

    assert len(ids) == len(set(ids))
    assert all(2**60 <= cert_id < 2**63 for cert_id in ids)


def test_expiry_dates_spread():
    emulator = AtlasEmulator(seed=7, fleet=FleetConfig.demo(), start_time=START)
    store = emulator.store
    remaining = [
        cert.not_after - START
        for project in store.projects()
        for user in store.users(project.id)
        for cert in store.certs(project.id, user.username, include_expired=True)
    ]

    assert any(delta <= timedelta(0) for delta in remaining)
    assert any(timedelta(0) < delta <= timedelta(days=6) for delta in remaining)
    assert any(timedelta(days=7) <= delta <= timedelta(days=28) for delta in remaining)
    assert any(delta > timedelta(days=60) for delta in remaining)
    assert all(cert.created_at <= START for _, _, cert in emulator.fleet_truth())


def test_certs_follow_month_rule():
    emulator = AtlasEmulator(seed=7, fleet=FleetConfig.demo(), start_time=START)

    for _, _, cert in list(emulator.fleet_truth())[:500]:
        months = {
            m
            for m in (1, 3, 6, 12, 24)
            if cert.not_after == _add(cert.created_at, m) + timedelta(hours=1)
        }
        assert months, cert


def _add(moment: datetime, months: int) -> datetime:
    return add_months(moment, months)


def test_benchmark_fleet_is_fast_and_heavy():
    started = time.perf_counter()
    emulator = AtlasEmulator(seed=1, fleet=FleetConfig.benchmark(), start_time=START)
    elapsed = time.perf_counter() - started
    store = emulator.store
    users = [user for project in store.projects() for user in store.users(project.id)]
    unexpired = Counter((p, u) for p, u, _ in emulator.fleet_truth())

    # A regression guard, not a benchmark: docs/emulator.md gives the measured time.
    assert elapsed < 8.0
    assert len(store.projects()) == 200
    assert len(users) == 5000
    assert sum(user.is_managed_x509 for user in users) > 0.7 * len(users)
    assert sum(count > 1000 for count in unexpired.values()) >= 10
    assert max(unexpired.values()) > 3 * 500


def test_empty_fleet():
    assert AtlasEmulator(seed=1, fleet=None).store.projects() == []
    assert AtlasEmulator(seed=1, fleet=FleetConfig(projects=0)).store.projects() == []


def test_fleet_config_rejects_invalid_sizes():
    with pytest.raises(ValueError):
        FleetConfig(projects=3, orgs=0)
    with pytest.raises(ValueError):
        FleetConfig(managed_fraction=1.5)


def test_store_add_delete_and_truth():
    emulator = AtlasEmulator(seed=1, start_time=START)
    store = emulator.store
    org = store.add_org(name="Org A")
    project = store.add_project(org_id=org.id, name="proj-a")
    store.add_user(project.id, "alice")
    store.add_user(project.id, "svc", auth="SCRAM")
    old = store.create_cert(project.id, "alice", months=1, created_at=START - timedelta(days=90))
    new = store.create_cert(project.id, "alice", months=3)

    truth = list(emulator.fleet_truth())
    assert [(p, u, c.id) for p, u, c in truth] == [(project.id, "alice", new.id)]
    assert store.certs(project.id, "alice", include_expired=True) == [old, new]
    assert new.subject == "CN=alice"
    assert new.group_id == project.id
    assert new.created_at == START

    store.delete_user(project.id, "alice")
    assert store.certs(project.id, "alice", include_expired=True) == []
    store.delete_project(project.id)
    assert store.projects() == []


def test_store_rejects_invalid_users_and_certs():
    emulator = AtlasEmulator(seed=1, start_time=START)
    store = emulator.store
    project = store.add_project(name="p")
    store.add_user(project.id, "customer", x509_type="CUSTOMER")

    with pytest.raises(ValueError):
        store.create_cert(project.id, "customer")
    with pytest.raises(KeyError):
        store.create_cert(project.id, "missing")
    with pytest.raises(ValueError):
        store.add_user(project.id, "x" * 65)
    with pytest.raises(ValueError):
        store.add_user(project.id, "customer", x509_type="CUSTOMER")
    with pytest.raises(ValueError):
        store.add_user(project.id, "weird", auth="KERBEROS")
    with pytest.raises(KeyError):
        store.add_user("f" * 24, "nobody")


def test_subject_escapes_dn_characters():
    emulator = AtlasEmulator(seed=1, start_time=START)
    project = emulator.store.add_project(name="p")
    emulator.store.add_user(project.id, "CN=Dylan Bloggs,OU=Sales")

    cert = emulator.store.create_cert(project.id, "CN=Dylan Bloggs,OU=Sales")

    # RFC 4514 escapes the comma; an "=" inside a value needs no escape.
    assert cert.subject == "CN=CN=Dylan Bloggs\\,OU=Sales"
