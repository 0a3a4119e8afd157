"""The automations file: every problem reported at once, naming the automation, the field and the
reason; the valid ones kept; the shipped schema, demo file and template list in step."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from auterity_pipelines.automations.config import DEMO_AUTOMATIONS, json_schema, load_automations
from auterity_pipelines.automations.library import TEMPLATES
from auterity_pipelines.fleet import load_fleet
from auterity_pipelines.settings import DEMO_FLEET, PACKAGE_DIR
from tests.conftest import clean_environment

SCHEMA_FILE = PACKAGE_DIR / "automations" / "automations.schema.json"
DESIGNED = {
    "hot_lead_alert",
    "lead_response_watch",
    "service_due_reminder",
    "unhappy_service_customer",
    "warranty_digest",
    "aged_inventory_digest",
    "deal_thank_you",
}

ONE_OF_EACH = """
automations:
  - name: fine
    template: hot_lead_alert
    dealerships: [lakeside-honda]
    params: {notify: {channel: sms, to_env: AUTERITY_DEMO_SALES_MANAGER_PHONE}}
  - name: no-such-template
    template: hot_leads_alert
    dealerships: ["*"]
  - name: stray-parameter
    template: warranty_digest
    dealerships: ["*"]
    params: {notify: {channel: email, to_env: AUTERITY_DEMO_GM_EMAIL}, colour: blue}
  - name: no-notify
    template: unhappy_service_customer
    dealerships: ["*"]
    params: {max_sentiment: -0.5}
  - name: score-as-words
    template: hot_lead_alert
    dealerships: ["*"]
    params: {min_score: high, notify: {channel: sms, to_env: AUTERITY_DEMO_SALES_MANAGER_PHONE}}
  - name: nowhere-motors
    template: deal_thank_you
    dealerships: [lakeside-honda, nowhere-motors]
  - name: pager
    template: aged_inventory_digest
    dealerships: ["*"]
    params: {notify: {channel: pager, to_env: AUTERITY_DEMO_GM_EMAIL}}
  - name: bad-quiet
    template: service_due_reminder
    dealerships: ["*"]
    quiet_hours: {start: "9pm", end: "08:00"}
  - name: fine
    template: deal_thank_you
    dealerships: ["*"]
  - name: unset-phone
    template: lead_response_watch
    dealerships: ["*"]
    params: {notify: {channel: sms, to_env: NOBODY_SET_THIS_PHONE}}
  - name: leaky
    template: hot_lead_alert
    dealerships: ["*"]
    params:
      notify: {channel: email, to_env: AUTERITY_DEMO_GM_EMAIL}
      message: "Call {{ customer_phone }} now"
