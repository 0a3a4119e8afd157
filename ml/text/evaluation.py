"""How good the offline text models are: held-out NHTSA complaints, and the DMS simulator's labelled text."""

from __future__ import annotations

import datetime as dt

from ml.text import complaints, leads


def simulator_lines(days: int = 60, rooftop: str = "lakeside-honda") -> list[complaints.Labelled]:
    """Repair-order lines the simulator wrote, labelled by their op code's category."""
    from auterity_pipelines.records import split_lines
    from auterity_pipelines.simulator.catalog import OPERATION_CATEGORIES
    from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings

    dms = RooftopDms(rooftop, SimulatorSettings(now=EPOCH + dt.timedelta(days=days + 1), update_share=0))
    rows = []
    for _, order in dms.stream("repair_orders", EPOCH, EPOCH + dt.timedelta(days=days)):
        for line in split_lines(order):
            story = " ".join(line[k] for k in ("complaint", "cause", "correction"))
            rows.append(complaints.Labelled(story, OPERATION_CATEGORIES[line["op_code"]]))
    return rows


def simulator_leads(days: int = 60, rooftop: str = "lakeside-honda") -> list[complaints.Labelled]:
    """The simulator's lead comments, labelled with the intent it wrote them for."""
    from auterity_pipelines.simulator.catalog import LEAD_COMMENTS
    from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings

    intent_of = {text: intent for text, intent in LEAD_COMMENTS}
    dms = RooftopDms(rooftop, SimulatorSettings(now=EPOCH + dt.timedelta(days=days + 1), update_share=0))
    return [
        complaints.Labelled(lead["comments"], intent_of[lead["comments"]])
        for _, lead in dms.stream("leads", EPOCH, EPOCH + dt.timedelta(days=days))
    ]


def evaluate_complaints() -> dict:
    """The complaint classifier trained without its held-out quarter, scored on it and on simulator text."""
    train_rows, test_rows = complaints.holdout_split(complaints.load_nhtsa())
    model = complaints.train(train_rows + complaints.load_service_requests())
    lead_rows = simulator_leads()
    lead_hits = sum(leads.intent(r.text) == r.category for r in lead_rows)
    return {
        "nhtsa_holdout": complaints.evaluate(model, test_rows).as_dict(),
        "nhtsa_majority_baseline": complaints.majority_baseline(train_rows, test_rows).as_dict(),
        "simulator_repair_order_lines": complaints.evaluate(model, simulator_lines()).as_dict(),
        "simulator_lead_intent": {"accuracy": round(lead_hits / len(lead_rows), 4), "n": len(lead_rows)},
        "training_rows": len(train_rows),
    }
