"""In-memory Atlas entities: organizations, projects (Atlas calls them groups), database users
and certificates. The JSON shapes follow the 2023-01-01 schemas of the Atlas Admin API v2."""

import calendar
import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .clock import format_epoch

# Enum values from the CloudDatabaseUser schema.
X509_TYPES = ("NONE", "CUSTOMER", "MANAGED")
AWS_IAM_TYPES = ("NONE", "USER", "ROLE")
LDAP_AUTH_TYPES = ("NONE", "GROUP", "USER")
OIDC_AUTH_TYPES = ("NONE", "IDP_GROUP", "USER")
DATABASE_NAMES = ("admin", "$external")


@dataclass(slots=True)
class Org:
    id: str
    name: str
    created: datetime


@dataclass(slots=True)
class Project:
    """An Atlas project; the API calls it a group and names its id ``groupId``."""

    id: str
    name: str
    org_id: str
    created: datetime
    cluster_count: int = 0
    tags: list[dict[str, str]] = field(default_factory=list)
    with_default_alerts_settings: bool = True


@dataclass(slots=True)
class DatabaseUser:
    project_id: str
    username: str
    database_name: str
    x509_type: str = "NONE"
    aws_iam_type: str = "NONE"
    ldap_auth_type: str = "NONE"
    oidc_auth_type: str = "NONE"
    roles: list[dict[str, str]] = field(default_factory=list)
    scopes: list[dict[str, str]] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    description: str | None = None

    @property
    def auth_kind(self) -> str:
        """Authentication method: X509, AWS_IAM, LDAP, OIDC or SCRAM."""
        if self.x509_type != "NONE":
            return "X509"
        if self.aws_iam_type != "NONE":
            return "AWS_IAM"
        if self.ldap_auth_type != "NONE":
            return "LDAP"
        if self.oidc_auth_type != "NONE":
            return "OIDC"
        return "SCRAM"

    @property
    def is_managed_x509(self) -> bool:
        return self.x509_type == "MANAGED"


class CachedJsonDict(dict):
    """A JSON object that also carries its compact serialisation, so list pages can be
    written by joining cached text instead of encoding every item again."""

    __slots__ = ("fragment",)

    def __init__(self, values: dict) -> None:
        super().__init__(values)
        self.fragment = json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True, eq=False)
class Cert:
    """An Atlas-managed X.509 certificate. ``id`` is the certificate serial (int64).

    Times are kept as whole UTC epoch seconds, which keeps a benchmark fleet of ~100,000
    certificates cheap to build and to filter by expiry. ``created_at`` and ``not_after``
    return them as timezone-aware datetimes.
    """

    id: int
    group_id: str
    username: str
    subject: str
    created_epoch: int
    not_after_epoch: int
    # JSON form of the item, built on first use.
    _json: CachedJsonDict | None = field(default=None, repr=False)

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_epoch, UTC)

    @property
    def not_after(self) -> datetime:
        return datetime.fromtimestamp(self.not_after_epoch, UTC)

    def is_expired(self, now: datetime) -> bool:
        """Tell whether notAfter is at or before ``now``; such a certificate is not listed."""
        return self.not_after_epoch <= now.timestamp()

    def to_json(self) -> CachedJsonDict:
        """Return the UserCert item. The dict is cached and shared between responses, so copy it
        before changing it."""
        if self._json is None:
            self._json = CachedJsonDict(
                {
                    "_id": self.id,
                    "createdAt": format_epoch(self.created_epoch),
                    "groupId": self.group_id,
                    "notAfter": format_epoch(self.not_after_epoch),
                    "subject": self.subject,
                }
            )
        return self._json


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the last day of the target month (Jan 31 + 1
    month = Feb 28 or 29), as java.time's plusMonths does."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    if moment.day <= 28:
        return moment.replace(year=year, month=month)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def cert_not_after(created_at: datetime, months: int) -> datetime:
    """Expiry of a managed certificate: createdAt plus the calendar months plus one hour."""
    return add_months(created_at, months) + timedelta(hours=1)


def cert_not_after_epoch(created_epoch: int, months: int) -> int:
    """cert_not_after on epoch seconds."""
    return add_months_epoch(created_epoch, months) + 3600


def add_months_epoch(epoch: int, months: int) -> int:
    """add_months on UTC epoch seconds, with integer calendar arithmetic only."""
    days, seconds = divmod(epoch, 86400)
    year, month, day = _civil_from_days(days)
    month_index = month - 1 + months
    year += month_index // 12
    month = month_index % 12 + 1
    if day > 28:
        day = min(day, calendar.monthrange(year, month)[1])
    return _days_from_civil(year, month, day) * 86400 + seconds


# Proleptic Gregorian conversions between (year, month, day) and days since 1970-01-01
# (Howard Hinnant's "chrono-compatible low-level date algorithms"). Cached because a fleet's
# certificates share a few thousand distinct days.
@functools.lru_cache(maxsize=65536)
def _days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


@functools.lru_cache(maxsize=65536)
def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day
