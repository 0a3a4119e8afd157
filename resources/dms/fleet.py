"""The fleet's DMSs as one resource: a client per rooftop, built from the fleet file."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from auterity_pipelines.fleet import Dealership, Fleet, load_fleet
from auterity_pipelines.settings import fleet_path, named_secret
from resources.dms.extract import ExtractReader
from resources.dms.fortellis import FortellisClient
from resources.dms.http import DmsConfigError, RestDmsClient
from resources.dms.tekion import TekionClient

DmsSource = RestDmsClient | ExtractReader


def read_secret(name: str) -> str:
    """A secret by the environment variable the fleet file names; read when a client is built."""
    value = named_secret(name)
    if not value:
        raise DmsConfigError(
            f"environment variable {name} is not set (the fleet file names it as a DMS secret)"
        )
    return value


def client_for(dealership: Dealership, page_size: int = 500) -> DmsSource:
    dms = dealership.dms
    if dms.kind == "extract":
        return ExtractReader(Path(dms.path), dealership.id)
    if dms.kind == "fortellis":
        return FortellisClient(
            dms.base_url,
            read_secret(dms.client_id_env),
            read_secret(dms.client_secret_env),
            dms.subscription_id,
            page_size=page_size,
        )
    return TekionClient(
        dms.base_url,
        read_secret(dms.app_id_env),
        read_secret(dms.secret_key_env),
        dms.dealer_id,
        page_size=page_size,
    )


class DmsFleet(dg.ConfigurableResource):
    """Every rooftop's DMS, as the fleet file describes it."""

    fleet_file: str
    page_size: int = 500

    def fleet(self) -> Fleet:
        return load_fleet(Path(self.fleet_file))

    def client(self, dealership: Dealership) -> DmsSource:
        return client_for(dealership, self.page_size)


def dms_fleet_resource() -> DmsFleet:
    return DmsFleet(fleet_file=str(fleet_path()))
