"""SECURITY.md X01-X05 against every XML entry point, with the shared defusedxml corpus."""

from __future__ import annotations

import contextlib
import io
import itertools
import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import defusedxml
import defusedxml.ElementTree
import pytest

from wirekit.data import (
    ContentHandler,
    DTDForbidden,
    EntitiesForbidden,
    ExternalDTDForbidden,
    ExternalReferenceForbidden,
    ParameterEntitiesForbidden,
    ParseError,
    XMLForbidden,
    XMLPolicy,
    fromstring,
    iterparse,
    parse,
    sax_parse,
    sax_parse_string,
    xmlguard,
    xmlsax,
    xmlstream,
)
from wirekit.errors import MessageTooLarge

# What each corpus file must raise (None: a harmless control that must parse).
EXPECTED: dict[str, type[Exception] | None] = {
    "xmlbomb.xml": EntitiesForbidden,  # billion laughs
    "xmlbomb2.xml": EntitiesForbidden,
    "quadratic.xml": EntitiesForbidden,  # quadratic blowup
    "cyclic.xml": EntitiesForbidden,
    "external.xml": ExternalReferenceForbidden,  # XXE over http
    "external_file.xml": ExternalReferenceForbidden,  # XXE of a local file
    "dtd.xml": ExternalDTDForbidden,  # external DTD
    "dtd_element.xml": None,  # an internal DTD without entities is harmless
    "simple.xml": None,
    "simple-ns.xml": None,
}


def _sax(data: bytes, **kw: object) -> None:
    sax_parse(io.BytesIO(data), ContentHandler(), **kw)  # type: ignore[arg-type]


def _chunks(data: bytes, size: int = 1024) -> Iterator[bytes]:
    return (data[i:i + size] for i in range(0, len(data), size))


ENTRY_POINTS: dict[str, Callable[..., object]] = {
    "fromstring": fromstring,
    "parse": lambda data, **kw: parse(io.BytesIO(data), **kw),
    "iterparse": lambda data, **kw: list(iterparse(_chunks(data, 16), "x", **kw)),
    "sax_parse": _sax,
    "sax_parse_string": lambda data, **kw: sax_parse_string(data, ContentHandler(), **kw),
}


def _rewritten(path: Path, url: str) -> bytes:
    """The file with its URLs (and local paths) pointed at the test's own listener."""
    data = path.read_bytes()
    for old in (b"http://www.w3schools.com/xml/note.xml",
                b"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd",
                b"file:///PATH/TO/xmltestdata/simple.xml"):
        data = data.replace(old, url.encode() + b"/x")
    return data


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_corpus_file_is_refused_with_its_named_error(attacks, trap, name, entry):
    data = _rewritten(attacks / name, trap.url)
    expected = EXPECTED[name]
    started = time.process_time()
    if expected is None:
        ENTRY_POINTS[entry](data)
    else:
        with pytest.raises(expected) as caught:
            ENTRY_POINTS[entry](data)
        assert isinstance(caught.value, XMLForbidden | ParseError)
        assert "nothing fetched" in str(caught.value) or "refused" in str(caught.value)
    assert time.process_time() - started < 5  # a bomb is refused, never expanded


