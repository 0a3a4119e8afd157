"""ADF parsing on the real-world documents in ../shared/corpus/adf and the spec's optional parts."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from auterity_pipelines.adf import REQUESTDATE_NOTE, AdfError, parse_adf

DOC = """<?xml version="1.0"?>
<?adf version="1.0"?>
<adf>
  <prospect>
    <id sequence="1" source="cars.com">A-100</id>
    <requestdate>2026-11-20T09:15:00-05:00</requestdate>
    <vehicle interest="trade-in" status="used"><year>2015</year><make>Honda</make><model>Civic</model></vehicle>
    <vehicle interest="buy" status="new"><year>2026</year><make>Honda</make><model>CR-V</model>
      <vin>5J6RS4H48SL000123</vin><comments>Blue if possible.</comments></vehicle>
    <customer>
      <contact>
        <name part="first">Maria</name><name part="last">Lopez</name>
        <email>Maria.Lopez@Example.com</email>
        <phone type="fax">3125550100</phone>
        <phone type="cellphone" preferredcontact="1">3125550199</phone>
        <address type="home"><street line="1">1 Main St</street><city>Chicago</city></address>
      </contact>
      <comments>Can I test drive Saturday?</comments>
    </customer>
    <provider><name part="full">Cars.com</name></provider>
  </prospect>
  <prospect>
    <requestdate>2026-11-20T10:00:00Z</requestdate>
    <customer><contact><name part="full">Ann Lee</name><phone>555-0101</phone></contact></customer>
  </prospect>
  <prospect>
    <customer><contact><name part="full">No Date</name></contact></customer>
  </prospect>
  <prospect>
    <requestdate>2026-11-20T10:00:00Z</requestdate>
    <vehicle><year>next year</year><make>Honda</make></vehicle>
    <customer><contact><name part="full">Bad Year</name></contact></customer>
  </prospect>
