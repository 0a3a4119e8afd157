"""The events inbox on SQLite and PostgreSQL."""

from resources.events.inbox import Incoming, store


def test_storing_an_event_says_whether_it_was_new_on_either_backend(warehouse):
    event = Incoming("lead.received", {"source_id": "L-1"}, "lead:L-1")
    (first,) = store(warehouse, "lakeside-honda", [event], "webhook")
    (again,) = store(warehouse, "lakeside-honda", [event], "amqp")
    assert (first.created, again.created) == (True, False)
    assert first.event_id == again.event_id
