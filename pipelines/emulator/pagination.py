"""Query-parameter validation and the one pagination helper every list endpoint uses.

Limits follow the spec's shared parameters: pageNum >= 1 (default 1), itemsPerPage 1..500
(default 100), includeCount (default true), envelope and pretty (default false).
"""

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from .errors import InvalidQueryParameter

MAX_ITEMS_PER_PAGE = 500
DEFAULT_ITEMS_PER_PAGE = 100
# pageNum and itemsPerPage are int32 in Atlas.
MAX_INT32 = 2**31 - 1

LIST_PARAMETERS = frozenset({"envelope", "pretty", "includeCount", "itemsPerPage", "pageNum"})
ENTITY_PARAMETERS = frozenset({"envelope", "pretty"})

_INTEGER = re.compile(r"^[0-9]+$")

TotalCountMode = Literal["exact", "omit", "wrong"]


@dataclass(frozen=True, slots=True)
class Page:
    page_num: int = 1
    items_per_page: int = DEFAULT_ITEMS_PER_PAGE
    include_count: bool = True


@dataclass(frozen=True, slots=True)
class QueryOptions:
    page: Page
    envelope: bool
    pretty: bool
    values: dict[str, str]


def parse_query(
    query: dict[str, list[str]], allowed: frozenset[str], reject_unknown: bool = True
) -> QueryOptions:
    """Validate query parameters and return their typed values.

    Raises InvalidQueryParameter (400) for a repeated parameter, a value that is not an integer
    or boolean where one is required, a value out of range and, when ``reject_unknown`` is set,
    a parameter the endpoint does not declare.
    """
    values: dict[str, str] = {}
    for name, items in query.items():
        if name not in allowed:
            if reject_unknown:
                raise InvalidQueryParameter(name, "the parameter is not supported")
            continue
        if len(items) > 1:
            raise InvalidQueryParameter(name, "the parameter is given more than once")
        values[name] = items[0]

    page = Page(
        page_num=_parse_int(values, "pageNum", 1, 1, MAX_INT32),
        items_per_page=_parse_int(
            values, "itemsPerPage", DEFAULT_ITEMS_PER_PAGE, 1, MAX_ITEMS_PER_PAGE
        ),
        include_count=_parse_bool(values, "includeCount", True),
    )
    return QueryOptions(
        page=page,
        envelope=_parse_bool(values, "envelope", False),
        pretty=_parse_bool(values, "pretty", False),
        values=values,
    )


def _parse_int(values: dict[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    text = values.get(name)
    if text is None:
        return default
    if not _INTEGER.match(text):
        raise InvalidQueryParameter(name, f"{text!r} is not an integer")
    number = int(text)
    if not minimum <= number <= maximum:
        raise InvalidQueryParameter(name, f"{number} is not between {minimum} and {maximum}")
    return number


def _parse_bool(values: dict[str, str], name: str, default: bool) -> bool:
    text = values.get(name)
    if text is None:
        return default
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise InvalidQueryParameter(name, f"{text!r} is not true or false")
    return lowered == "true"


def encode_path_segment(segment: str) -> str:
    """Percent-encode one path segment the way Go's url.PathEscape does (the official SDK's
    choice): ``/ ; , ?``, spaces and non-ASCII are escaped; ``$ & + : = @`` stay literal."""
    return quote(segment, safe="$&+:=@")


def paginate(
    items: list[Any],
    options: QueryOptions,
    base_url: str,
    path: str,
    page_size_cap: int | None = None,
    total_count_mode: TotalCountMode = "exact",
    render: Any = None,
) -> dict[str, Any]:
    """Slice ``items`` to the requested page and build the list body.

    ``page_size_cap`` makes the server return fewer items than requested while the next link
    still covers everything. ``total_count_mode`` is exact, omit (no totalCount even when
    includeCount is true) or wrong (a plausible estimate that is off, which the spec allows).
    Links are absolute URLs on ``base_url``: self always, previous from page 2 on, next while
    items remain.
    """
    page = options.page
    size = min(page.items_per_page, page_size_cap) if page_size_cap else page.items_per_page
    start = (page.page_num - 1) * size
    selected = items[start : start + size]
    has_next = start + size < len(items)

    links = [_link(base_url, path, options, page.page_num, "self")]
    if page.page_num > 1:
        links.append(_link(base_url, path, options, page.page_num - 1, "previous"))
    if has_next:
        links.append(_link(base_url, path, options, page.page_num + 1, "next"))

    body: dict[str, Any] = {
        "links": links,
        "results": [render(item) for item in selected] if render else selected,
    }
    if page.include_count and total_count_mode != "omit":
        body["totalCount"] = _total_count(len(items), total_count_mode)
    return body


def _total_count(actual: int, mode: TotalCountMode) -> int:
    if mode == "exact":
        return actual
    if actual == 0:
        return 1
    # An under-count is the harmful error: a client that trusts it stops paging too early.
    return actual - max(1, actual // 10)


def _link(base_url: str, path: str, options: QueryOptions, page_num: int, rel: str) -> dict:
    parameters = {
        key: value
        for key, value in options.values.items()
        if key not in ("includeCount", "itemsPerPage", "pageNum")
    }
    parameters["includeCount"] = "true" if options.page.include_count else "false"
    parameters["itemsPerPage"] = str(options.page.items_per_page)
    parameters["pageNum"] = str(page_num)
    return {"href": f"{base_url}{path}?{urlencode(parameters)}", "rel": rel}
