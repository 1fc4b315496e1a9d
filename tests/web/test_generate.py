"""``wirekit.web.build``: pages, layouts, data, rows, copies, and every error it names."""

from __future__ import annotations

import os
import stat

import pytest

from wirekit import ConfigError
from wirekit.web import BuildReport, TemplateError, build

from .conftest import LAYOUT


def test_the_course_example_a_common_template_around_every_page(site, tmp_path):
    """Slides 4-15/4-16: one template.html with $content, applied to every page."""
    src = site({"_layout.html": LAYOUT, "_data.json": '{"year": 2008}',
                "index.html": "<p>Welcome</p>\n", "index.json": '{"title": "Home"}',
                "about.html": "<p>About us</p>\n", "about.json": '{"title": "About"}'})
    report = build(src, tmp_path / "out")
    assert report.rendered == ("about.html", "index.html")
    home = (tmp_path / "out" / "index.html").read_text()
    assert home == LAYOUT.replace("$title", "Home").replace("$content", "<p>Welcome</p>") \
        .replace("$year", "2008")
    assert "<title>About</title>" in (tmp_path / "out" / "about.html").read_text()


def test_a_page_without_a_layout_is_rendered_alone(site, tmp_path):
    src = site({"page.html": "<h1>$title</h1>", "page.json": '{"title": "Alone"}'})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "page.html").read_text() == "<h1>Alone</h1>"


def test_page_values_override_site_values_and_deeper_site_values_win(site, tmp_path):
    src = site({"_data.json": '{"a": "top", "b": "top", "c": "top"}',
                "docs/_data.json": '{"b": "docs", "c": "docs"}',
                "docs/page.html": "$a $b $c", "docs/page.json": '{"c": "page"}',
                "index.html": "$a $b $c"})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "docs" / "page.html").read_text() == "top docs page"
    assert (tmp_path / "out" / "index.html").read_text() == "top top top"


def test_the_nearest_layout_wraps_a_page(site, tmp_path):
    src = site({"_layout.html": "TOP[$content]", "blog/_layout.html": "BLOG[$content]",
                "index.html": "i", "blog/post.html": "p", "blog/old/x.html": "x"})
    build(src, tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "index.html").read_text() == "TOP[i]"
    assert (out / "blog" / "post.html").read_text() == "BLOG[p]"
    assert (out / "blog" / "old" / "x.html").read_text() == "BLOG[x]"


def test_root_and_path_let_links_work_from_any_depth(site, tmp_path):
    src = site({"_layout.html": '<link href="${root}style.css"> $path|$content',
                "index.html": "i", "a/b/deep.html": "d"})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "index.html").read_text() == '<link href="style.css"> index.html|i'
    assert (tmp_path / "out" / "a" / "b" / "deep.html").read_text() == \
        '<link href="../../style.css"> a/b/deep.html|d'


def test_values_are_escaped_unless_their_name_ends_in_html(site, tmp_path):
    src = site({"page.html": "$title|$intro_html|$count_html",
                "page.json": '{"title": "<Tom & Jerry>", "intro_html": "<em>hi</em>", '
                             '"count_html": 3}'})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "page.html").read_text() == \
        "&lt;Tom &amp; Jerry&gt;|<em>hi</em>|3"


def test_csv_rows_through_a_row_template(site, tmp_path):
    src = site({"sales.html": "<table>\n<tr><th>Item</th><th>Qty</th></tr>\n$rows\n</table>\n",
                "sales.json": '{"unit": "kg"}',
                "sales.csv": "item,qty,note_html\nApples,3,<b>fresh</b>\n<Pears>,5,\n",
                "sales.row.html": "<tr><td>$item</td><td>$qty $unit</td><td>$note_html</td>"
                                  "</tr>\n"})
    report = build(src, tmp_path / "out")
    assert report.rendered == ("sales.html",)
    assert (tmp_path / "out" / "sales.html").read_text() == (
        "<table>\n<tr><th>Item</th><th>Qty</th></tr>\n"
        "<tr><td>Apples</td><td>3 kg</td><td><b>fresh</b></td></tr>\n"
        "<tr><td>&lt;Pears&gt;</td><td>5 kg</td><td></td></tr>\n</table>\n")
    assert sorted(os.listdir(tmp_path / "out")) == [".wirekit-build", "sales.html"]


