"""Mail settings from the environment, and the emails built from outbox messages (no server needed)."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest

from talking.mail.messages import SenderIdentity, StoredMessage, build_email
from talking.settings import Settings


def test_mail_settings_have_defaults_that_work_with_nothing_else() -> None:
    settings = Settings.from_env({"TALKING_SECRET_KEY": "k"})
    assert settings.smtp_url is None and settings.mail_dir == Path("var/mail")
    assert settings.mail_rate == 50 and settings.mail_retention_days == 30 and settings.mail_reply_to is None
    assert settings.mail_from == "Talking <no-reply@talking.localhost>"


def test_mail_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TALKING_SECRET_KEY": "k",
            "TALKING_SMTP_URL": "smtps://u:p@mail.example",
            "TALKING_MAIL_FROM": "Lancashire Talking <panel@lancashire.example>",
            "TALKING_MAIL_REPLY_TO": "help@lancashire.example",
            "TALKING_MAIL_RATE": "120",
            "TALKING_MAIL_DIR": "/tmp/outbox",
            "TALKING_MAIL_RETENTION_DAYS": "7",
        }
    )
    assert settings.smtp_url == "smtps://u:p@mail.example" and settings.mail_rate == 120
    assert settings.mail_from == "Lancashire Talking <panel@lancashire.example>"
    assert settings.mail_reply_to == "help@lancashire.example" and settings.mail_dir == Path("/tmp/outbox")
    assert settings.mail_retention_days == 7


@pytest.mark.parametrize("name", ["TALKING_MAIL_RATE", "TALKING_MAIL_RETENTION_DAYS"])
@pytest.mark.parametrize("bad", ["0", "-1", "fast", ""])
def test_a_bad_rate_or_retention_is_refused_by_name(name: str, bad: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({"TALKING_SECRET_KEY": "k", name: bad})


def message(**fields: object) -> StoredMessage:
    values: dict[str, object] = {
        "id": 7,
        "to": "resident@example.org",
        "subject": "Your views",
        "text": "Hello <b>resident</b>,\n\nSee https://talking.example/s/1?a=1&b=2 now.",
        "html": None,
        "unsubscribe_url": None,
        "message_id": "<abc@talking.localhost>",
        **fields,
    }
    return StoredMessage(**values)  # type: ignore[arg-type]


def test_an_email_without_an_unsubscribe_link_has_no_unsubscribe_headers_and_no_reply_to_unless_set() -> None:
    envelope = build_email(message(), SenderIdentity("no-reply@talking.example"))
    parsed = email.message_from_bytes(envelope.data, policy=default)
    assert "List-Unsubscribe" not in parsed and "List-Unsubscribe-Post" not in parsed and "Reply-To" not in parsed
    assert (envelope.sender, envelope.recipient) == ("no-reply@talking.example", "resident@example.org")
    # The wire format: every line ends CRLF.
    assert b"\n" not in envelope.data.replace(b"\r\n", b"")


def test_html_is_escaped_and_links_are_made_from_the_text() -> None:
    parsed = email.message_from_bytes(build_email(message(), SenderIdentity("a@b.example")).data, policy=default)
    html = parsed.get_body(("html",)).get_content()
    assert "&lt;b&gt;resident&lt;/b&gt;" in html and "<b>" not in html
    assert '<a href="https://talking.example/s/1?a=1&amp;b=2"' in html
    assert parsed.get_body(("plain",)).get_content().startswith("Hello <b>resident</b>,")


def test_words_beyond_ascii_survive_in_the_subject_the_sender_and_the_body() -> None:
    identity = SenderIdentity("Cyngor Sir Gâr <post@sirgar.example>", "Ymholiadau <help@sirgar.example>")
    built = build_email(message(subject="Café crème — £5 survey", text="Diolch yn fawr — £5"), identity)
    parsed = email.message_from_bytes(built.data, policy=default)
    assert parsed["Subject"] == "Café crème — £5 survey"
    assert parsed["From"].addresses[0].display_name == "Cyngor Sir Gâr"
    assert parsed["Reply-To"].addresses[0].addr_spec == "help@sirgar.example"
    assert "Diolch yn fawr — £5" in parsed.get_body(("plain",)).get_content()
    assert built.data.isascii()  # encoded for any server, 8BITMIME or not