</adf>"""


def test_the_corpus_documents_all_parse(corpus):
    results = {path.name: parse_adf(path.read_bytes()) for path in sorted((corpus / "adf").glob("*.xml"))}
    assert {name: len(r.leads) for name, r in results.items()} == dict.fromkeys(results, 1)
    assert all(not r.rejected for r in results.values())


def test_a_full_prospect_maps_to_the_lead_contract(corpus):
    (lead,) = parse_adf((corpus / "adf" / "Aayush-Ratna-Sthapit_ADF-XML-Parser_lead1.xml").read_bytes()).leads
    assert lead["received_at"] == "2019-01-16T00:46:36Z"  # -06:00 made UTC
    assert (lead["first_name"], lead["last_name"]) == ("John", "Test01292019")
    assert lead["phone"] == "1234567890"  # the preferred one of four
    assert (lead["vehicle_year"], lead["vehicle_make"], lead["vehicle_model"]) == ("2023", "Hyundai", "i30")
    assert lead["source"] == "PROSPECT"
    assert lead["comments"].splitlines()[-1] == "Comments: looking for SUV, new to the country..."


def test_deviations_full_name_by_type_upper_case_instruction_and_no_vehicle(corpus):
    (lead,) = parse_adf((corpus / "adf" / "gcoombe_adf-leads_test_example.xml").read_bytes()).leads
    assert (lead["first_name"], lead["last_name"]) == ("Test", "user")
    assert lead["source_id"] == "fetch-auto:1" and lead["source"] == "Fetch Auto"
    assert lead["vehicle_make"] is None and lead["received_at"] == "2018-04-15T23:30:20Z"


def test_a_minimal_document_without_instruction_or_vendor_name(corpus):
    (lead,) = parse_adf((corpus / "adf" / "Aayush-Ratna-Sthapit_ADF-XML-Parser_x1.xml").read_bytes()).leads
    assert (lead["first_name"], lead["last_name"], lead["vehicle_model"]) == ("John", "Doe", "Blazer")
    assert lead["source_id"].startswith("adf:")  # no <id>: named by its content
    again = parse_adf((corpus / "adf" / "Aayush-Ratna-Sthapit_ADF-XML-Parser_x1.xml").read_text()).leads[0]
    assert again["source_id"] == lead["source_id"]


def test_several_prospects_trade_ins_and_phones():
    arrived = dt.datetime(2026, 11, 20, 16, 1, 2, tzinfo=dt.UTC)
    result = parse_adf(DOC, received_at=arrived)
    first, second, undated, _ = result.leads
    assert first["source_id"] == "cars.com:A-100"
    assert (first["vehicle_model"], first["vehicle_vin"]) == ("CR-V", "5J6RS4H48SL000123")  # not the trade-in
    assert first["phone"] == "3125550199"
    assert first["comments"] == "Can I test drive Saturday?\nBlue if possible.\nTrade-in: 2015 Honda Civic"
    assert (second["first_name"], second["last_name"]) == ("Ann", "Lee")
    # No request date loses no lead: it keeps the time it reached us, and says so.
    assert undated["received_at"] == "2026-11-20T16:01:02Z" and undated[REQUESTDATE_NOTE] == ""
    assert result.rejected == []


@pytest.mark.parametrize(
    "document, reason",
    [
        (
            '<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><adf>&b;</adf>',
            "refused",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY x SYSTEM "file:///etc/passwd">]><adf>&x;</adf>',
            "refused",
        ),
        ("<adf><prospect>", "not well-formed XML"),
        ("<lead><prospect/></lead>", "root element is <lead>"),
        ("<adf></adf>", "holds no <prospect>"),
        ("<adf>" + "<prospect>" * 3000 + "</prospect>" * 3000 + "</adf>", "nested more than 32 deep"),
    ],
)
def test_documents_that_cannot_be_read_say_why(document, reason):
    with pytest.raises(AdfError, match=reason):
        parse_adf(document)


def test_adf_parse_prints_contract_rows_and_fails_on_a_bad_prospect(tmp_path, corpus):
    def run(path):
        return subprocess.run(
            [sys.executable, "-m", "auterity_pipelines.cli.main", "adf", "parse", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = run(corpus / "adf" / "gcoombe_adf-leads_test_example.xml")
    assert good.returncode == 0, good.stderr
    (row,) = json.loads(good.stdout)
    assert set(row) == {"dealership_id", "lead_id", "source", "received_at", "first_name", "last_name", "email",
                        "phone", "vehicle_year", "vehicle_make", "vehicle_model", "vehicle_vin", "comments"}  # fmt: skip
    (tmp_path / "mixed.xml").write_text(DOC)
    mixed = run(tmp_path / "mixed.xml")
    assert mixed.returncode == 1 and len(json.loads(mixed.stdout)) == 3
    assert "prospect 4: vehicle_year" in mixed.stderr
    (tmp_path / "bad.xml").write_text("<lead/>")
    bad = run(tmp_path / "bad.xml")
    assert bad.returncode == 2 and "root element is <lead>" in bad.stderr
    (tmp_path / "deep.xml").write_text("<adf>" + "<a>" * 3000 + "</a>" * 3000 + "</adf>")  # 21 kB
    deep = run(tmp_path / "deep.xml")
    assert deep.returncode == 2 and deep.stderr.strip().count("\n") == 0, deep.stderr
    assert "nested more than" in deep.stderr


def test_real_world_sloppiness_loses_no_lead_and_no_vehicle():
    document = """<adf>
  <prospect><requestdate>2026-11-23T10:00:00-06:00</requestdate>
    <vehicle interest="buy"><make>Honda</make><model>Pilot</model></vehicle>
    <customer><contact><name part="first">Ann</name><name part="surname">Lee</name></contact></customer>
  </prospect>
  <prospect><requestdate>2026-11-23T8:47:50</requestdate>
    <vehicle interest="test-drive"><year>2025</year><make>Kia</make><model>EV9</model></vehicle>
    <vehicle interest="sell"><year>2012</year><make>Ford</make><model>Focus</model></vehicle>
    <customer><contact><name part="given">Raj</name><name part="family">Patel</name></contact></customer>
  </prospect>
  <prospect><requestdate>yesterday around 3</requestdate>
    <customer><contact><name part="full">Jo March</name></contact></customer>
  </prospect>
  <prospect><requestdate>0001-01-01T00:00:00+12:00</requestdate>
    <customer><contact><name part="full">Old Clock</name></contact></customer>
  </prospect>
</adf>"""
    arrived = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    first, test_drive, vague, ancient = parse_adf(document, "America/Chicago", arrived).leads
    assert (first["first_name"], first["last_name"]) == ("Ann", "Lee")
    assert (test_drive["vehicle_make"], test_drive["vehicle_model"]) == ("Kia", "EV9")
    assert test_drive["comments"] == "To sell: 2012 Ford Focus"
    assert (test_drive["first_name"], test_drive["last_name"]) == ("Raj", "Patel")
    # One-digit hour, no offset: the rooftop's local time (CST is UTC-6).
    assert test_drive["received_at"] == "2026-11-23T14:47:50Z" and REQUESTDATE_NOTE not in test_drive
    for lead, sent in ((vague, "yesterday around 3"), (ancient, "0001-01-01T00:00:00+12:00")):
        assert lead["received_at"] == "2026-11-23T15:00:00Z" and lead[REQUESTDATE_NOTE] == sent
    # Without the rooftop's zone, a time with no offset cannot be placed: the receipt time stands in.
    (alone,) = parse_adf(document.replace("<prospect>", "<x>", 0)).leads[1:2]
    assert alone[REQUESTDATE_NOTE] == "2026-11-23T8:47:50"
