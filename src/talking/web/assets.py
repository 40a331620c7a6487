"""The files under /assets/: any path that cannot name one of them is a 404, never a 500."""

from __future__ import annotations

from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo


class AssetFiles(BaseLocalFileSystem):
    """The local file system, answering "not found" for paths the operating system cannot even look up.

    Litestar's static files router turns FileNotFoundError into a 404 but lets anything else through
    as a 500: a NUL byte (``/assets/talking.css%00.png``: ValueError "embedded null byte"), a name
    too long for the file system (ENAMETOOLONG), a path through a file (ENOTDIR) and the like. None
    of these can be an asset, so they are all simply not found.
    """

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        """The file's details, or FileNotFoundError for any path that cannot be looked up."""
        try:
            return await super().info(path, **kwargs)
        except PermissionError:
            raise  # Litestar answers these itself (403): a real file we may not read
        except (ValueError, OSError) as exc:
            raise FileNotFoundError(str(path)[:200]) from exc
