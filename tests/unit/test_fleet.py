import pytest

from auterity_pipelines.fleet import FleetError, load_fleet, parse_fleet
from auterity_pipelines.settings import DEMO_FLEET


def rooftop(**overrides):
    base = {"id": "lakeside-honda", "name": "Lakeside Honda", "timezone": "America/Chicago",
            "dms": {"kind": "extract", "path": "/data/lakeside"}}  # fmt: skip
    base.update(overrides)
    return base


def test_demo_fleet_has_three_rooftops_on_two_dms_kinds_and_two_time_zones():
    fleet = load_fleet(DEMO_FLEET)
    assert len(fleet.dealerships) >= 3
    assert len({d.dms.kind for d in fleet.dealerships}) >= 2
    assert len({d.timezone for d in fleet.dealerships}) >= 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"dms": {"kind": "fortellis", "base_url": "http://x"}}, "needs client_id_env"),
        ({"dms": {"kind": "reynolds"}}, "dms.kind must be one of"),
        ({"dms": {"kind": "tekion", "base_url": "http://x", "app_id_env": "A", "secret_key_env": "B",
                  "dealer_id": "d", "client_secret": "hunter2"}}, "unknown dms field(s) client_secret"),
        ({"id": "Lakeside Honda"}, "must be lower-case"),
        ({"webhook_legacy_signature": "yes"}, "webhook_legacy_signature must be true or false"),
    ],
)  # fmt: skip
def test_a_bad_rooftop_is_refused_naming_it(change, message):
    with pytest.raises(FleetError, match="dealership") as error:
        parse_fleet({"dealerships": [rooftop(**change)]})
    assert message in str(error.value)


def test_a_rooftop_listed_twice_is_refused():
    with pytest.raises(FleetError, match="listed twice"):
        parse_fleet({"dealerships": [rooftop(), rooftop()]})


def test_relative_extract_paths_are_taken_from_the_fleet_file(tmp_path):
    fleet = parse_fleet(
        {"dealerships": [rooftop(dms={"kind": "extract", "path": "extracts/a"})]}, base_dir=tmp_path
    )
    assert fleet.dealerships[0].dms.path == str(tmp_path / "extracts" / "a")


def test_a_missing_fleet_file_names_the_variable(tmp_path):
    with pytest.raises(FleetError, match="AUTERITY_FLEET"):
        load_fleet(tmp_path / "nope.yaml")


def test_the_older_signature_is_accepted_only_where_a_rooftop_says_so():
    (default,) = parse_fleet({"dealerships": [rooftop()]}).dealerships
    (legacy,) = parse_fleet({"dealerships": [rooftop(webhook_legacy_signature=True)]}).dealerships
    assert (default.webhook_legacy_signature, legacy.webhook_legacy_signature) == (False, True)
