"""CDK Fortellis style: OAuth2 client credentials, Subscription-Id and Request-Id, page/pageSize."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterator

from auterity_pipelines.records import format_time
from resources.dms.http import RestDmsClient, RetrySettings
from resources.dms.window import Window

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@functools.cache  # a handful of field names, met on every record
def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def from_fortellis(item: dict) -> dict:
    """A Fortellis record in the extract's shape."""
    record = {}
    for key, value in item.items():
        name = {"id": "source_id", "lastModifiedDate": "modified_at"}.get(key) or snake(key)
        if name == "lines" and isinstance(value, list):
            value = [
                {snake(k): v for k, v in line.items()} if isinstance(line, dict) else line for line in value
            ]
        record[name] = value
    return record


class FortellisClient(RestDmsClient):
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        subscription_id: str,
        page_size: int = 500,
        retry: RetrySettings | None = None,
    ):
        super().__init__(base_url, page_size, retry)
        self._client = (client_id, client_secret)
        self.subscription_id = subscription_id

    def _fetch_token(self) -> tuple[str, float]:
        body = self._request(
            "POST",
            "/fortellis/oauth2/token",
            auth=False,
            what="Fortellis token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._client[0],
                "client_secret": self._client[1],
            },
        )
        return body["access_token"], float(body.get("expires_in", 300))

    def pages(self, entity: str, window: Window) -> Iterator[list[dict]]:
        page = 1
        while True:
            body = self._request(
                "GET",
                f"/fortellis/v1/{entity.replace('_', '-')}",
                what=f"Fortellis {entity} page {page}",
                headers={"Subscription-Id": self.subscription_id, "Request-Id": str(uuid.uuid4())},
                params={
                    "startDate": format_time(window.start),
                    "endDate": format_time(window.end),
                    "page": page,
                    "pageSize": self.page_size,
                },
            )
            items = body.get("items") or []
            if items:
                yield [from_fortellis(item) for item in items]
            if not body.get("paging", {}).get("hasNext"):
                return
            page += 1
