"""The resident panel's tables: members, their invitations to surveys, and the email outbox that reaches them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from talking.db.base import Base, BigId, UTCDateTime


class Member(Base):
    """A resident on the panel: reached by email, answering for their district.

    ``email_key`` is the address lower-cased, unique, so one resident is one member however they
    type it. An erased member keeps only their row's id, status and times: email, district and
    about-you answers are cleared for good (nothing links a member to an answer in any case).
    """

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("email_key"),
        CheckConstraint("status IN ('pending', 'active', 'unsubscribed', 'erased')", name="status_known"),
        Index("ix_members_district_status", "district_code", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    age_band: Mapped[str | None] = mapped_column(String(20))
    sex: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    # Which privacy notice the member agreed to ("imported" for the messaging service's members).
    consent_version: Mapped[str | None] = mapped_column(String(40))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when a message to this address was refused for good (SMTP 5xx at RCPT): mail/sender.py.
    bouncing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "Email me when results are published": asked when joining, changed on the manage page; imported
    # members start without it (results/member_emails.py mails those who asked).
    hear_about_results: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Invitation(Base):
    """One member's invitation to answer one members survey, once.

    Anonymity is in what this row does *not* hold: no response id, no time of answering. The writer
    sets ``used_on`` (a day, not a time) in the same transaction as the response it lets in, and
    nothing joins the two. Only the SHA-256 of the link's token is kept (the token itself is in the
    email alone). ``district_code`` is copied from the membership when invited, so response rates by
    district stay right if the member moves or is erased (erasure sets ``member_id`` to NULL).
    """

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        # One invitation per member per survey: sending again invites only members without one.
        UniqueConstraint("survey_id", "member_id", name="uq_invitations_survey_member"),
        CheckConstraint("reminders_sent BETWEEN 0 AND 2", name="reminders_range"),
        # Response rates: invited and answered by district.
        Index("ix_invitations_survey_district", "survey_id", "district_code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The day (UTC) the invitation's answer was stored; NULL until then.
    used_on: Mapped[date | None] = mapped_column(Date)
    reminders_sent: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailOutboxMessage(Base):
    """An email waiting to be sent (or sent, failed, cancelled), written in its cause's transaction.

    After the retention period (TALKING_MAIL_RETENTION_DAYS) a finished message keeps only its
    status and times: recipient, subject and bodies are cleared by the sender (mail/sender.py).
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'cancelled')", name="status_known"),
        # The sender's query: what is queued and due, oldest first.
        Index("ix_mail_outbox_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(2000))
    # Made at queue time, so every retry of one message carries the same Message-ID.
    message_id: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A sender that claimed the message keeps it until then (it may have died: then others may).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))


class MailSenderLease(Base):
    """The one row saying which sender may send now and until when: one sender across every process."""

    __tablename__ = "mail_sender_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


members = Member.__table__
invitations = Invitation.__table__
mail_outbox = MailOutboxMessage.__table__
mail_sender_lease = MailSenderLease.__table__