def test_csv_rows_without_a_row_template_are_table_rows(site, tmp_path):
    src = site({"t.html": "<table>\n$rows\n</table>", "t.csv": "a,b\n1,<2>\n3\n"})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "t.html").read_text() == (
        "<table>\n<tr><td>1</td><td>&lt;2&gt;</td></tr>\n<tr><td>3</td><td></td></tr>\n</table>")


def test_an_empty_table_gives_no_rows(site, tmp_path):
    src = site({"t.html": "[$rows]", "t.csv": "a,b\n"})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "t.html").read_text() == "[]"


def test_other_files_are_copied_byte_for_byte_with_their_mode(site, tmp_path):
    logo = bytes(range(256)) * 40
    src = site({"index.html": "i", "img/logo.png": logo, "cgi-bin/hello.py": "print()\n",
                "feed.json": '{"no page": "beside it"}', "raw.csv": "a\n1\n",
                "notes.txt": "price: $5 and $name stay as written\n"})
    (src / "cgi-bin" / "hello.py").chmod(0o755)
    report = build(src, tmp_path / "out")
    out = tmp_path / "out"
    assert report.copied == ("cgi-bin/hello.py", "feed.json", "img/logo.png", "notes.txt",
                             "raw.csv")
    assert (out / "img" / "logo.png").read_bytes() == logo
    assert (out / "notes.txt").read_text() == "price: $5 and $name stay as written\n"
    assert stat.S_IMODE((out / "cgi-bin" / "hello.py").stat().st_mode) == 0o755


def test_inputs_and_hidden_files_are_not_copied(site, tmp_path):
    src = site({"_layout.html": "$content", "_data.json": "{}", "_drafts/wip.html": "$x",
                "_notes.txt": "n", ".git/config": "c", ".env": "SECRET=1", "p.html": "p",
                "p.json": "{}", "p.csv": "a\n", "p.row.html": "$a", "sub/.hidden.html": "h"})
    report = build(src, tmp_path / "out")
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*"))
    assert found == [".wirekit-build", "p.html"]
    assert report.written == ("p.html",) and report.skipped == ()


def test_htm_pages_and_utf8_with_a_byte_order_mark(site, tmp_path):
    src = site({"old.htm": b"\xef\xbb\xbf<p>caf\xc3\xa9 $x</p>\r\n",
                "old.json": '{"x": "\u00e9t\u00e9"}'})
    build(src, tmp_path / "out")
    assert (tmp_path / "out" / "old.htm").read_bytes() == "<p>café été</p>\r\n".encode()


def test_a_second_build_leaves_unchanged_files_alone(site, tmp_path):
    src = site({"index.html": "$v", "index.json": '{"v": 1}', "style.css": "a{}"})
    out = tmp_path / "out"
    build(src, out)
    os.utime(out / "index.html", ns=(1_000_000_000, 1_000_000_000))
    os.utime(out / "style.css", ns=(1_000_000_000, 1_000_000_000))
    again = build(src, out)
    assert (again.rendered, again.copied) == ((), ())
    assert again.unchanged == ("index.html", "style.css")
    assert (out / "index.html").stat().st_mtime_ns == 1_000_000_000  # not rewritten
    (src / "index.json").write_text('{"v": 2}')
    (src / "style.css").write_text("b{}")  # same size: compared by content, not size
    third = build(src, out)
    assert (third.rendered, third.copied) == (("index.html",), ("style.css",))
    assert (out / "index.html").read_text() == "2" and (out / "style.css").read_text() == "b{}"


def test_the_report_and_its_summary(site, tmp_path):
    src = site({"a.html": "a", "b.html": "b", "c.css": "c"})
    report = build(src, tmp_path / "out")
    assert isinstance(report, BuildReport)
    assert report.src == src and report.out == tmp_path / "out"
    assert report.written == ("a.html", "b.html", "c.css")
    assert report.summary() == "2 pages rendered, 1 file copied, 0 unchanged"


# -- errors ------------------------------------------------------------------------------------

def _error(src, out) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        build(src, out)
    return caught.value


def test_a_missing_variable_names_template_line_and_variable_and_writes_nothing(site, tmp_path):
    src = site({"a.html": "fine", "b.html": "<h1>$title</h1>\n<p>$bdy</p>\n",
                "b.json": '{"title": "T", "body": "typo above"}', "s.css": "x"})
    error = _error(src, tmp_path / "out")
    assert str(error) == f"{src}/b.html:2: no value for $bdy (set it in b.json or _data.json)"
    assert (error.name, error.line, error.path) == ("bdy", 2, src / "b.html")
    assert not (tmp_path / "out").exists()  # nothing written, not even a.html


