"""JSON API v1 for staff: send a members survey's invitations and reminders."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from talking.invitations import services
from talking.invitations.schemas import InvitationRound, Invited, Reminded
from talking.openapi import BY_BODY, BY_ID, BY_TOKEN, STAFF_SECURITY, problems
from talking.params import RowId
from talking.settings import Settings
from talking.web.guards import current_principal, requires
from talking.web.people import client_ip


class InvitationController(Controller):
    """Invitations and reminders for members surveys. Bearer tokens act with their user's role (staff)."""

    path = "/api/v1/surveys/{survey_id:int}"
    tags: ClassVar[list[str]] = ["invitations"]
    security = STAFF_SECURITY
    guards: ClassVar = [requires("staff")]

    @post(
        "/invitations",
        summary="Invite the panel members who have no invitation yet",
        status_code=HTTP_201_CREATED,
        responses=problems(*BY_TOKEN, *BY_ID, *BY_BODY, 409),
        description=(
            "One invitation (and its email) per active member, not bouncing, in the survey's districts "
            "(or those given) who has none for this survey yet: sending again invites only new members. "
            "201 when some were invited, 200 with `invited: 0` when there was nobody new. Only for a "
            "published, open survey whose audience is `members` (else 409)."
        ),
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        data: JSONBody[InvitationRound | None] = None,
    ) -> Response[Invited]:
        """Send a round of invitations."""
        settings: Settings = request.app.state.settings
        invited = await services.send_invitations(
            db_session,
            survey_id,
            base_url=settings.base_url,
            secret_key=settings.secret_key,
            districts=data.districts if data else None,
            actor=current_principal(request),
            ip=client_ip(request),
        )
        return Response(Invited(invited), status_code=HTTP_201_CREATED if invited else HTTP_200_OK)

    @post(
        "/reminders",
        summary="Remind the invitees who have not answered",
        status_code=HTTP_200_OK,
        responses=problems(*BY_TOKEN, *BY_ID, 409),
        description=(
            f"One reminder to each invitee who has not answered, at most {services.MAX_REMINDERS} per "
            f"invitation and at least {services.REMINDER_GAP.days} days after the invitation or the last "
            "reminder (so pressing again the same day reminds nobody); never to members who have "
            "unsubscribed, been erased or whose address bounces."
        ),
    )
    async def remind(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Reminded:
        """Send a round of reminders."""
        settings: Settings = request.app.state.settings
        reminded = await services.send_reminders(
            db_session,
            survey_id,
            base_url=settings.base_url,
            secret_key=settings.secret_key,
            actor=current_principal(request),
            ip=client_ip(request),
        )
        return Reminded(reminded)
