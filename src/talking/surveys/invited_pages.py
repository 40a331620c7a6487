"""The link in a member's invitation email, ``/i/{token}``: where an invited resident's journey starts.

It finds the invitation (its token's shape first, then its hash), its survey and its member, and
starts the ordinary resident journey (pages.py) with what the membership already says: the
district, and age band and sex when both are known, so those pages are skipped. The invitation's
hash stays in the resident's session with their answers until they are sent, when the writer claims
it in the same transaction as the answer (batches.py), and the session forgets it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Template

from talking.errors import InvitationUsed, SurveyNotFound
from talking.surveys.invited import find_invitation
from talking.surveys.journey import Progress, session_key
from talking.surveys.page_support import (
    Req,
    SurveyUnavailable,
    already_answered,
    invited_start,
    survey_not_found,
    survey_unavailable,
)
from talking.surveys.services import SurveyCatalogue, utcnow


def details_url(token: str) -> str:
    """The member's own page for changing their details, reached through the invitation (members/)."""
    return f"/i/{token}/details"


class InvitedPages(Controller):
    """An invitation's landing page."""

    include_in_schema = False
    exception_handlers = {  # noqa: RUF012
        SurveyUnavailable: survey_unavailable,
        SurveyNotFound: survey_not_found,
        InvitationUsed: already_answered,
    }

    @get("/i/{token:str}", name="invitation")
    async def landing(self, request: Req, token: FromPath[str]) -> Template:
        """Start (or carry on with) the invited journey; or say why this link cannot be answered."""
        catalogue: SurveyCatalogue = request.app.state.catalogue
        invited = await find_invitation(catalogue.engine, token)
        if invited is None:
            return _not_found(gone=False)
        if not invited.may_answer:
            return _not_found(gone=True)
        survey = await catalogue.get(invited.survey_id)
        if survey.status == "draft":
            raise SurveyNotFound(survey.id)
        if not survey.is_open_at(utcnow()):
            raise SurveyUnavailable(survey)
        if invited.used_on is not None:
            # Answered: its journey, if this browser has one, is over (the writer would refuse it anyway).
            request.session.pop(session_key(survey.id), None)
            raise InvitationUsed()
        progress = Progress.from_session(request.session.get(session_key(survey.id)))
        if progress.invitation != invited.token_hash.hex():
            # A new journey, even over an open one in this browser: the link says who is answering.
            progress = Progress(
                invitation=invited.token_hash.hex(),
                known=invited.known_pages(survey),
                district=invited.district,
                age_band=invited.age_band if survey.ask_about_you else None,
                sex=invited.sex if survey.ask_about_you else None,
            )
            progress.about_you_done = "about-you" in progress.known
            request.session[session_key(survey.id)] = progress.to_session()
        return invited_start(survey, progress, details_url(token))


def _not_found(*, gone: bool) -> Template:
    """The page for a link that does not work (404) or whose member's details were erased (410)."""
    context: dict[str, Any] = {"gone": gone}
    return Template("surveys/invitation_not_found.html", context=context, status_code=410 if gone else 404)