def test_named_errors_survive_pickling_with_their_details():
    with pytest.raises(ExternalReferenceForbidden) as caught:
        fromstring(b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>')
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is ExternalReferenceForbidden
    assert (again.name, again.sysid, str(again)) == ("e", "file:///etc/passwd", str(caught.value))


def test_the_corpus_has_every_file_this_test_knows(attacks):
    present = {p.name for p in attacks.glob("*.xml")}
    assert set(EXPECTED) <= present


def test_we_refuse_everything_defusedxml_refuses(attacks):
    """defusedxml as an oracle: its refusals are a subset of ours."""
    for path in sorted(attacks.glob("*.xml")):
        data = path.read_bytes()
        try:
            defusedxml.ElementTree.fromstring(data)
        except defusedxml.DefusedXmlException:
            with pytest.raises(XMLForbidden):
                fromstring(data)


PARAMETER_ENTITY = ('<!DOCTYPE r [<!ENTITY % pe SYSTEM "{url}/pe.dtd"> %pe;]>'
                    "<r>&exfil;</r>")


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_parameter_entities_are_refused(trap, entry):
    data = PARAMETER_ENTITY.format(url=trap.url).encode()
    with pytest.raises(ParameterEntitiesForbidden) as caught:
        ENTRY_POINTS[entry](data)
    assert caught.value.sysid == f"{trap.url}/pe.dtd"
    internal = b'<!DOCTYPE r [<!ENTITY % pe "<!ENTITY a \'b\'>"> %pe;]><r>&a;</r>'
    with pytest.raises(ParameterEntitiesForbidden):
        ENTRY_POINTS[entry](internal)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_nothing_is_fetched_even_when_the_policy_allows_external_ids(attacks, trap, entry):
    lenient = XMLPolicy(forbid_external=False, forbid_entities=False)
    for name in ("external.xml", "dtd.xml"):
        data = _rewritten(attacks / name, trap.url)
        # "undefined entity", or refused at the reference: either way nothing is fetched
        with contextlib.suppress(ParseError):
            ENTRY_POINTS[entry](data, policy=lenient)
    data = PARAMETER_ENTITY.format(url=trap.url).encode()
    with contextlib.suppress(ParseError):
        ENTRY_POINTS[entry](data, policy=lenient)
    # the trap fixture asserts that no connection arrived


def test_a_dtd_can_be_refused_altogether(attacks):
    strict = XMLPolicy(forbid_dtd=True)
    with pytest.raises(DTDForbidden):
        fromstring((attacks / "dtd_element.xml").read_bytes(), policy=strict)
    with pytest.raises(DTDForbidden):
        sax_parse_string((attacks / "dtd_element.xml").read_bytes(), ContentHandler(),
                         policy=strict)
    assert fromstring((attacks / "simple.xml").read_bytes(), policy=strict).tag == "root"


def test_entities_allowed_explicitly_still_stop_at_expats_amplification_limit(attacks):
    """X01's backstop: with the policy relaxed, expat (>= 2.4) refuses the bomb itself."""
    lenient = XMLPolicy(forbid_entities=False)
    assert fromstring((attacks / "xmlbomb2.xml").read_bytes(), policy=lenient).tag == "root"
    billion = (b'<!DOCTYPE b [<!ENTITY a "' + b"x" * 100 + b'">'
               + b"".join(b'<!ENTITY %c "%s">' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10)
                          for i in range(8))
               + b"]><b>&i;</b>")
    with pytest.raises(ParseError, match="amplification"):
        fromstring(billion, policy=lenient)


def test_the_prolog_held_for_checking_is_bounded():
    """Streaming, the bytes before the root are held until checked: at most max_prolog."""
    comment = b"<!--" + b"x" * 2_000_000 + b"-->"
    with pytest.raises(MessageTooLarge) as caught:
        list(iterparse(_chunks(comment + b"<r/>", 65536), "r"))
    assert caught.value.limit == "max_prolog"


@pytest.mark.parametrize("entry", ["iterparse", "sax_parse", "parse"])
def test_a_large_token_fed_in_1k_chunks_stays_linear(entry, monkeypatch):
    """SECURITY.md X04: expat 2.5 re-scans an unfinished token on each feed; we batch.

    Counted, not timed (a wall-clock ratio flakes on a busy machine): the document is one
    attribute token, so each feed makes expat re-scan everything fed so far. The first chunk
    is fed as it arrives (a live feed stays live), a fixed cost of at most chunk**2 / 1 KiB;
    beyond it each feed waits for as much new input as is stuck, so the sum stays within a
    small multiple of the size. Naive 1 KiB feeding would scan size**2 / 2048 bytes (2000
    times the size at 4 MB)."""
    fed: list[int] = []
    owner, name = ((xmlsax.SafeExpatReader, "feed") if entry == "sax_parse"
                   else (xmlguard.GuardedParser, "_feed_parser"))
    original = getattr(owner, name)

    def counting(self: object, data: bytes, *args: object, **kwargs: object) -> object:
        fed.append(len(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    for n in (250_000, 1_000_000, 4_000_000):
        data = b'<r><x a="' + b"y" * n + b'"/></r>'
        fed.clear()
        if entry == "iterparse":
            assert len(list(iterparse(_chunks(data), "x"))) == 1
        elif entry == "parse":
            parse(_chunks(data))  # read whole, then one feed
        else:
            sax_parse(_chunks(data), ContentHandler())
        scanned = sum(itertools.accumulate(fed))
        assert sum(fed) == len(data)
        first_chunk = xmlstream.CHUNK_SIZE ** 2 // 1024
        assert scanned <= 4 * len(data) + first_chunk, (n, scanned / len(data), len(fed))


def test_a_token_over_max_token_is_refused_while_streaming():
    data = b'<r><x a="' + b"y" * 3_000_000 + b'"/></r>'
    policy = XMLPolicy(max_bytes=None, max_token=1024 * 1024)
    with pytest.raises(MessageTooLarge) as caught:
        list(iterparse(_chunks(data, 65536), "x", policy=policy))
    assert caught.value.limit == "max_token"
    with pytest.raises(MessageTooLarge):
        sax_parse(_chunks(data, 65536), ContentHandler(), policy=policy)
