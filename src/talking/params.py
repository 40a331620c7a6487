"""Path parameters shared by every controller.

Row ids are 32-bit integers on PostgreSQL (SQLite takes 64): a larger number in a path names
nothing, and passing it to the database fails with an overflow instead of "not found". Every
route declares its ids with `RowId`, so such a request gets a clear 422 naming the parameter and its limit.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

MAX_ROW_ID = 2**31 - 1

RowId = Annotated[int, PathParameter(ge=1, le=MAX_ROW_ID, description="a positive id")]
