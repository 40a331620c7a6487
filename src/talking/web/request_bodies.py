"""What a request body must be before anything reads it: JSON as JSON, forms as UTF-8.

One Request class for the whole app (``Litestar(request_class=StrictRequest)``), so every JSON route
and every page form is held to the same rules without each handler remembering them. The
submission fast path (surveys/fast_submit.py) checks the same two functions, json_media_type_problem
and duplicate_key, and hands anything they refuse to Litestar, so both paths answer alike.

- JSON bodies must say ``Content-Type: application/json``: a web page can make its visitors'
  browsers send text/plain (or a form) anywhere without asking, but not application/json, which
  needs a CORS preflight this app never grants.
- JSON objects must not repeat a key: msgspec (like most decoders) silently keeps the last one, so
  ``{"district": "x", "district": "E07000123"}`` would mean whatever the last writer chose.
- JSON nested deeper than the decoder's recursion guard is a 400, not a RecursionError.
- URL-encoded forms must be UTF-8: Litestar decodes them with replacement characters, which would
  store U+FFFD where a resident typed something else. Multipart forms are refused (no page
  uploads files).
"""

from __future__ import annotations

import json
from email.message import Message
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.serialization import decode_json
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_415_UNSUPPORTED_MEDIA_TYPE

JSON_MEDIA_TYPE = "application/json"
# The largest body the app reads (Litestar's default is 10 MB). A resident's page form is under
# 20 KB even with a 2,000-character comment in a script that percent-encodes to 9 bytes a character.
MAX_BODY_BYTES = 64 * 1024
# A whole questionnaire definition at every limit (questionnaires/wording.py), in a non-Latin script.
MAX_DEFINITION_BODY_BYTES = 512 * 1024

# A route handler's ``opt`` key for the few pages that upload a file (multipart/form-data).
TAKES_UPLOADS = "takes_uploads"


class BodyRefused(HTTPException):
    """A request body refused before decoding; talking.problems turns it into problem details."""

    def __init__(self, status_code: int, detail: str, slug: str) -> None:
        super().__init__(detail=detail, status_code=status_code)
        self.slug = slug


@lru_cache(maxsize=256)
def json_media_type_problem(content_type: str | None) -> str | None:
    """Why a Content-Type header cannot carry a JSON body, or None when it can.

    application/json, in any letter case, with no charset or charset=utf-8 (RFC 8259 allows no
    other). Parsed by the standard library's MIME header parser (quoted parameters and all).
    Cached: clients send the same few headers over and over.
    """
    if not content_type:
        return f"Send the body with Content-Type: {JSON_MEDIA_TYPE}"
    header = Message()
    header["content-type"] = content_type
    # Message falls back to text/plain for a header it cannot read, which is refused below.
    if header.get_content_type() != JSON_MEDIA_TYPE:
        return f"Content-Type {content_type[:100]!r} is not accepted: send {JSON_MEDIA_TYPE}"
    charset = header.get_param("charset")
    if charset is not None and (not isinstance(charset, str) or charset.strip().lower() not in ("utf-8", "utf8")):
        return f"JSON must be UTF-8: send Content-Type: {JSON_MEDIA_TYPE} (charset utf-8 or none)"
    return None


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> None:
    """object_pairs_hook: raise on the first key an object repeats."""
    if len(pairs) > 1:
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)


class _RepeatedKey(ValueError):
    pass


def _nothing(_text: str) -> None:
    """Numbers do not matter to the duplicate check: skip converting them."""


# The standard library's decoder is the one that hands each object's pairs over in order; msgspec
# and Litestar keep only the last value of a repeated key and cannot tell.
_PAIRS = json.JSONDecoder(object_pairs_hook=_refuse_repeats, parse_int=_nothing, parse_float=_nothing)  # type: ignore[arg-type]