def test_a_failed_rebuild_keeps_the_last_good_site(site, tmp_path):
    src = site({"a.html": "$v", "a.json": '{"v": "good"}'})
    build(src, tmp_path / "out")
    (src / "a.json").write_text('{"w": "typo"}')
    _error(src, tmp_path / "out")
    assert (tmp_path / "out" / "a.html").read_text() == "good"


def test_a_missing_variable_in_the_layout_names_the_layout(site, tmp_path):
    src = site({"_layout.html": "<title>$title</title>\n$content\n$footer", "p.html": "p",
                "p.json": '{"title": "t"}'})
    error = _error(src, tmp_path / "out")
    assert (error.path, error.line, error.name) == (src / "_layout.html", 3, "footer")


def test_a_missing_column_names_the_row_template_and_the_row(site, tmp_path):
    src = site({"t.html": "$rows", "t.csv": "name,price\na,1\nb,2\n",
                "t.row.html": "$name: $prize"})
    error = _error(src, tmp_path / "out")
    assert (error.path, error.line, error.name) == (src / "t.row.html", 1, "prize")
    assert "row 1 of t.csv has no such column" in str(error)


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"p.html": "$rows"}, "$rows are the rows of p.csv, and there is no such file"),
        ({"p.html": "$content"}, "$content is the page itself, set only in _layout.html"),
        ({"p.html": "a $5"}, "'$' followed by '5' starts no variable name; write $$"),
        ({"p.html": "$tags", "p.json": '{"tags": ["a"]}'}, "$tags is a list, not text"),
    ],
)
def test_each_template_mistake_is_explained(site, tmp_path, files, says):
    error = _error(site(files), tmp_path / "out")
    assert says in str(error) and error.line == 1


@pytest.mark.parametrize(
    ("files", "path", "line", "says"),
    [
        ({"p.html": "x", "p.json": '{\n"a": 1,\n}'}, "p.json", 3, "malformed JSON"),
        ({"p.html": "x", "p.json": '{"a": NaN}'}, "p.json", None, "NaN is not JSON"),
        ({"p.html": "x", "p.json": "[1, 2]"}, "p.json", None, "holds a JSON list"),
        ({"p.html": "x", "p.json": '{"rows": 1}'}, "p.json", None, "sets 'rows', which the"),
        ({"p.html": "x", "_data.json": '{"root": "/"}'}, "_data.json", None, "sets 'root'"),
        ({"p.html": "$rows", "p.csv": 'a,b\n1,"unclosed\n'}, "p.csv", 2, "malformed CSV"),
        ({"p.html": "$rows", "p.csv": "a\n1,2\n"}, "p.csv", 2, "row has 2 fields"),
        ({"p.html": b"ok\n\xff\xfe $x"}, "p.html", 2, "not UTF-8 text"),
        ({"p.html": "$rows", "p.csv": "a\n" + "x" * (1 << 20) + "y\n"}, "p.csv", None,
         "CSV line 2 is longer than 1048576 characters"),
        ({"p.html": "x", "q.row.html": "$a"}, "q.row.html", None, "a row template with no page"),
    ],
)
def test_bad_data_names_the_file_and_line(site, tmp_path, files, path, line, says):
    src = site(files)
    error = _error(src, tmp_path / "out")
    assert error.path == src / path and error.line == line and says in str(error), str(error)
    assert str(error).startswith(f"{src / path}{'' if line is None else f':{line}'}: ")


@pytest.mark.parametrize(
    ("src_name", "out_name", "says"),
    [
        ("site", "site", "is SRC itself"),
        ("site", "site/public", "is inside SRC"),
        ("site", "site/_build", "is inside SRC"),
        ("site", ".", "SRC site is inside OUT"),
        ("missing", "out", "does not exist"),
        ("site/a.html", "out", "is not a directory"),
        ("site", "site/a.html/x", "is inside SRC"),
        ("site", "file.txt", "is a file"),
    ],
)
def test_src_and_out_must_not_overlap(site, tmp_path, monkeypatch, src_name, out_name, says):
    site({"a.html": "a"})
    (tmp_path / "file.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ConfigError, match=says):
        build(src_name, out_name)
    assert sorted(tmp_path.rglob("*")) == before


def test_out_reached_through_a_symlink_into_src_is_refused(site, tmp_path):
    src = site({"a.html": "a"})
    (tmp_path / "sneaky").symlink_to(src / "inner", target_is_directory=True)
    with pytest.raises(ConfigError, match="inside SRC"):
        build(src, tmp_path / "sneaky")
