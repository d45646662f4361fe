"""Seeded generator of realistic Atlas fleets: organizations, projects, database users of every
authentication method and a heavy tail of managed certificates.

The same seed and configuration give the same organizations, projects, users, certificate ids
and certificate ages. Dates are laid out relative to the emulator clock's time when the fleet is
generated (whole seconds), so a frozen clock makes them repeatable too.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import add_months_epoch
from .store import Store

# Usernames that stress path encoding: spaces, DN punctuation, reserved URL characters,
# percent signs, dot segments and non-ASCII text. Each names a MANAGED user in the first
# project (and in later projects while names last), so requests to the certs path use all of
# them.
AWKWARD_MANAGED_USERNAMES = (
    "dylan bloggs",
    "CN=Dylan Bloggs,OU=Sales",
    "ops+alerts@example.com",
    "team/alpha",
    "what?now",
    "hash#tag",
    "100%pure",
    "../admin",  # a bare ".." cannot be a path segment: RFC 3986 removes it
    "a=b;c",
    "zoë.müller",
    "名前",
    "trailing.dot.",
)
CUSTOMER_DNS = (
    "CN=Dylan Bloggs,OU=Enterprise,OU=Sales,DC=Example,DC=COM",
    "CN=svc-reporting,OU=Service Accounts,DC=corp,DC=example,DC=com",
    "CN=Jane Q. Public+UID=jqp,OU=Ops,DC=example,DC=org",
)
FIRST_NAMES = (
    "ada",
    "alan",
    "barbara",
    "claude",
    "donald",
    "edsger",
    "frances",
    "grace",
    "hedy",
    "ivan",
    "john",
    "ken",
    "leslie",
    "margaret",
    "niklaus",
    "radia",
    "shafi",
    "tim",
)
SERVICES = ("billing", "search", "ingest", "reports", "etl", "checkout", "auth", "metrics")
PROJECT_WORDS = ("prod", "staging", "dev", "analytics", "payments", "mobile", "web", "ml")
MONTH_CHOICES = (1, 3, 3, 3, 6, 12, 24)
HOUR = 3600
DAY = 86400

# Share of each non-managed authentication method among the users that are not MANAGED.
OTHER_AUTH_WEIGHTS = (
    ("SCRAM", 0.40),
    ("CUSTOMER", 0.20),
    ("AWS_IAM", 0.15),
    ("LDAP", 0.15),
    ("OIDC", 0.10),
)


@dataclass(frozen=True)
class FleetConfig:
    """Sizes and shape of a generated fleet.

    ``users_per_project`` is a mean: users are spread over projects unevenly and some projects
    stay empty. ``heavy_users`` MANAGED users get ``heavy_user_certs`` times 1, 2, 3, 1, ...
    unexpired certificates (None means 1 heavy user whenever the fleet has a managed user).
    Other MANAGED users get an exponential number of certificates with mean
    ``certs_per_user_mean`` and an occasional outlier, capped at ``max_certs_per_user``.
    ``expired_fraction`` of those certificates have already expired; the rest expire within
    days, weeks or months.
    """

    orgs: int = 1
    projects: int = 3
    users_per_project: float = 8.0
    managed_fraction: float = 0.6
    certs_per_user_mean: float = 4.0
    max_certs_per_user: int = 400
    heavy_users: int | None = None
    heavy_user_certs: int = 1200
    expired_fraction: float = 0.2
    awkward_usernames: bool = True

    def __post_init__(self) -> None:
        if self.orgs < 0 or self.projects < 0 or self.users_per_project < 0:
            raise ValueError("orgs, projects and users_per_project must not be negative")
        if self.projects and not self.orgs:
            raise ValueError(f"{self.projects} projects need at least one organization")
        for name in ("managed_fraction", "expired_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")

    @classmethod
    def demo(cls) -> "FleetConfig":
        """About 3 organizations, 12 projects, 150 users and one user with 1,200 certs."""
        return cls(orgs=3, projects=12, users_per_project=12.5, managed_fraction=0.55)

    @classmethod
    def benchmark(cls) -> "FleetConfig":
        """200 projects and 5,000 users, mostly MANAGED, with 12 heavy users of 1,200 to
        3,600 certificates (3 to 8 pages of 500)."""
        return cls(
            orgs=5,
            projects=200,
            users_per_project=25.0,
            managed_fraction=0.8,
            certs_per_user_mean=5.0,
            max_certs_per_user=900,
            heavy_users=12,
            awkward_usernames=True,
        )


def generate_fleet(store: Store, config: FleetConfig, seed: int) -> None:
    """Fill ``store`` with the fleet ``config`` describes."""
    rng = random.Random(f"fleet-{seed}")
    anchor = store.clock.now().replace(microsecond=0)
    anchor_epoch = int(anchor.timestamp())

    orgs = [
        store.add_org(
            f"{rng.choice(PROJECT_WORDS).title()} Org {index}", created=_past(rng, anchor)
        )
        for index in range(config.orgs)
    ]
    projects = []
    for index in range(config.projects):
        name = f"{rng.choice(PROJECT_WORDS)}-{rng.choice(SERVICES)}-{index:03d}"
        tags = [{"key": "environment", "value": rng.choice(("prod", "staging", "dev"))}]
        projects.append(
            store.add_project(
                org_id=orgs[index % len(orgs)].id,
                name=name,
                created=_past(rng, anchor),
                cluster_count=rng.randint(0, 4),
                tags=tags if rng.random() < 0.5 else [],
            )
        )
    if not projects:
        return

    total_users = round(config.users_per_project * len(projects))
    weights = [rng.random() ** 2 for _ in projects]
    weights[0] += 1.0  # the first project always has users, awkward names included
    assignment = rng.choices(range(len(projects)), weights=weights, k=total_users)

    awkward = list(AWKWARD_MANAGED_USERNAMES) if config.awkward_usernames else []
    managed: list[tuple[str, str]] = []
    used_names: set[tuple[str, str]] = set()
    for serial, project_index in enumerate(sorted(assignment)):
        project_id = projects[project_index].id
        if rng.random() < config.managed_fraction:
            name = awkward.pop(0) if awkward else _managed_name(rng, serial)
            name = _unique(name, project_id, used_names)
            store.add_user(project_id, name, x509_type="MANAGED", auth="X509", labels=_labels(rng))
            managed.append((project_id, name))
        else:
            _add_other_user(store, rng, project_id, serial, used_names)

    heavy_count = config.heavy_users
    if heavy_count is None:
        heavy_count = 1 if managed else 0
    heavy_count = min(heavy_count, len(managed))
    for index, (project_id, username) in enumerate(managed):
        if index < heavy_count:
            unexpired = config.heavy_user_certs * (1 + index % 3)
            _add_certs(store, rng, anchor_epoch, project_id, username, unexpired, unexpired // 10)
            continue
        count = min(config.max_certs_per_user, int(rng.expovariate(1 / config.certs_per_user_mean)))
        if rng.random() < 0.02:
            count = rng.randint(min(100, config.max_certs_per_user), config.max_certs_per_user)
        expired = sum(1 for _ in range(count) if rng.random() < config.expired_fraction)
        _add_certs(store, rng, anchor_epoch, project_id, username, count - expired, expired)


def _add_certs(
    store: Store,
    rng: random.Random,
    anchor: int,
    project_id: str,
    username: str,
    unexpired: int,
    expired: int,
) -> None:
    """Add certificates whose notAfter falls in the past (``expired``) or within days, weeks
    or months from ``anchor`` (UTC epoch seconds), created in chronological order."""
    random_value = rng.random
    plans = []
    for is_expired in [True] * expired + [False] * unexpired:
        months = MONTH_CHOICES[int(random_value() * len(MONTH_CHOICES))]
        if is_expired:
            remaining = -(60 + int(random_value() * 400 * DAY))
        else:
            bucket = random_value()
            if bucket < 0.15:
                remaining = HOUR + int(random_value() * 6 * DAY)
            elif bucket < 0.40:
                remaining = 7 * DAY + int(random_value() * 21 * DAY)
            else:
                remaining = 29 * DAY + int(random_value() * 701 * DAY)
            # A certificate cannot expire later than its lifetime (at least 28 days a month)
            # after now, and expires at least ten minutes from now.
            remaining = max(min(remaining, months * 28 * DAY - 2 * HOUR), 600)
        created = add_months_epoch(anchor + remaining - HOUR, -months)
        plans.append((created, months))
    plans.sort()
    store.add_certs(project_id, username, plans)


def _add_other_user(
    store: Store, rng: random.Random, project_id: str, serial: int, used_names: set
) -> None:
    kinds, weights = zip(*OTHER_AUTH_WEIGHTS, strict=True)
    kind = rng.choices(kinds, weights=weights)[0]
    labels = _labels(rng)
    if kind == "SCRAM":
        name = _unique(f"{rng.choice(SERVICES)}-app-{serial}", project_id, used_names)
        store.add_user(
            project_id,
            name,
            auth="SCRAM",
            labels=labels,
            description=f"{rng.choice(SERVICES)} service user",
        )
    elif kind == "CUSTOMER":
        base = (
            rng.choice(CUSTOMER_DNS)
            if rng.random() < 0.5
            else (
                f"CN={rng.choice(FIRST_NAMES).title()} {serial},OU={rng.choice(SERVICES).title()},"
                "DC=example,DC=com"
            )
        )
        name = _unique(base, project_id, used_names)
        store.add_user(project_id, name, x509_type="CUSTOMER", auth="X509", labels=labels)
    elif kind == "AWS_IAM":
        iam_type = rng.choice(("USER", "ROLE"))
        kind_path = "user" if iam_type == "USER" else "role"
        account = rng.randint(10**11, 10**12 - 1)
        name = _unique(
            f"arn:aws:iam::{account}:{kind_path}/{rng.choice(SERVICES)}-{serial}",
            project_id,
            used_names,
        )
        store.add_user(project_id, name, auth="AWS_IAM", aws_iam_type=iam_type, labels=labels)
    elif kind == "LDAP":
        ldap_type = rng.choice(("USER", "GROUP"))
        name = _unique(
            f"CN={rng.choice(FIRST_NAMES)}-{serial},OU=People,DC=corp,DC=example,DC=com",
            project_id,
            used_names,
        )
        store.add_user(project_id, name, auth="LDAP", ldap_auth_type=ldap_type, labels=labels)
    else:
        oidc_type = rng.choice(("USER", "IDP_GROUP"))
        idp = f"0oa{rng.getrandbits(40):010x}"
        name = _unique(f"{idp}/{rng.choice(SERVICES)}-{serial}", project_id, used_names)
        store.add_user(project_id, name, auth="OIDC", oidc_auth_type=oidc_type, labels=labels)


def _managed_name(rng: random.Random, serial: int) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(FIRST_NAMES)}.{rng.choice(FIRST_NAMES)}{serial}"
    return f"{rng.choice(SERVICES)}-client-{serial}"


def _unique(name: str, project_id: str, used_names: set[tuple[str, str]]) -> str:
    candidate, suffix = name, 1
    while (project_id, candidate) in used_names:
        suffix += 1
        candidate = f"{name}-{suffix}"
    used_names.add((project_id, candidate))
    return candidate


def _labels(rng: random.Random) -> list[dict[str, str]]:
    if rng.random() < 0.7:
        return []
    return [{"key": "team", "value": rng.choice(SERVICES)}]


def _past(rng: random.Random, anchor: datetime) -> datetime:
    return anchor - timedelta(seconds=rng.randint(86400, 5 * 365 * 86400))
