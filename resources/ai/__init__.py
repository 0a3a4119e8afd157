"""RelayCore, the AI router, as a Dagster resource."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from sqlalchemy import Engine

from resources.ai.config import RelayConfig, load_config
from resources.ai.router import Router


class RelayCore(dg.ConfigurableResource):
    """Routes enrichment calls across providers; offline through the local models when no key is set."""

    # None: AUTERITY_RELAYCORE_CONFIG, else the bundled relaycore.yaml. Only a path: keys stay in the environment.
    config_path: str | None = None

    def config(self) -> RelayConfig:
        return load_config(self.config_path)

    def router(
        self, engine: Engine, run_id: str | None = None, log: Callable[[str], None] | None = None
    ) -> Router:
        return Router(self.config(), engine, run_id=run_id, log=log)
