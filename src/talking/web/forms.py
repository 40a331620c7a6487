"""Reading submitted forms and showing what was wrong with them."""

from __future__ import annotations

from litestar.datastructures import FormMultiDict

from talking.errors import FieldError


def form_text(form: FormMultiDict, name: str) -> str:
    """A single text field, or "" when it is missing or an uploaded file."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def field_messages(errors: list[FieldError]) -> dict[str, str]:
    """{field id: first message}, in the order the service found them."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(error.field, error.message)
    return found
