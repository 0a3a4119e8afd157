"""Tekion style: app id + secret key for a token, epoch-millisecond windows, nextFetchKey cursors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from auterity_pipelines.records import TIME_FIELDS, format_time
from resources.dms.http import RestDmsClient, RetrySettings
from resources.dms.window import Window


def from_tekion(item: dict) -> dict:
    """A Tekion record in the extract's shape: epoch milliseconds become ISO 8601 UTC."""
    record = dict(item)
    for key in TIME_FIELDS:
        if isinstance(record.get(key), int):
            record[key] = format_time(dt.datetime.fromtimestamp(record[key] / 1000, dt.UTC))
    return record


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class TekionClient(RestDmsClient):
    def __init__(
        self,
        base_url: str,
        app_id: str,
        secret_key: str,
        dealer_id: str,
        page_size: int = 500,
        retry: RetrySettings | None = None,
    ):
        super().__init__(base_url, page_size, retry)
        self._app = (app_id, secret_key)
        self.dealer_id = dealer_id

    def _fetch_token(self) -> tuple[str, float]:
        body = self._request(
            "POST",
            "/tekion/openapi/v3.1/oauth/token",
            auth=False,
            what="Tekion token",
            data={"app_id": self._app[0], "secret_key": self._app[1]},
        )
        return body["data"]["access_token"], float(body["data"].get("expires_in", 300))

    def pages(self, entity: str, window: Window) -> Iterator[list[dict]]:
        fetch_key = None
        while True:
            params = {
                "startTime": epoch_ms(window.start),
                "endTime": epoch_ms(window.end),
                "limit": self.page_size,
            }
            if fetch_key:
                params["nextFetchKey"] = fetch_key
            body = self._request(
                "GET",
                f"/tekion/openapi/v4/{entity}",
                what=f"Tekion {entity}",
                headers={"app_id": self._app[0], "dealer_id": self.dealer_id},
                params=params,
            )
            data = body.get("data") or []
            if data:
                yield [from_tekion(item) for item in data]
            fetch_key = (body.get("meta") or {}).get("nextFetchKey")
            if not fetch_key:
                return
