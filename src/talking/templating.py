"""Jinja set-up: our templates first, then govuk-frontend-jinja's under ``govuk_frontend_jinja/``.

The prefix is the package's own name because its templates import each other by it
(``{% from "govuk_frontend_jinja/components/..." import ... %}``).

Rendering GOV.UK macros was most of a page's CPU. Each ``govuk*`` macro is a pure function of its
``params`` (no context, no globals that change, no side effects), so the environment remembers
each call's HTML by its arguments: the district radios or the issue checkboxes of a survey, with
the boxes the resident ticked and any error message, are rendered once and then reused. The key
is the arguments themselves (every label, code, hint, checked flag and message), so a changed
survey definition or answer simply makes a new key: there is nothing to invalidate. Calls that
cannot be keyed soundly (a ``{% call %}`` block, an argument that is not plain data) render as
before. The cache is bounded (least recently used entries go first).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import secrets
from collections import ChainMap, OrderedDict
from collections.abc import Iterable, MutableMapping
from importlib import resources
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

import msgspec
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    Template,
    Undefined,
    select_autoescape,
)
from jinja2.runtime import Macro
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template as TemplateResponse
from litestar.response.base import ASGIResponse
from litestar.template.config import TemplateConfig
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from talking.maps import district_map
from talking.web.times import london_time

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.datastructures import Cookie
    from litestar.types import TypeEncodersMap


def templates_dir() -> Path:
    """Our templates: inside the installed wheel if present, else the repository's ``templates/``."""
    packaged = Path(str(resources.files("talking"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


# --- remembering GOV.UK macro output ------------------------------------------------------------------


def _pure_macro_folders() -> tuple[str, ...]:
    """Where the templates whose exported ``govuk*`` macros are pure functions of their arguments live."""
    package = Path(str(resources.files("govuk_frontend_jinja"))) / "templates"
    return tuple(str(package / folder) + os.sep for folder in ("components", "macros"))


_PURE_MACRO_FOLDERS = _pure_macro_folders()


class HtmlCache:
    """Rendered HTML (of macros, or of whole pages) by key; least recently used entries are dropped first."""

    def __init__(self, max_entries: int = 2048, max_chars: int = 2_000_000) -> None:
        self.max_entries, self.max_chars = max_entries, max_chars
        self._entries: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._chars = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> str | None:
        """The HTML remembered under ``key``, or None."""
        value = self._entries.get(key)
        if value is not None:
            self.hits += 1
            with contextlib.suppress(KeyError):  # dropped meanwhile by another thread: no matter
                self._entries.move_to_end(key)
        return value

    def put(self, key: tuple[Any, ...], value: str) -> None:
        """Remember ``value``; a result too big to be worth its room is not kept."""
        self.misses += 1
        if len(value) > self.max_chars // 64 or key in self._entries:
            return
        self._entries[key] = value
        self._chars += len(value)
        while len(self._entries) > self.max_entries or self._chars > self.max_chars:
            _key, dropped = self._entries.popitem(last=False)
            self._chars -= len(dropped)


class _Unkeyable(Exception):
    """An argument that is not plain data: the call cannot be remembered soundly."""


# Tags that keep values of different types apart in a key: "1", Markup("1"), 1, 1.0 and True all
# render differently, but some of them compare equal.
_DICT, _LIST, _TUPLE, _MARKUP, _UNDEFINED = (object() for _ in range(5))


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a macro argument that equals another only if the two render alike."""
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        return (_DICT, *[(key if type(key) is str else _frozen(key), _frozen(item)) for key, item in value.items()])
    if kind is list:
        return (_LIST, *[_frozen(item) for item in value])
    if kind is Markup:
        return (_MARKUP, str(value))
    if value is None or kind is bool or kind is int:
        return (kind, value)
    if kind is float:
        return (kind, repr(value))  # 0.0 == -0.0, but they print differently
    if kind is tuple:
        return (_TUPLE, *[_frozen(item) for item in value])
    if kind is Undefined:
        # A missing parameter: every plain Undefined renders alike (nothing) and tests alike (falsy).
        return _UNDEFINED
    raise _Unkeyable(kind.__name__)


class RememberedMacro:
    """A GOV.UK macro whose output is looked up by its arguments before it is rendered."""

    __slots__ = ("_cache", "_code", "_macro")
    # Jinja asks every callable whether it wants the context passed in; a macro does not. (Without
    # this, each call would ask the wrapped macro, and fail, through __getattr__.)
    jinja_pass_arg = None

    def __init__(self, macro: Macro, cache: HtmlCache) -> None:
        self._macro = macro
        self._code: CodeType = macro._func.__code__  # the same for every import of this macro
        self._cache = cache

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The macro's HTML for these arguments; a ``{% call %}`` (a caller) is never remembered."""
        if kwargs:
            return self._macro(*args, **kwargs)
        try:
            key = (self._code, *[_frozen(arg) for arg in args])
        except _Unkeyable:
            return self._macro(*args)
        html = self._cache.get(key)
        if html is None:
            html = self._macro(*args)
            if isinstance(html, str):
                self._cache.put(key, html)
        return html

    def __getattr__(self, name: str) -> Any:
        return getattr(self._macro, name)


class _RememberingTemplate(Template):
    """Templates whose GOV.UK macros, once imported, remember their output (see the module notes)."""

    def make_module(
        self,
        vars: dict[str, Any] | None = None,  # Jinja's own parameter names
        shared: bool = False,
        locals: MutableMapping[str, Any] | None = None,
    ) -> Any:
        """The template as a module; its exported ``govuk*`` macros wrapped."""
        module = super().make_module(vars, shared, locals)
        cache: HtmlCache | None = getattr(self.environment, "macro_cache", None)
        # By file, not name: PrefixLoader hands the package's loader (and so the template) the name without its prefix.
        if cache is not None and self.filename and self.filename.startswith(_PURE_MACRO_FOLDERS):
            for name, value in list(module.__dict__.items()):
                if type(value) is Macro and name.startswith("govuk"):
                    setattr(module, name, RememberedMacro(value, cache))
        return module

    def _get_default_module(self, ctx: Any = None) -> Any:
        """Jinja's, with its check on every import done at C speed.

        Jinja makes a fresh module when the importing context has globals this template lacks; it
        asks by iterating a ChainMap's KeysView in Python, a measurable share of each page. The same
        question asked of the ChainMap's dicts: when the answer is "none", pass no context (Jinja
        then returns its cached module, as it would have); otherwise let Jinja do as before.
        """
        if (
            ctx is not None
            and isinstance(self.globals, ChainMap)
            and not ctx.globals_keys.difference(*self.globals.maps)
        ):
            ctx = None
        return super()._get_default_module(ctx)


def jinja_environment(template_dir: Path | None = None) -> Environment:
    """The Jinja environment every page renders with."""
    environment = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(template_dir or templates_dir()),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.template_class = _RememberingTemplate
    environment.macro_cache = HtmlCache()  # type: ignore[attr-defined]
    environment.page_cache = HtmlCache(max_entries=512, max_chars=8_000_000)  # type: ignore[attr-defined]
    environment.filters["london_time"] = london_time
    environment.globals["build_district_map"] = district_map  # for templates/maps/_map.html
    return environment


def template_config(template_dir: Path | None = None) -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template config over our Jinja environment."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja_environment(template_dir)))


# --- remembering whole pages --------------------------------------------------------------------------

# Stand-ins rendered into a remembered page, replaced in each response by its own nonce and CSRF
# token. Random per process, so no survey text can contain them by chance.
_NONCE = "nonce" + secrets.token_hex(16)
_TOKEN = "token" + secrets.token_hex(16)
_TEXT = "text" + secrets.token_hex(16)  # then a number and "x", so that text1x is not inside text12x


class RememberedPage(TemplateResponse):
    """A page response whose HTML is remembered by its template, status and context.

    For the pages that are the same for everyone who arrives at them (a survey's start page, a
    question not yet answered): most residents see exactly those. The context is the key (encoded
    with msgpack: every survey text, option and flag in it), so a changed survey makes a new key.
    Each response still gets its own CSP nonce and CSRF token: the page is rendered once with
    stand-ins for them, and they are put in on the way out. A member of staff's page (it has their
    menu) and a context that cannot be encoded are rendered as an ordinary Template.

    ``text`` names context values that differ for every response but only ever appear as plain,
    escaped text (the confirmation page's reference): they are stand-ins too, so the page is
    remembered once and each response gets its own value, escaped as Jinja escapes it.
    """

    def __init__(self, *args: Any, text: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.text = tuple(text)

    def to_asgi_response(
        self,
        app: Litestar | None,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        """Litestar's Template response, with the body from the page cache when it can be."""
        body = self._remembered_body(request)
        if body is None:
            return super().to_asgi_response(
                app,
                request,
                background=background,
                cookies=cookies,
                encoded_headers=encoded_headers,
                headers=headers,
                is_head_response=is_head_response,
                media_type=media_type,
                status_code=status_code,
                type_encoders=type_encoders,
            )
        # As Template.to_asgi_response builds its response (our templates are all HTML).
        return ASGIResponse(
            background=self.background or background,
            body=body,
            content_length=None,
            cookies=self.cookies if cookies is None else itertools.chain(self.cookies, cookies),
            encoded_headers=encoded_headers,
            encoding=self.encoding,
            headers={**headers, **self.headers} if headers is not None else self.headers,
            is_head_response=is_head_response,
            media_type=self.media_type or media_type or MediaType.HTML,
            status_code=self.status_code or status_code,
        )

    def _remembered_body(self, request: Request[Any, Any, Any]) -> bytes | None:
        """The page's bytes for this response, or None to render it as a plain Template."""
        environment = request.app.template_engine.engine  # type: ignore[union-attr]
        cache: HtmlCache | None = getattr(environment, "page_cache", None)
        nonce = request.scope.get("state", {}).get("csp_nonce")
        if cache is None or not nonce or request.scope.get("user") is not None or not self.template_name:
            return None
        stand_ins = {name: f"{_TEXT}{n}x" for n, name in enumerate(self.text)}
        keyed = {**self.context, **stand_ins}
        try:
            # A digest of the context, not the context: keys then cost the cache no room.
            key = (self.template_name, self.status_code, hashlib.blake2b(_encode_key(keyed), digest_size=16).digest())
        except (TypeError, msgspec.EncodeError):
            return None
        html = cache.get(key)
        if html is None:
            context = {
                **keyed,
                "request": request,
                "csp_nonce": _NONCE,
                "csrf_input": f'<input type="hidden" name="_csrf_token" value="{_TOKEN}" />',
            }
            html = environment.get_template(self.template_name).render(context)
            cache.put(key, html)
        token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")  # as Template does
        html = html.replace(_NONCE, nonce).replace(_TOKEN, escape(token))
        for name, stand_in in stand_ins.items():
            html = html.replace(stand_in, escape(str(self.context[name])))
        return html.encode(self.encoding)


_encode_key = msgspec.msgpack.Encoder().encode
