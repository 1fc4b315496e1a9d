"""wirekit.http.forms: query strings, urlencoded and multipart bodies, from WSGI and from CGI,
parsed directly and through wirekit's HTTP server with urllib, http.client and curl."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.errors import MessageTooLarge, RemoteProtocolError
from wirekit.http.forms import (
    FormError,
    FormField,
    FormLimits,
    FormTooLarge,
    parse_cgi_form,
    parse_form,
    parse_query,
)

from .cgi_support import CURL, request

BOUNDARY = "----wirekitBoundary7MA4YWxk"


def multipart(*parts: tuple[str, str | None, bytes, str | None], boundary: str = BOUNDARY
              ) -> bytes:
    """(name, filename, content, content_type) -> a multipart/form-data body."""
    out = b""
    for name, filename, content, ctype in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def environ(body: bytes = b"", content_type: str = "", query: str = "",
            length: bool = True, stream: io.RawIOBase | None = None) -> dict:
    env = {"REQUEST_METHOD": "POST", "QUERY_STRING": query, "CONTENT_TYPE": content_type,
           "wsgi.input": stream if stream is not None else io.BytesIO(body)}
    if length:
        env["CONTENT_LENGTH"] = str(len(body))
    return env


MP = f"multipart/form-data; boundary={BOUNDARY}"
URLENC = "application/x-www-form-urlencoded"


# -- query strings and urlencoded bodies ---------------------------------------------------------

def test_semicolon_is_not_a_separator():
    form = parse_query("a=1;b=2&c=3")
    assert form.getvalue("a") == "1;b=2" and "b" not in form and form.getvalue("c") == "3"


def test_decoding_blanks_and_repeats():
    form = parse_query("name=David+Beazley&email=dave%40dabeaz.com&tag=a&tag=b&empty=&bare"
                       "&caf%C3%A9=%E2%82%AC&&")
    assert form.getvalue("name") == "David Beazley"
    assert form.getvalue("email") == "dave@dabeaz.com"
    assert form.getvalue("tag") == ["a", "b"]  # FieldStorage's list surprise, kept
    assert form.getfirst("tag") == "a" and form.getlist("tag") == ["a", "b"]
    assert form.getvalue("empty") == "" and form.getvalue("bare") == ""
    assert form.getvalue("café") == "€"
    assert form.getvalue("missing", "dflt") == "dflt" and form.getlist("missing") == []
    assert form.keys() == ["name", "email", "tag", "empty", "bare", "café"]
    assert form["tag"].value == "a" and len(form.getfields("tag")) == 2
    with pytest.raises(KeyError):
        form["missing"]


def test_bad_utf8_is_replaced_not_fatal():
    assert parse_query("x=%FF%FE").getvalue("x") == "\ufffd\ufffd"
    assert parse_query(b"x=%E9", encoding="latin-1").getvalue("x") == "é"


def test_urlencoded_body_and_query_together():
    form = parse_form(environ(b"name=Dave&x=2", URLENC, query="x=1"))
    assert form.getlist("x") == ["1", "2"] and form.getvalue("name") == "Dave"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=12)), max_size=8),
       st.integers(min_value=1, max_value=7))
def test_urlencoded_round_trip_in_any_split(pairs, step):
    encoded = urllib.parse.urlencode(pairs).encode()

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.data = io.BytesIO(encoded)

        def read(self, size=-1):
            return self.data.read(min(step, size) if size and size > 0 else step)

    form = parse_form(environ(encoded, URLENC, stream=Trickle()))
    assert [(f.name, f.value) for f in form.fields] == [
        (k.encode("utf-8", "replace").decode(), v.encode("utf-8", "replace").decode())
        for k, v in pairs]


# -- multipart -----------------------------------------------------------------------------------

def test_multipart_fields_and_files(tmp_path):
    body = multipart(("name", None, "Dave ✓".encode(), None),
                     ("upload", "notes.txt", b"line1\r\nline2\r\n--not-a-boundary", "text/plain"),
                     ("upload", "", b"", "application/octet-stream"),
                     ("latin", None, "é".encode("latin-1"), "text/plain; charset=latin-1"))
    with parse_form(environ(body, MP, query="q=1")) as form:
        assert form.getvalue("name") == "Dave ✓" and form.getvalue("q") == "1"
        upload = form["upload"]
        assert upload.is_file and upload.filename == "notes.txt"
        assert upload.content_type == "text/plain" and upload.size == 30
        assert upload.value == b"line1\r\nline2\r\n--not-a-boundary"
        # reading moves the file, as with cgi.FieldStorage: the chunk loop of the course ends
        assert upload.file.read(5) == b"line1" and upload.file.read(7) == b"\r\nline2"
        upload.file.seek(0)
        pieces = []
        while chunk := upload.file.read(4):
            pieces.append(chunk)
        assert b"".join(pieces) == upload.value  # .value reads from the start, leaves it there
        assert upload.file.tell() == 0
        assert upload.save(tmp_path / "saved") == 30
        assert (tmp_path / "saved").read_bytes() == upload.value
        assert [f.filename for f in form.files] == ["notes.txt", ""]
        assert form.getvalue("latin") == "é"
        assert upload.headers["content-disposition"].startswith("form-data")
        spool = upload.file
    assert spool.closed


def test_html_escapes_in_names_and_unsafe_filenames():
    body = multipart(('a%22b', "../../etc/pa%22sswd", b"x", None),
                     ("w", "C:\\Users\\me\\..\\evil.exe", b"y", None),
                     ("d", "..", b"z", None))
    form = parse_form(environ(body, MP))
    field = form['a"b']
    assert field.filename == '../../etc/pa"sswd' and field.safe_filename == 'pa"sswd'
    assert form["w"].safe_filename == "evil.exe"
    assert form["d"].safe_filename == "upload"
    assert FormField("plain", "v").safe_filename is None


def test_uploads_spool_to_disk_past_the_threshold(tmp_path):
    body = multipart(("small", "s.bin", b"s" * 100, None), ("big", "b.bin", b"b" * 5000, None))
    form = parse_form(environ(body, MP), spool_threshold=1000, upload_dir=str(tmp_path))
    assert not form["small"].file._rolled and form["big"].file._rolled
    assert form["big"].value == b"b" * 5000
    form.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=40))
def test_multipart_result_does_not_depend_on_read_sizes(sizes):
    body = multipart(("a", None, b"alpha", None), ("f", "x.bin", bytes(range(256)) * 3, None),
                     ("b", None, b"\r\n--", None))
    reads = iter(sizes)

    class Ragged(io.RawIOBase):
        def __init__(self) -> None:
            self.data = io.BytesIO(body)

        def read(self, size=-1):
            return self.data.read(min(size, next(reads, 4096)))

    with parse_form(environ(body, MP, stream=Ragged())) as form:
        assert form.getvalue("a") == "alpha" and form.getvalue("b") == "\r\n--"
        assert form["f"].value == bytes(range(256)) * 3


@pytest.mark.parametrize(("body", "ctype", "status"), [
    (b"--X\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n", "multipart/form-data; "
     "boundary=X", 400),  # no closing boundary
    (b"junk before --X", "multipart/form-data; boundary=X", 400),
    (b"--X\r\nContent-Type: text/plain\r\n\r\nv\r\n--X--\r\n",
     "multipart/form-data; boundary=X", 400),  # no Content-Disposition
    (b"--X\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--X--\r\n",
     "multipart/form-data; boundary=X", 400),
    (b"", "multipart/form-data", 400),  # no boundary
    (b"", "multipart/form-data; boundary=" + "x" * 71, 400),
])
def test_malformed_multipart_is_a_400(body, ctype, status):
    with pytest.raises(FormError) as caught:
        parse_form(environ(body, ctype))
    assert caught.value.status == status and isinstance(caught.value, RemoteProtocolError)


def test_truncated_body_is_a_400():
    env = environ(b"a=1", URLENC)
    env["CONTENT_LENGTH"] = "10"
    with pytest.raises(FormError, match="3 of 10"):
        parse_form(env)


def test_other_content_types_leave_the_body_unread():
    env = environ(b'{"a": 1}', "application/json", query="q=1")
    form = parse_form(env)
    assert form.keys() == ["q"] and env["wsgi.input"].read() == b'{"a": 1}'


def test_result_is_cached_in_the_environ():
    env = environ(b"a=1", URLENC)
    assert parse_form(env) is parse_form(env)


def test_chunked_input_without_length_needs_terminated_input():
    env = environ(b"a=1", URLENC, length=False)
    env["HTTP_TRANSFER_ENCODING"] = "chunked"
    with pytest.raises(FormError) as caught:
        parse_form(env)
    assert caught.value.status == 411
    env = environ(b"a=1", URLENC, length=False)
    env["wsgi.input_terminated"] = True
    assert parse_form(env).getvalue("a") == "1"


# -- limits (SECURITY.md P03) --------------------------------------------------------------------

@pytest.mark.parametrize(("env", "limit", "status"), [
    (lambda: environ(b"&".join(b"f%d=1" % i for i in range(10**5)), URLENC), "max_fields", 413),
    (lambda: environ(query="q=" + "x" * 10_000_000), "max_query", 414),
    (lambda: environ(multipart(*[("p", None, b"v", None)] * 10**4), MP), "max_fields", 413),
    (lambda: environ(b"a=" + b"x" * (1 << 20), URLENC), "max_field_size", 413),
    (lambda: environ(multipart(("a", None, b"x" * (1 << 20 | 1), None)), MP), "max_field_size",
     413),
    (lambda: environ(multipart(*[("f", "x", b"", None)] * 101), MP), "max_files", 413),
    (lambda: environ(multipart(*[("a", None, b"x" * 1000000, None)] * 11), MP), "max_memory",
     413),
    (lambda: environ(b"x" * (65 << 20), MP), "max_body", 413),
])
def test_limits_have_the_right_status(env, limit, status):
    with pytest.raises(FormTooLarge) as caught:
        parse_form(env())
    assert (caught.value.limit, caught.value.status) == (limit, status)
    assert isinstance(caught.value, MessageTooLarge) and isinstance(caught.value, FormError)


def test_part_header_limit():
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=a\r\nX-Pad: {'p' * 9000}"
            f"\r\n\r\nv\r\n--{BOUNDARY}--\r\n").encode()
    with pytest.raises(FormTooLarge) as caught:
        parse_form(environ(body, MP))
    assert caught.value.limit == "max_part_header"


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_fields"):
        FormLimits(max_fields=0)
    form = parse_form(environ(b"&".join(b"f=1" for _ in range(3000)), URLENC), max_fields=5000)
    assert len(form.getlist("f")) == 3000


# -- from a CGI script's environment -------------------------------------------------------------

def test_parse_cgi_form_with_explicit_environment():
    body = b"name=Dave&email=dave%40dabeaz.com"
    env = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": URLENC, "CONTENT_LENGTH": str(len(body)),
           "QUERY_STRING": "src=course"}
    form = parse_cgi_form(env, io.BytesIO(body + b"EXTRA BYTES NEVER READ"))
    assert (form.getvalue("name"), form.getvalue("email"), form.getvalue("src")) == (
        "Dave", "dave@dabeaz.com", "course")
    with pytest.raises(FormTooLarge) as caught:
        parse_cgi_form({"QUERY_STRING": "q=" + "x" * 10_000_000}, io.BytesIO())
    assert caught.value.status == 414
    assert parse_cgi_form({}, io.BytesIO(b"ignored")).keys() == []  # no CONTENT_LENGTH: no body


def test_parse_cgi_form_reads_the_process_environment_by_default(tmp_path):
    script = ("from wirekit.http.forms import parse_cgi_form\n"
              "form = parse_cgi_form()\n"
              "print(form.getvalue('name'), form.getvalue('q'))\n")
    env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "POST", "QUERY_STRING": "q=%E2%9C%93",
           "CONTENT_TYPE": URLENC, "CONTENT_LENGTH": "9"}
    out = subprocess.run([sys.executable, "-c", script], input=b"name=Davetrailing",
                         env=env, capture_output=True, check=True, cwd=tmp_path).stdout
    assert out.decode() == "Dave ✓\n"


# -- through the HTTP server ---------------------------------------------------------------------

def digest(field: FormField) -> dict:
    """Hash an upload in pieces, as an application should (``.value`` would load it whole)."""
    sha = hashlib.sha256()
    source = field.file
    while block := source.read(1 << 16):
        sha.update(block)
    return {"sha256": sha.hexdigest(), "size": field.size}


def form_echo(**limits):
    """A WSGI app answering with the parsed form as JSON, or the FormError status."""

    def app(environ, start_response):
        try:
            form = parse_form(environ, **limits)
        except FormError as exc:
            start_response(f"{exc.status} Error", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        with form:
            data = {name: [digest(f) if f.is_file else f.value for f in form.getfields(name)]
                    for name in form}
            data["_files"] = [[f.name, f.filename, f.content_type] for f in form.files]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(data).encode()]

    return app


def test_urlencoded_post_with_urllib(wsgi_server):
    url = wsgi_server(form_echo())
    data = urllib.parse.urlencode({"name": "Dave", "email": "dave@dabeaz.com"}).encode()
    with urllib.request.urlopen(url + "/subscribe?src=a;b", data=data) as response:
        got = json.loads(response.read())
    assert got == {"src": ["a;b"], "name": ["Dave"], "email": ["dave@dabeaz.com"], "_files": []}


def test_multipart_upload_with_curl(wsgi_server, tmp_path):
    payload = os.urandom(200_000)
    (tmp_path / "photo.jpg").write_bytes(payload)
    out = subprocess.run([CURL, "-s", "--max-time", "20", "-F", "name=Dave",
                          "-F", f"photo=@{tmp_path / 'photo.jpg'};type=image/jpeg",
                          wsgi_server(form_echo())], capture_output=True, check=True).stdout
    got = json.loads(out)
    assert got["name"] == ["Dave"]
    assert got["photo"] == [{"sha256": hashlib.sha256(payload).hexdigest(), "size": 200_000}]
    assert got["_files"] == [["photo", "photo.jpg", "image/jpeg"]]


def test_chunked_multipart_upload(wsgi_server):
    body = multipart(("a", None, b"1", None), ("f", "f.txt", b"hello" * 1000, None))
    reply = request(wsgi_server(form_echo()), "/", method="POST", body=iter([body[:100],
                    body[100:]]), headers={"Content-Type": MP, "Transfer-Encoding": "chunked"})
    assert reply.status == 200 and reply.json()["a"] == ["1"]


def test_limits_give_4xx_through_the_server(wsgi_server):
    url = wsgi_server(form_echo())
    many = b"&".join(b"f%d=1" % i for i in range(10**5))
    reply = request(url, "/", method="POST", body=many, headers={"Content-Type": URLENC})
    assert reply.status == 413
    parts = multipart(*[("p", None, b"v", None)] * 10**4)
    assert request(url, "/", method="POST", body=parts,
                   headers={"Content-Type": MP}).status == 413
    # A long query stops at the server's request-line limit (8190) before the form limit.
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url + "/?q=" + "x" * 9000)
    assert caught.value.code == 414


@pytest.mark.slow
def test_50_mib_upload_with_flat_memory(wsgi_server, tmp_path):
    import tracemalloc

    from wirekit.config import Limits

    size = 50 << 20
    upload = tmp_path / "big.bin"
    with open(upload, "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(50):
            out.write(block)
    expected = hashlib.sha256(upload.read_bytes()).hexdigest()
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    app = form_echo(max_body=size + (1 << 20), upload_dir=str(spool_dir))
    url = wsgi_server(app, limits=Limits(max_body=size + (1 << 20)))
    tracemalloc.start()
    try:
        out = subprocess.run([CURL, "-s", "--max-time", "60", "-F", f"file=@{upload}", url],
                             capture_output=True, check=True).stdout
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    got = json.loads(out)
    assert got["file"] == [{"sha256": expected, "size": size}]
    assert peak < 8 << 20, f"peak {peak} bytes while parsing a {size}-byte upload"
    assert list(spool_dir.iterdir()) == []  # anonymous spool files, gone when closed
