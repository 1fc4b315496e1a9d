"""Fixtures for wirekit.data: the course's documents, the shared attack corpus, a loopback
listener that must never be called, and a child interpreter for peak-memory measurements."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "corpora"
ATTACKS = CORPORA / "xml-attacks"

# The course's recipe.xml (slides 3-17..3-19), with its iso-8859-1 declaration.
RECIPE_XML = """<?xml version="1.0" encoding="iso-8859-1"?>
<recipe>
   <title>Famous Guacamole</title>
   <description>
     A southwest favorite!
   </description>
   <ingredients>
        <item num="2">Large avocados, chopped</item>
        <item num="1">Tomato, chopped</item>
        <item num="1/2" units="C">White onion, chopped</item>
        <item num="1" units="tbl">Fresh squeezed lemon juice</item>
        <item num="1">Jalapeno pepper, diced</item>
        <item num="1" units="tbl">Fresh cilantro, minced</item>
        <item num="3" units="tsp">Sea Salt</item>
        <item num="6" units="bottles">Ice-cold beer</item>
   </ingredients>
   <directions>
     Combine all ingredients and hand whisk to desired consistency.
     Serve and enjoy with ice-cold beers.
   </directions>
</recipe>
"""

# The course's schmods.csv (slide 3-3): commas inside quoted fields, a space after each comma.
SCHMODS_CSV = ('Elwood, Blues, "1060 W Addison, Chicago 60637", 110\n'
               'McGurn, Jack, "4902 N Broadway, Chicago 60640", 200\n')


@pytest.fixture
def recipe_path(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.xml"
    path.write_bytes(RECIPE_XML.encode("iso-8859-1"))
    return path


@pytest.fixture(scope="session")
def attacks() -> Path:
    if not ATTACKS.is_dir():
        pytest.skip(f"attack corpus not found at {ATTACKS} (shared/corpora is beside the repo)")
    return ATTACKS


@dataclass
class Listener:
    """A TCP listener on 127.0.0.1 that records every connection it receives."""

    port: int
    connections: list[tuple[str, int]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def trap() -> Iterator[Listener]:
    """A loopback listener the parser must never connect to (SECURITY.md X03)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    listener = Listener(sock.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while True:
            try:
                conn, peer = sock.accept()
            except OSError:
                return
            if stop.is_set():  # the teardown's own wake-up call
                conn.close()
                return
            listener.connections.append(peer)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener
    stop.set()
    socket.create_connection(("127.0.0.1", listener.port), timeout=2).close()
    thread.join(2)
    sock.close()
    assert listener.connections == [], "the parser connected to a URL in the document"


def child_peak_rss(code: str, timeout: float = 120) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it must print a JSON object. Adds ``peak_mib``.

    The peak is the child's ``VmHWM`` (high-water resident set of its own address space).
    ``ru_maxrss`` would not do: Linux carries it across ``execve``, so the child would report
    this (large) pytest process's peak from before the fork.
    """
    wrapper = (code + "\nimport json as _j, re as _re\n"
               "_s = open('/proc/self/status').read()\n"
               "_out['peak_mib'] = int(_re.search(r'VmHWM:\\s+(\\d+) kB', _s).group(1)) / 1024\n"
               "print(_j.dumps(_out))\n")
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])
