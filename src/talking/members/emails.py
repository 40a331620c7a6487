"""The emails joining sends, in plain English: one for each kind of address that asks to join.

Every one carries the member's manage link (see and change their details, leave, delete them) and
the one-click unsubscribe link (List-Unsubscribe, RFC 8058). The HTML part is made from the text by
mail/messages.py, so the two always say the same.
"""

from __future__ import annotations

from talking.mail.outbox import REJOIN_CONFIRMATION, OutgoingMessage
from talking.members.manage import MANAGE_DAYS, manage_url
from talking.members.unsubscribe import unsubscribe_url

SERVICE = "Lancashire Talking"
CONFIRM_SUBJECT = "Confirm you want to join the Lancashire Talking resident panel"
ALREADY_SUBJECT = "You are already on the Lancashire Talking resident panel"
REJOIN_SUBJECT = "Confirm you want to rejoin the Lancashire Talking resident panel"
NOT_YOU = "If you did not ask to join, you do not need to do anything: we will not email you again about it."


def _message(
    to: str, member_id: int, subject: str, kind: str, body: str, base_url: str, secret_key: str
) -> OutgoingMessage:
    manage = manage_url(base_url, secret_key, member_id)
    text = (
        f"{body.strip()}\n\n"
        f"To see or change your details, leave the panel or delete your details, go to:\n{manage}\n"
        f"(This link works for {MANAGE_DAYS} days.)\n\n"
        f"{SERVICE}"
    )
    return OutgoingMessage(
        to=to,
        subject=subject,
        text=text,
        kind=kind,
        member_id=member_id,
        unsubscribe_url=unsubscribe_url(base_url, secret_key, member_id),
    )


def confirm_joining(to: str, member_id: int, confirm_link: str, base_url: str, secret_key: str) -> OutgoingMessage:
    """To a new address (or one that has not confirmed yet): the link that confirms joining."""
    body = (
        "Thank you for asking to join the Lancashire Talking resident panel.\n\n"
        "To confirm, open this link and select Confirm:\n"
        f"{confirm_link}\n\n"
        "The link works for 7 days, once.\n\n"
        f"{NOT_YOU}"
    )
    return _message(to, member_id, CONFIRM_SUBJECT, "join_confirmation", body, base_url, secret_key)


def already_a_member(to: str, member_id: int, base_url: str, secret_key: str) -> OutgoingMessage:
    """To an address already on the panel: nothing to confirm; how to change their details instead."""
    body = (
        "Someone asked to join the Lancashire Talking resident panel with this email address.\n\n"
        "You are already a member, so there is nothing you need to do. We will keep emailing you"
        " when there is a survey for your area.\n\n"
        "If you have moved, or want to change what you told us about yourself, use the link below."
    )
    return _message(to, member_id, ALREADY_SUBJECT, "join_already_member", body, base_url, secret_key)


def confirm_rejoining(to: str, member_id: int, confirm_link: str, base_url: str, secret_key: str) -> OutgoingMessage:
    """To an address that unsubscribed: the link that brings them back, with the answers they just gave."""
    body = (
        "Someone asked to join the Lancashire Talking resident panel with this email address."
        " You unsubscribed from the panel before, so we will not email you about surveys unless you"
        " confirm you want to rejoin.\n\n"
        "To rejoin, open this link and select Confirm:\n"
        f"{confirm_link}\n\n"
        "The link works for 7 days, once.\n\n"
        "If you did not ask to rejoin, you do not need to do anything: you stay unsubscribed."
    )
    return _message(to, member_id, REJOIN_SUBJECT, REJOIN_CONFIRMATION, body, base_url, secret_key)
