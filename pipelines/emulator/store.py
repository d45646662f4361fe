"""Thread-safe in-memory store of organizations, projects, database users and certificates."""

import random
import threading
from collections.abc import Iterator
from datetime import datetime

from .certs import MAX_COMMON_NAME_LENGTH, managed_subject
from .clock import EmulatorClock
from .models import (
    AWS_IAM_TYPES,
    DATABASE_NAMES,
    LDAP_AUTH_TYPES,
    OIDC_AUTH_TYPES,
    X509_TYPES,
    Cert,
    DatabaseUser,
    Org,
    Project,
    cert_not_after_epoch,
)

# Certificate serials are positive int64 values of about 2**60, like the ones Atlas returns.
MIN_CERT_ID = 2**60
MAX_CERT_ID = 2**63 - 1

AUTH_KINDS = ("X509", "SCRAM", "AWS_IAM", "LDAP", "OIDC")


class Store:
    """All emulated Atlas data. Every public method takes the store lock, so handlers running in
    server threads and tests changing data between requests see consistent state."""

    def __init__(self, clock: EmulatorClock, seed: int = 0) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(f"store-{seed}")
        self._orgs: dict[str, Org] = {}
        self._projects: dict[str, Project] = {}
        self._users: dict[str, dict[tuple[str, str], DatabaseUser]] = {}
        self._certs: dict[tuple[str, str], list[Cert]] = {}
        self._cert_ids: set[int] = set()
        self._object_id_counter = self._rng.getrandbits(24)

    # -- identifiers ----------------------------------------------------------------------------

    def new_object_id(self, created: datetime | None = None) -> str:
        """Make a 24-hex id shaped like a MongoDB ObjectId: creation seconds, then random bytes."""
        with self._lock:
            moment = created or self.clock.now()
            self._object_id_counter = (self._object_id_counter + 1) % 2**24
            return (
                f"{int(moment.timestamp()) & 0xFFFFFFFF:08x}"
                f"{self._rng.getrandbits(40):010x}{self._object_id_counter:06x}"
            )

    def new_cert_id(self) -> int:
        with self._lock:
            while True:
                candidate = self._rng.getrandbits(63)
                if candidate >= MIN_CERT_ID and candidate not in self._cert_ids:
                    self._cert_ids.add(candidate)
                    return candidate

    # -- organizations and projects -------------------------------------------------------------

    def add_org(self, name: str, org_id: str | None = None, created: datetime | None = None) -> Org:
        with self._lock:
            created = created or self.clock.now()
            org = Org(id=org_id or self.new_object_id(created), name=name, created=created)
            self._orgs[org.id] = org
            return org

    def orgs(self) -> list[Org]:
        with self._lock:
            return list(self._orgs.values())

    def get_org(self, org_id: str) -> Org | None:
        with self._lock:
            return self._orgs.get(org_id)

    def add_project(
        self,
        org_id: str | None = None,
        name: str = "Project 0",
        project_id: str | None = None,
        created: datetime | None = None,
        cluster_count: int = 0,
        tags: list[dict[str, str]] | None = None,
    ) -> Project:
        """Add a project; without ``org_id`` it joins the first organization (made if none)."""
        with self._lock:
            if org_id is None:
                org_id = next(iter(self._orgs)) if self._orgs else self.add_org("Organization 0").id
            elif org_id not in self._orgs:
                raise KeyError(f"organization {org_id} not found; add it with add_org() first")
            created = created or self.clock.now()
            project = Project(
                id=project_id or self.new_object_id(created),
                name=name,
                org_id=org_id,
                created=created,
                cluster_count=cluster_count,
                tags=list(tags or []),
            )
            self._projects[project.id] = project
            self._users[project.id] = {}
            return project

    def projects(self) -> list[Project]:
        with self._lock:
            return list(self._projects.values())

    def get_project(self, project_id: str) -> Project | None:
        with self._lock:
            return self._projects.get(project_id)

    def delete_project(self, project_id: str) -> None:
        with self._lock:
            self._require_project(project_id)
            del self._projects[project_id]
            del self._users[project_id]
            for key in [key for key in self._certs if key[0] == project_id]:
                del self._certs[key]

    # -- database users -------------------------------------------------------------------------

    def add_user(
        self,
        project_id: str,
        username: str,
        x509_type: str = "MANAGED",
        auth: str = "X509",
        database_name: str | None = None,
        *,
        aws_iam_type: str = "USER",
        ldap_auth_type: str = "USER",
        oidc_auth_type: str = "USER",
        roles: list[dict[str, str]] | None = None,
        scopes: list[dict[str, str]] | None = None,
        labels: list[dict[str, str]] | None = None,
        description: str | None = None,
    ) -> DatabaseUser:
        """Add a database user.

        ``auth`` picks the authentication method (X509, SCRAM, AWS_IAM, LDAP or OIDC). The
        matching type argument (``x509_type``, ``aws_iam_type``, ...) sets its variant, and the
        others stay NONE. ``database_name`` defaults to ``admin`` for SCRAM and OIDC IDP_GROUP
        (workforce) users and to ``$external`` for everyone else, as the spec describes.
        Raises ValueError for an invalid combination and KeyError for an unknown project.
        """
        if auth not in AUTH_KINDS:
            raise ValueError(f"auth must be one of {AUTH_KINDS}, got {auth!r}")
        user = DatabaseUser(project_id=project_id, username=username, database_name="admin")
        if auth == "X509":
            _check_enum("x509_type", x509_type, X509_TYPES[1:])
            user.x509_type = x509_type
            if x509_type == "MANAGED" and len(username) > MAX_COMMON_NAME_LENGTH:
                raise ValueError(
                    f"managed X.509 username {username!r} is longer than "
                    f"{MAX_COMMON_NAME_LENGTH} characters and cannot be a certificate CN"
                )
        elif auth == "AWS_IAM":
            _check_enum("aws_iam_type", aws_iam_type, AWS_IAM_TYPES[1:])
            user.aws_iam_type = aws_iam_type
        elif auth == "LDAP":
            _check_enum("ldap_auth_type", ldap_auth_type, LDAP_AUTH_TYPES[1:])
            user.ldap_auth_type = ldap_auth_type
        elif auth == "OIDC":
            _check_enum("oidc_auth_type", oidc_auth_type, OIDC_AUTH_TYPES[1:])
            user.oidc_auth_type = oidc_auth_type
        if database_name is None:
            uses_admin = auth == "SCRAM" or user.oidc_auth_type == "IDP_GROUP"
            database_name = "admin" if uses_admin else "$external"
        _check_enum("database_name", database_name, DATABASE_NAMES)
        user.database_name = database_name
        user.roles = list(roles or [{"databaseName": "admin", "roleName": "readAnyDatabase"}])
        user.scopes = list(scopes or [])
        user.labels = list(labels or [])
        user.description = description
        with self._lock:
            users = self._require_project(project_id)
            key = (database_name, username)
            if key in users:
                raise ValueError(f"user {database_name}/{username} already exists in {project_id}")
            users[key] = user
            return user

    def users(self, project_id: str) -> list[DatabaseUser]:
        with self._lock:
            return list(self._require_project(project_id).values())

    def get_user(self, project_id: str, database_name: str, username: str) -> DatabaseUser | None:
        with self._lock:
            return self._users.get(project_id, {}).get((database_name, username))

    def find_user(self, project_id: str, username: str) -> DatabaseUser | None:
        """Find a user by name alone, as the certs path does; ``$external`` is searched first."""
        with self._lock:
            users = self._users.get(project_id, {})
            return users.get(("$external", username)) or users.get(("admin", username))

    def delete_user(self, project_id: str, username: str, database_name: str | None = None) -> None:
        """Delete a user and its certificates; raises KeyError when no such user exists."""
        with self._lock:
            users = self._require_project(project_id)
            names = [database_name] if database_name else list(DATABASE_NAMES)
            removed = [users.pop((name, username), None) for name in names]
            if not any(removed):
                raise KeyError(f"no user {username!r} in project {project_id}")
            self._certs.pop((project_id, username), None)

    # -- certificates ---------------------------------------------------------------------------

    def create_cert(
        self,
        project_id: str,
        username: str,
        months: int = 3,
        created_at: datetime | None = None,
        cert_id: int | None = None,
    ) -> Cert:
        """Record a managed certificate for a MANAGED X.509 user.

        ``created_at`` defaults to the clock's now; it is truncated to whole seconds, as Atlas
        reports it. notAfter is createdAt plus ``months`` calendar months plus one hour.
        """
        if not 1 <= months <= 24:
            raise ValueError(f"months must be between 1 and 24, got {months}")
        with self._lock:
            user = self.find_user(project_id, username)
            if user is None:
                raise KeyError(f"no user {username!r} in project {project_id}")
            if not user.is_managed_x509:
                raise ValueError(f"user {username!r} is not a MANAGED X.509 user")
            created_epoch = int((created_at or self.clock.now()).timestamp())
            if cert_id is None:
                cert_id = self.new_cert_id()
            elif cert_id in self._cert_ids:
                raise ValueError(f"certificate id {cert_id} is already used")
            else:
                self._cert_ids.add(cert_id)
            cert = Cert(
                id=cert_id,
                group_id=project_id,
                username=username,
                subject=managed_subject(username),
                created_epoch=created_epoch,
                not_after_epoch=cert_not_after_epoch(created_epoch, months),
            )
            self._certs.setdefault((project_id, username), []).append(cert)
            return cert

    def add_certs(self, project_id: str, username: str, plans: list[tuple[int, int]]) -> list[Cert]:
        """Record several certificates, each given as (createdAt in UTC epoch seconds,
        months); the fleet generator's fast path. Same rules as create_cert."""
        with self._lock:
            user = self.find_user(project_id, username)
            if user is None:
                raise KeyError(f"no user {username!r} in project {project_id}")
            if not user.is_managed_x509:
                raise ValueError(f"user {username!r} is not a MANAGED X.509 user")
            subject = managed_subject(username)
            bucket = self._certs.setdefault((project_id, username), [])
            added = []
            for created_epoch, months in plans:
                if not 1 <= months <= 24:
                    raise ValueError(f"months must be between 1 and 24, got {months}")
                cert = Cert(
                    id=self.new_cert_id(),
                    group_id=project_id,
                    username=username,
                    subject=subject,
                    created_epoch=created_epoch,
                    not_after_epoch=cert_not_after_epoch(created_epoch, months),
                )
                bucket.append(cert)
                added.append(cert)
            return added

    def certs(self, project_id: str, username: str, include_expired: bool = False) -> list[Cert]:
        """Certificates of a user in creation order; expired ones only on request."""
        with self._lock:
            certs = list(self._certs.get((project_id, username), ()))
        if include_expired:
            return certs
        now = self.clock.now().timestamp()
        return [cert for cert in certs if cert.not_after_epoch > now]

    def delete_cert(self, project_id: str, username: str, cert_id: int) -> None:
        """Remove one certificate (Atlas itself cannot revoke; this is for test setups)."""
        with self._lock:
            certs = self._certs.get((project_id, username), [])
            remaining = [cert for cert in certs if cert.id != cert_id]
            if len(remaining) == len(certs):
                raise KeyError(f"no certificate {cert_id} for {username!r} in {project_id}")
            self._certs[(project_id, username)] = remaining

    def iter_unexpired_managed_certs(self) -> Iterator[tuple[str, str, Cert]]:
        with self._lock:
            snapshot = [
                (project_id, user.username)
                for project_id, users in self._users.items()
                for user in users.values()
                if user.is_managed_x509
            ]
        for project_id, username in snapshot:
            for cert in self.certs(project_id, username):
                yield project_id, username, cert

    def _require_project(self, project_id: str) -> dict[tuple[str, str], DatabaseUser]:
        users = self._users.get(project_id)
        if users is None:
            raise KeyError(f"project {project_id} not found")
        return users


def _check_enum(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
