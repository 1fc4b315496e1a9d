"""``build(src, out)``: static page generation, slides 4-14..4-17, as one function.

The course renders each page through a common ``template.html`` whose ``$content`` is the
page (slide 4-16: ``pagetemplate.substitute(content=page)``), so that "to change the
appearance, you just change the template". Here the template is ``_layout.html``, the pages
are the ``.html`` files of SRC, and their values come from JSON and CSV files beside them
(:mod:`wirekit.web.plan` says which file is what, :mod:`wirekit.web.variables` which variable
comes from where, :mod:`wirekit.web.render` how a value is inserted).

A build runs in three steps, so that a mistake costs nothing:

1. **Plan**: list SRC, decide every page and copy (:func:`~wirekit.web.plan.plan_site`).
2. **Render every page in memory.** The first missing variable stops the build here, naming
   the template, the line and the variable, *before anything is written*: a site being served
   keeps its last good version while you fix the typo.
3. **Write** pages and copies into OUT (:mod:`wirekit.web.outdir`: never outside OUT, atomic,
   unchanged files untouched), then, with ``clean``, delete what the build did not make.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wirekit.errors import ConfigError
from wirekit.web.errors import BuildError, OutputError, TemplateError
from wirekit.web.outdir import MARKER, MARKER_TEXT, OutDir, check_cleanable
from wirekit.web.plan import Page, Plan, plan_site
from wirekit.web.render import HTML, Hint, render, text_of
from wirekit.web.variables import DataFiles

__all__ = ["BuildReport", "build"]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did. Paths are relative to OUT (or SRC for ``skipped``), POSIX style."""

    src: Path
    out: Path
    rendered: tuple[str, ...] = ()  # pages written
    copied: tuple[str, ...] = ()  # other files written
    unchanged: tuple[str, ...] = ()  # pages and files that already held the same bytes
    skipped: tuple[tuple[str, str], ...] = ()  # (path in SRC, why): symlinks out, FIFOs...
    removed: tuple[str, ...] = ()  # deleted by clean=True

    @property
    def written(self) -> tuple[str, ...]:
        """Every file written, pages and copies, sorted."""
        return tuple(sorted(self.rendered + self.copied))

    def summary(self) -> str:
        """One line: ``3 pages rendered, 2 files copied, 1 unchanged`` (+ skipped, removed)."""
        parts = [_count(len(self.rendered), "page") + " rendered",
                 _count(len(self.copied), "file") + " copied",
                 f"{len(self.unchanged)} unchanged"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def build(src: str | os.PathLike[str], out: str | os.PathLike[str], *,
          clean: bool = False) -> BuildReport:
    """Render every page of the folder ``src`` into ``out`` and copy the other files.

    ``clean`` also deletes the files in ``out`` that this build did not write (only in a
    folder a build made: see :mod:`wirekit.web.outdir`). Raises ``ConfigError`` for a bad
    SRC or OUT (OUT inside SRC, or the reverse), :class:`~wirekit.web.TemplateError` for a
    page that cannot be rendered (nothing is written then), :class:`~wirekit.web.OutputError`
    when OUT cannot be written.
    """
    shown = Path(src)
    root, target = _check(shown, Path(out))
    if clean:
        check_cleanable(target)
    plan = plan_site(root, shown)
    data = DataFiles(root, shown)
    pages = [(page.source, _render_page(page, root, shown, data)) for page in plan.pages]
    rendered, copied, unchanged, removed = _write(root, target, plan, pages, clean)
    return BuildReport(
        src=shown, out=Path(out), rendered=_posix(rendered), copied=_posix(copied),
        unchanged=_posix(unchanged), removed=_posix(removed),
        skipped=tuple((path.as_posix(), why) for path, why in plan.skipped))


def _write(root: Path, target: Path, plan: Plan, pages: list[tuple[Path, bytes]],
           clean: bool) -> tuple[list[Path], list[Path], list[Path], list[Path]]:
    """Write the pages and copies; (rendered, copied, unchanged, removed)."""
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the folder: {exc.strerror or exc}", path=target
                          ) from None
    outdir = OutDir(target)
    rendered: list[Path] = []
    copied: list[Path] = []
    unchanged: list[Path] = []
    for rel, body in pages:
        (rendered if outdir.write(rel, body) else unchanged).append(rel)
    for rel in plan.copies:
        (copied if outdir.copy(rel, root / rel) else unchanged).append(rel)
    outdir.write(Path(MARKER), MARKER_TEXT)
    removed = outdir.clean({rel for rel, _ in pages} | set(plan.copies)) if clean else []
    return rendered, copied, unchanged, removed


