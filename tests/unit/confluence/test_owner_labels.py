"""An owner's label (`owner-<user>`) carries an email Confluence's label rules would otherwise break."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.confluence.models import Person
from common.confluence.rest_mapping import owner_from_labels, owner_label

LABEL_SAFE = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_email_is_written_label_safe_and_read_back() -> None:
    label = owner_label("Maria.Lopez+kb@example.com")

    assert label == "owner-maria_2elopez_2bkb_40example_2ecom"
    assert owner_from_labels(["kb-doc", label]) == Person(
        name="maria.lopez+kb@example.com", email="maria.lopez+kb@example.com"
    )


def test_a_plain_owner_label_written_by_a_person_stays_a_name() -> None:
    assert owner_from_labels(["owner-jane_doe"]) == Person(name="jane_doe")


@given(st.emails())
def test_every_email_survives_the_round_trip(email: str) -> None:
    label = owner_label(email)

    assert set(label) <= LABEL_SAFE
    assert owner_from_labels([label]) == Person(name=email.lower(), email=email.lower())
