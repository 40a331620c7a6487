"""Atom 1.0 feeds of "we did" updates (RFC 4287), per survey and per district, with the standard library.

Each entry is one update; its id is a ``urn:uuid`` made from the survey and update ids, so a reader
sees the same entry as the same whatever the host name. Links are relative to the feed's address
(RFC 4287 allows IRI references, resolved against the document), so one feed serves every host.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from xml.etree import ElementTree as ET

from talking.results.moderation import Update
from talking.results.schemas import PublicFigures

ATOM = "http://www.w3.org/2005/Atom"
_NAMESPACE = uuid.UUID("8f2b8d64-5a8e-4d0f-9b7a-2f7c2c9a7e01")  # talking's own, for the feeds' ids


def atom_feed(
    figures: PublicFigures,
    updates: list[Update],
    *,
    self_path: str,
    page_path: str,
    issue_labels: dict[str, str],
    area_names: dict[str | None, str],
    published_at: datetime,
    title: str,
) -> bytes:
    """The feed as UTF-8 bytes: one entry per update, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"urn:uuid:{uuid.uuid5(_NAMESPACE, self_path)}")
    _text(feed, "title", title)
    _text(feed, "subtitle", f"What partners did about the issues residents raised in {figures.title}")
    newest = max([published_at, *(u.created_at for u in updates)])
    _text(feed, "updated", _stamp(newest))
    _link(feed, self_path, "self", "application/atom+xml")
    _link(feed, page_path, "alternate", "text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Lancashire Talking")
    _text(feed, "rights", "Contains public sector information licensed under the Open Government Licence v3.0.")
    for update in updates:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        area = area_names.get(update.district_code, "Lancashire")
        issue = issue_labels.get(update.issue_code, update.issue_code)
        _text(entry, "id", f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{figures.survey_id}/updates/{update.id}')}")
        _text(entry, "title", f"{issue}, {area}: {update.partner}")
        _text(entry, "updated", _stamp(update.created_at))
        _text(entry, "published", _stamp(datetime.combine(update.done_on, time(12), tzinfo=UTC)))
        _link(entry, f"{page_path}#done-{update.issue_code}", "alternate", "text/html")
        ET.SubElement(entry, f"{{{ATOM}}}category", term=update.issue_code, label=issue)
        summary = f"{update.action} ({update.partner}, {update.done_on.day} {update.done_on:%B %Y}, {area})"
        _text(entry, "summary", summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{name}").text = value


def _link(parent: ET.Element, href: str, rel: str, media_type: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", href=href, rel=rel, type=media_type)


def _stamp(moment: datetime) -> str:
    """An RFC 3339 time, as Atom's date constructs need."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
