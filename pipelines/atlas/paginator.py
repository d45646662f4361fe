"""Page-number pagination as the Atlas Administration API implements it."""

from typing import Any

from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from requests import Request, Response

from pipelines.settings import MAX_ITEMS_PER_PAGE

# A bound on pages per listing, so a server that always sends a `next` link cannot keep a run
# going forever: 20,000 pages of 500 items is 10 million certificates for one user.
MAX_PAGES = 20_000


class AtlasPaginator(PageNumberPaginator):
    """Walks `pageNum` from 1 with a fixed `itemsPerPage`.

    Extends dlt's PageNumberPaginator because its stop rules read a page count from the
    response, while Atlas sends an item estimate (`totalCount`, omitted with
    `includeCount=false`) and marks "more pages" with a `rel: next` link. The next page is
    requested only while the response has a `next` link. A response without any `links` is
    followed while its page came back full. A short page with a `next` link is followed,
    because Atlas may return fewer items than requested and still have more.
    """

    def __init__(self, items_per_page: int = MAX_ITEMS_PER_PAGE) -> None:
        super().__init__(
            base_page=1,
            page_param="pageNum",
            total_path=None,
            maximum_page=MAX_PAGES + 1,
            stop_after_empty_page=True,
        )
        self.items_per_page = items_per_page

    def init_request(self, request: Request) -> None:
        super().init_request(request)
        request.params["itemsPerPage"] = self.items_per_page
        # totalCount is only an estimate and never decides the stop, so it is not requested.
        # It also avoids TIMEOUT_WHILE_PAGING, which Atlas raises when counting deep pages.
        request.params["includeCount"] = "false"

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        if not self._has_next_page:
            return

        links = _links_of(response)
        if links is None:
            self._has_next_page = data is not None and len(data) >= self.items_per_page
        else:
            self._has_next_page = any(
                isinstance(link, dict) and link.get("rel") == "next" for link in links
            )


def _links_of(response: Response) -> list[Any] | None:
    body = response.json()
    links = body.get("links") if isinstance(body, dict) else None
    return links if isinstance(links, list) and links else None