def duplicate_key(body: bytes) -> str | None:
    """The first key some object in this JSON repeats, or None.

    Only for a body msgspec has already decoded: it is then valid UTF-8 JSON of bounded depth.
    A body with no string written twice has no key written twice, which is quick to see when no
    escape is used: every quote then opens or closes a string, so the strings are every other piece
    between quotes. Most answers pass there (under 1 microsecond); any other body is read by the
    standard library's decoder (2-5 microseconds for a resident's response).
    """
    if b"\\" not in body:
        strings = body.split(b'"')[1::2]
        if len(set(strings)) == len(strings):
            return None
    try:
        _PAIRS.decode(body.decode("utf-8"))
    except _RepeatedKey as repeated:
        return str(repeated.args[0])
    except (ValueError, RecursionError):
        # Never a 500 from a second opinion: msgspec has judged the JSON, and nothing this deep
        # fits any of our schemas, which refuse it next.
        return None
    return None


def duplicate_key_refusal(key: str) -> BodyRefused:
    """The 400 for a JSON object that repeats a key."""
    return BodyRefused(
        HTTP_400_BAD_REQUEST,
        f"The key {key[:100]!r} appears more than once in one JSON object: send each key once",
        slug="duplicate-json-key",
    )


def media_type_refusal(problem: str) -> BodyRefused:
    """The 415 for a body that is not application/json, naming what is accepted."""
    return BodyRefused(HTTP_415_UNSUPPORTED_MEDIA_TYPE, problem, slug="unsupported-media-type")


def content_type_problem(request: Request[Any, Any, Any]) -> str | None:
    """Why this request's Content-Type header(s) cannot carry a JSON body, or None when it can."""
    values = request.headers.getall("content-type", [])
    if len(values) > 1:
        return f"Send one Content-Type header: {JSON_MEDIA_TYPE}"
    return json_media_type_problem(values[0] if values else None)


class StrictRequest(Request[Any, Any, Any]):
    """Litestar's Request, refusing JSON that is not sent as JSON, repeats keys or nests too deep,
    and forms that are not UTF-8."""

    async def json(self) -> Any:
        """The body as JSON, or a 400/415 problem (Litestar's own 400 for malformed JSON)."""
        if (problem := content_type_problem(self)) is not None:
            raise media_type_refusal(problem)
        body = await self.body()
        try:
            value = decode_json(body or b"null", type_decoders=self.route_handler.resolve_type_decoders())
        except RecursionError:
            raise BodyRefused(
                HTTP_400_BAD_REQUEST, "The JSON is nested too deeply to be a request", slug="json-too-deep"
            ) from None
        if body and (key := duplicate_key(body)) is not None:
            raise duplicate_key_refusal(key)
        return value

    async def form(self) -> FormMultiDict:
        """The form, once its URL-encoded body is known to be UTF-8 (a 400 otherwise; multipart a 415)."""
        content_type, _options = self.content_type
        if content_type == RequestEncodingType.MULTI_PART and not self.scope["route_handler"].opt.get(TAKES_UPLOADS):
            # Only a route that says it takes files takes multipart: elsewhere it is a doctored form,
            # and its parser would take text that is not UTF-8 as replacement characters.
            raise BodyRefused(
                HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"Send the form as {RequestEncodingType.URL_ENCODED.value}",
                slug="unsupported-media-type",
            )
        if content_type == RequestEncodingType.URL_ENCODED:
            body = await self.body()
            try:
                unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                raise BodyRefused(
                    HTTP_400_BAD_REQUEST,
                    "The form could not be read: it was not sent as UTF-8 text",
                    slug="form-not-utf-8",
                ) from None
            return await super().form()
        try:
            # An upload's text fields are decoded as UTF-8 by Litestar's parser, which raises on anything else.
            return await super().form()
        except UnicodeDecodeError:
            raise BodyRefused(
                HTTP_400_BAD_REQUEST,
                "The form could not be read: its text was not sent as UTF-8",
                slug="form-not-utf-8",
            ) from None
