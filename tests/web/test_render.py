"""The substitution of one template, pure: string.Template's syntax, escaping, errors with lines."""

from __future__ import annotations

import string

import pytest

from wirekit import WirekitError
from wirekit.web import BuildError, TemplateError
from wirekit.web.render import HTML, render


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$name", "Ada"),
        ("${name}", "Ada"),
        ("${name}s", "Adas"),
        ("$name.", "Ada."),
        ("$$", "$"),
        ("$$name", "$name"),
        ("costs $$5", "costs $5"),
        ("no placeholders", "no placeholders"),
        ("$a_1 and $_b", "x and y"),
    ],
)
def test_the_course_syntax_is_string_templates(text, expected):
    variables = {"name": "Ada", "a_1": "x", "_b": "y"}
    assert render(text, variables, path="t.html") == expected
    assert string.Template(text).substitute(variables) == expected  # the course's own call


def test_values_are_escaped_for_text_and_attributes():
    value = """<script>alert("x")</script> & 'q'"""
    assert render('<a title="$v">$v</a>', {"v": value}, path="t.html") == (
        '<a title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;">'
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;</a>")


def test_html_values_go_in_unescaped():
    assert render("<p>$v</p>", {"v": HTML("<b>bold</b>")}, path="t.html") == "<p><b>bold</b></p>"


@pytest.mark.parametrize(("value", "shown"),
                         [(True, "true"), (False, "false"), (None, ""), (3, "3"), (2.5, "2.5"),
                          (0, "0")])
def test_json_scalars_are_written_as_json_spells_them(value, shown):
    assert render("[$v]", {"v": value}, path="t.html") == f"[{shown}]"


def test_a_missing_variable_names_the_template_the_line_and_the_name():
    text = "<html>\n<title>$title</title>\n<body>\n  $body\n</body>"
    with pytest.raises(TemplateError) as caught:
        render(text, {"title": "T"}, path="site/index.html",
               hint=lambda name: f"set it in index.json ({name})")
    error = caught.value
    assert str(error) == "site/index.html:4: no value for $body (set it in index.json (body))"
    assert (error.name, error.line, str(error.path)) == ("body", 4, "site/index.html")
    assert isinstance(error, BuildError) and isinstance(error, WirekitError)
    assert isinstance(error, ValueError)


def test_lines_are_counted_with_crlf_and_braced_names():
    text = "a\r\nb\r\n\r\nx ${late}"
    with pytest.raises(TemplateError) as caught:
        render(text, {}, path="p.html")
    assert caught.value.line == 4 and caught.value.name == "late"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("total: $5", 1, "'$' followed by '5'"),
        ("x\n$(document)", 2, "'$' followed by '('"),
        ("${not a name}", 1, "'${' without a valid name"),
        ("${unclosed", 1, "'${' without a valid name"),
        ("a\nb\nends with $", 3, "followed by the end of the file"),
    ],
)
def test_a_dollar_that_starts_no_name_is_an_error_with_its_line(text, line, says):
    with pytest.raises(TemplateError) as caught:
        render(text, {}, path="p.html")
    assert caught.value.line == line
    assert says in str(caught.value) and "write $$ for a dollar sign" in str(caught.value)
    with pytest.raises(ValueError, match="Invalid placeholder"):
        string.Template(text).substitute({})  # the course's call refuses the same text


@pytest.mark.parametrize(("value", "kind"), [([1, 2], "list"), ({"a": 1}, "JSON object")])
def test_a_list_or_object_is_not_text(value, kind):
    with pytest.raises(TemplateError, match=rf"p.html:2: \$v is a {kind}, not text"):
        render("\n$v", {"v": value}, path="p.html")
