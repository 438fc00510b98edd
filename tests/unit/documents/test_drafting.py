"""The offline draft arranges what a thread said; Slack's markup becomes Markdown."""

from __future__ import annotations

from common.documents.drafting import OfflineDrafter, ThreadMessage, is_substantive, markdown_of


def test_acknowledgements_and_short_replies_are_left_out() -> None:
    assert not is_substantive("thanks!")
    assert not is_substantive("+1 :tada:")
    assert not is_substantive("<@U123> lgtm")
    assert is_substantive("Restart the VPN client after changing the profile")


def test_slack_links_mentions_and_bold_become_markdown() -> None:
    text = "*Note:* ask <@U42|maria> and read <https://wiki.example.com/vpn|the VPN page>"
    assert markdown_of(text) == "**Note:** ask @maria and read [the VPN page](https://wiki.example.com/vpn)"


def test_a_thread_becomes_a_summary_details_and_links_with_authors() -> None:
    draft = OfflineDrafter().draft(
        messages=[
            ThreadMessage("Ana", "How do I rotate the staging database password?"),
            ThreadMessage("Ben", "Run the rotate job in <https://ci.example.com/rotate|CI> then use vault"),
            ThreadMessage("Ana", "thanks!"),
        ]
    )
    assert draft.title == "How do I rotate the staging database password"
    assert draft.body.splitlines()[:3] == [
        "## Summary",
        "",
        "How do I rotate the staging database password? — Ana",
    ]
    assert "- **Ben:** Run the rotate job in [CI](https://ci.example.com/rotate) then use vault" in draft.body
    assert draft.body.endswith("## Links\n\n- <https://ci.example.com/rotate>")
    assert "thanks" not in draft.body


def test_a_given_title_wins_over_the_first_sentence() -> None:
    draft = OfflineDrafter().draft(description="Laptops are replaced every four years.", title="Laptops")
    assert draft.title == "Laptops"


def test_a_thread_with_nothing_substantive_gives_an_empty_body_to_write() -> None:
    draft = OfflineDrafter().draft(messages=[ThreadMessage("Ana", "thanks"), ThreadMessage("Ben", "+1")])
    assert draft.body == ""