"""
EXPECTED = [
    "no-such-template: template: unknown template 'hot_leads_alert'",
    "stray-parameter: params.colour: unknown parameter",
    "no-notify: params.notify: missing required parameter",
    "score-as-words: params.min_score: wrong type or value",
    "nowhere-motors: dealerships: unknown dealership 'nowhere-motors'",
    "pager: params.notify.channel: wrong type or value: Input should be 'sms', 'email', 'chat' or 'crm'",
    "bad-quiet: quiet_hours: start '9pm' is not a 24-hour HH:MM time",
    "fine: name: duplicate name (also automation 1)",
    "unset-phone: params.notify.to_env: NOBODY_SET_THIS_PHONE is not set",
    "leaky: params.message: unknown variable customer_phone",
]


@pytest.fixture
def demo_fleet():
    return load_fleet(DEMO_FLEET)


def test_every_problem_in_the_file_is_reported_at_once(tmp_path, demo_fleet):
    path = tmp_path / "automations.yaml"
    path.write_text(ONE_OF_EACH)
    found = load_automations(path, fleet=demo_fleet)
    lines = [str(p) for p in found.problems]
    for expected in EXPECTED:
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert len(lines) == len(EXPECTED), lines
    # The valid one still runs; a duplicate's second entry does not replace it.
    assert [a.name for a in found.automations] == ["fine"]
    assert found.automations[0].template.name == "hot_lead_alert"


def test_validate_lists_every_problem_one_line_each_and_exits_1(tmp_path):
    path = tmp_path / "automations.yaml"
    path.write_text(ONE_OF_EACH)
    result = subprocess.run(
        [sys.executable, "-m", "auterity_pipelines.cli.main", "automations", "validate", str(path)],
        capture_output=True,
        text=True,
        env=clean_environment(),
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(EXPECTED)
    for expected in EXPECTED:
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert "10 problem(s)" in result.stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("automations: [\n", "(file): "),
        ("- just\n- a list\n", "(file): automations: must be a mapping"),
        ("automations: []\nrate_limits: {fax: 3}\n", "(file): rate_limits.fax: unknown channel"),
        ("automations: []\nrate_limits: {sms: 0}\n", "(file): rate_limits.sms: 0 is not a whole number"),
        ("automations:\n  - 42\n", "automation 1: (entry): must be a mapping"),
        (
            "automations:\n  - {template: warranty_digest, dealerships: ['*']}\n",
            "automation 1: name: is required",
        ),
    ],
)
def test_a_file_that_cannot_be_read_as_automations_says_why(tmp_path, demo_fleet, text, problem):
    path = tmp_path / "automations.yaml"
    path.write_text(text)
    found = load_automations(path, fleet=demo_fleet)
    assert any(str(p).startswith(problem) for p in found.problems), found.problems


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path):
    found = load_automations(tmp_path / "absent.yaml")
    assert [p.field for p in found.problems] == [str(tmp_path / "absent.yaml")]
    assert found.automations == []


def test_the_library_holds_the_designed_templates_with_typed_parameters():
    assert set(TEMPLATES) >= DESIGNED
    for template in TEMPLATES.values():
        parameters = template.parameters()
        assert template.description and template.trigger_text
        assert {"message", "email_subject"} <= set(parameters)
        for name, spec in parameters.items():
            assert spec["type"] and isinstance(spec["required"], bool), (template.name, name)


def test_templates_prints_one_json_object_per_template():
    result = subprocess.run(
        [sys.executable, "-m", "auterity_pipelines.cli.main", "automations", "templates"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_environment(),
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["name"] for r in rows} == set(TEMPLATES)
    hot = next(r for r in rows if r["name"] == "hot_lead_alert")
    assert hot["parameters"]["min_score"] == {
        "type": "number",
        "required": False,
        "default": 0.6,
        "description": "alert on a conversion score at or above this",
    }
    assert hot["parameters"]["notify"]["required"] is True
    assert set(hot) >= {"name", "description", "trigger", "parameters"}


def test_the_shipped_json_schema_is_the_one_the_templates_make():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "run: auterity automations schema --output " + str(SCHEMA_FILE)
    )


def test_the_schema_accepts_the_demo_file_and_refuses_a_wrong_parameter():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    document = yaml.safe_load(DEMO_AUTOMATIONS.read_text())
    jsonschema.validate(document, schema)
    document["automations"][0]["params"]["min_score"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_the_demo_automations_are_valid_and_use_every_template(demo_fleet):
    found = load_automations(DEMO_AUTOMATIONS, fleet=demo_fleet)
    assert found.problems == []
    assert {a.template.name for a in found.automations} == set(TEMPLATES)
    channels = {a.channel for a in found.automations}
    assert channels == {"sms", "email", "chat", "crm"}


def test_the_readme_shows_a_complete_example_per_template(demo_fleet, tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```yaml\n")[1:]]
    examples = [yaml.safe_load(b) for b in blocks if "automations:" in b]
    shown = {a["template"] for doc in examples for a in doc["automations"]}
    assert shown >= DESIGNED
    for doc in examples:
        path = tmp_path / "example.yaml"
        path.write_text(yaml.safe_dump(doc))
        assert load_automations(path, fleet=demo_fleet).problems == []