def _posix(paths: list[Path]) -> tuple[str, ...]:
    return tuple(sorted(path.as_posix() for path in paths))


def _check(src: Path, out: Path) -> tuple[Path, Path]:
    """SRC and OUT resolved, refusing a pair where one holds the other: OUT inside SRC would
    be read back as pages on the next build (and rebuild forever under --watch); SRC inside
    OUT could be overwritten by its own output, or deleted by --clean."""
    if not src.is_dir():
        raise ConfigError(f"SRC {src} is not a directory" if src.exists()
                          else f"SRC {src} does not exist")
    root, target = src.resolve(), out.resolve()
    if target == root:
        raise ConfigError(f"OUT {out} is SRC itself; build into another folder (e.g. public/)")
    if target.is_relative_to(root):
        raise ConfigError(f"OUT {out} is inside SRC {src}; the next build would read it back "
                          "as pages: put OUT beside SRC")
    if root.is_relative_to(target):
        raise ConfigError(f"SRC {src} is inside OUT {out}; the build could overwrite or "
                          "delete its own sources: put OUT beside SRC")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"OUT {out} is a file, not a directory")
    return root, target


def _read(root: Path, shown: Path, rel: Path) -> str:
    """A template's text. UTF-8 (a byte-order mark is dropped); line ends are kept."""
    try:
        raw = (root / rel).read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read: {exc.strerror or exc}", path=shown / rel) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise TemplateError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                            path=shown / rel, line=line) from None


def _chomp(text: str) -> str:
    """``text`` without its final line end: a file's last newline is the file's, not the
    value's, so ``$content`` and ``$rows`` on a line of their own add no blank line."""
    return text.removesuffix("\n").removesuffix("\r")


def _variables(page: Page, data: DataFiles) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for rel in page.site_data:
        variables.update(data.variables(rel))
    if page.data is not None:
        variables.update(data.variables(page.data))
    variables["root"] = "../" * (len(page.source.parts) - 1)
    variables["path"] = page.source.as_posix()
    return variables


def _page_hint(page: Page) -> Hint:
    stem = page.source.name.rsplit(".", 1)[0]

    def hint(name: str) -> str:
        if name == "rows":
            return f"$rows are the rows of {stem}.csv, and there is no such file beside the page"
        if name == "content":
            return "$content is the page itself, set only in _layout.html"
        return f"set it in {stem}.json or _data.json"
    return hint


def _render_page(page: Page, root: Path, shown: Path, data: DataFiles) -> bytes:
    """The page rendered (through its rows and its layout), as UTF-8 bytes."""
    variables = _variables(page, data)
    if page.table is not None:
        variables["rows"] = _rows(page, variables, root, shown, data)
    hint = _page_hint(page)
    body = render(_read(root, shown, page.source), variables, path=shown / page.source,
                  hint=hint)
    if page.layout is not None:
        wrapped = {**variables, "content": HTML(_chomp(body))}
        body = render(_read(root, shown, page.layout), wrapped, path=shown / page.layout,
                      hint=hint)
    return body.encode("utf-8")


def _rows(page: Page, variables: dict[str, Any], root: Path, shown: Path,
          data: DataFiles) -> HTML:
    """``$rows``: each CSV row through the row template, or as ``<tr><td>...`` without one."""
    assert page.table is not None
    records = data.records(page.table)
    if page.row_template is None:
        return HTML("\n".join("<tr>" + "".join(f"<td>{text_of(value)}</td>"
                                                for value in record.values()) + "</tr>"
                              for record in records))
    template = _chomp(_read(root, shown, page.row_template))
    stem = page.source.name.rsplit(".", 1)[0]
    return HTML("\n".join(
        render(template, {**variables, **record}, path=shown / page.row_template,
               hint=_row_hint(number, page.table.name, stem))
        for number, record in enumerate(records, 1)))


def _row_hint(number: int, table: str, stem: str) -> Hint:
    def hint(name: str) -> str:
        return (f"row {number} of {table} has no such column, and neither {stem}.json nor "
                "_data.json sets it")
    return hint
