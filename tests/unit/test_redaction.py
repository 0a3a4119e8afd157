"""PII redaction: every kind becomes a typed placeholder, on made-up and on real complaint text."""

import csv
import re

from auterity_pipelines.enrichment.redaction import Redactor
from resources.ai.router import redact_record


def test_each_kind_of_personal_detail_becomes_its_placeholder():
    text = (
        "Hi, this is Mary Smith. Email mary.smith12@gmail.com or call (312) 555-0199, cell 312.555.0100. "
        "VIN 1HGCM82633A004352. I live at 1234 N Lake Shore Dr, Apt 5. My name is Carlos Ramirez."
    )
    redacted = Redactor(["Mary", "Smith"])(text)
    for secret in (
        "Mary",
        "Smith",
        "mary.smith12@gmail.com",
        "555-0199",
        "555.0100",
        "1HGCM82633A004352",
        "Lake Shore",
        "Carlos",
        "Ramirez",
    ):
        assert secret not in redacted, secret
    for placeholder in ("[NAME_1]", "[EMAIL_1]", "[PHONE_1]", "[PHONE_2]", "[VIN_1]", "[ADDRESS_1]"):
        assert placeholder in redacted, placeholder


def test_the_same_value_gets_the_same_placeholder_across_a_record():
    record = {
        "comments": "call 312-555-0199",
        "note": "again: 312-555-0199",
        "vehicle": {"vin": "1HGCM82633A004352"},
    }
    redacted = redact_record(record, ())
    assert redacted["comments"].endswith("[PHONE_1]") and redacted["note"].endswith("[PHONE_1]")
    assert redacted["vehicle"]["vin"] == "[VIN_1]"


def test_real_nhtsa_narratives_lose_their_phone_numbers_and_keep_their_words(corpus):
    phone = re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
    with open(corpus / "nhtsa" / "complaints.csv", newline="", encoding="utf-8") as f:
        narratives = [row["narrative"] for row in csv.DictReader(f) if phone.search(row["narrative"])]
    assert narratives, "the corpus holds narratives with phone numbers"
    for narrative in narratives:
        redacted = Redactor()(narrative)
        assert not phone.search(redacted), redacted
        assert "[PHONE_" in redacted
        assert len(redacted.split()) >= len(narrative.split()) // 2
