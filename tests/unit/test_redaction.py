"""PII redaction: every kind becomes a typed placeholder, on made-up and on real complaint text."""

import csv
import re

from auterity_pipelines.enrichment.redaction import Redactor
from resources.ai.router import redact_record


def test_each_kind_of_personal_detail_becomes_its_placeholder():
    text = (
        "Hi, this is Mary Smith. Email mary.smith12@gmail.com or call (312) 555-0199, cell 312.555.0100. "
        "VIN 1HGCM82633A004352. I live at 1234 N Lake Shore Dr, Apt 5. My name is Carlos Ramirez. "
        "The loaner was 5YJ3E1EAXOF1QZ0I8, my wife's car 2t1bu4eeq9c123456."
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
        "5YJ3E1EAXOF1QZ0I8",  # I, O and Q: not a valid VIN, still one car (the simulator writes these)
        "2t1bu4eeq9c123456",
    ):
        assert secret not in redacted, secret
    for placeholder in ("[NAME_1]", "[EMAIL_1]", "[PHONE_1]", "[PHONE_2]", "[VIN_3]", "[ADDRESS_1]"):
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


def test_a_repair_order_line_loses_its_customers_name_before_it_leaves():
    from auterity_pipelines.enrichment.inputs import line_input

    line = {"ro_number": "R-1", "line_number": 1, "op_code": "BRK", "labor_hours": 1.0,
            "complaint": "Beatrix Lindqvist states the brakes squeal; Ms. Lindqvist waited.",
            "cause": "", "correction": ""}  # fmt: skip
    order = {"vin": None, "opened_at": None, "first_name": "Beatrix", "last_name": "Lindqvist"}
    _, record, names = line_input(line, order)
    redacted = redact_record(record, names)
    assert "Beatrix" not in redacted["complaint"] and "Lindqvist" not in redacted["complaint"]
    assert redacted["complaint"].startswith("[NAME_")
