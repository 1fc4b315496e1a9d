"""``wirekit sniff``: capture packets like tcpdump (course slide 1-45, grown up)."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import click

if TYPE_CHECKING:
    from wirekit.net.capture import Filter, Packet, PcapWriter

FAILURE: Final = 1       # any other failure, and no permission to capture (root/CAP_NET_RAW)
USAGE: Final = 2         # a bad option or filter expression
NO_INTERFACE: Final = 19  # ENODEV: the interface does not exist
WRITE: Final = 23        # cannot write the -w file (curl's number, as in `wirekit get`)
READ: Final = 66         # EX_NOINPUT: the -r file cannot be read or is not pcap/pcapng

EPILOG = f"""\b
Examples:
  wirekit sniff -i lo -c 10 'tcp port 8000'     # ten packets of a local web server
  wirekit sniff -i any 'udp port 53 or icmp'    # DNS and ping on every interface
  wirekit sniff -i lo -w out.pcap 'port 8000'   # save (tcpdump -r out.pcap reads it)
  wirekit sniff -r out.pcap --json | head
  wirekit sniff -r out.pcap 'src host 127.0.0.1 and not port 22'
  wirekit sniff -d 'tcp port 80'               # show the BPF program (tcpdump -d)
Capturing needs root or CAP_NET_RAW; reading files does not.
Ctrl-C stops and prints how many packets were captured and dropped.

\b
Exit codes:
  0    success
  {FAILURE}    failure; also no permission to capture
  {USAGE}    bad option or filter expression
  {NO_INTERFACE}   no such interface
  {WRITE}   cannot write the -w file
  {READ}   cannot read the -r file, or it is not pcap/pcapng
"""


class SniffFailed(click.ClickException):
    """A failure with its exit code; ``wirekit.cli.main`` prints the one-line message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click sets it per class; ours per cause


_LINK_NAMES = {1: "EN10MB (Ethernet)", 101: "RAW (Raw IP)", 113: "LINUX_SLL (Linux cooked v1)",
               276: "LINUX_SLL2 (Linux cooked v2)", 228: "IPV4 (Raw IPv4)",
               229: "IPV6 (Raw IPv6)"}


def _link_name(linktype: int) -> str:
    return _LINK_NAMES.get(linktype, str(linktype))


class _Printer:
    """Shows each packet: a tcpdump line (with --hex, the bytes), or a JSON object."""

    def __init__(self, as_json: bool, hexdump: bool, flush: bool) -> None:
        self.as_json, self.hexdump, self.flush = as_json, hexdump, flush

    def __call__(self, packet: Packet) -> None:
        if self.as_json:
            text = json.dumps(packet.as_dict())
        else:
            text = str(packet)
            if self.hexdump:
                text += "\n" + packet.hexdump()
        sys.stdout.write(text + "\n")
        if self.flush:
            sys.stdout.flush()


def _pump(packets: Iterable[Packet], keep: Filter | None, count: int | None,
          show: _Printer | None, writer: PcapWriter | None) -> int:
    """Hand each packet to the writer or the printer until ``count``; Ctrl-C ends it."""
    seen = 0
    try:
        for packet in packets:
            if keep is not None and not keep.matches(packet):
                continue
            if writer is not None:
                writer.write(packet)
            if show is not None:
                show(packet)
            seen += 1
            if count is not None and seen >= count:
                break
    except KeyboardInterrupt:
        pass
    return seen


def _writer(path: str, linktype: int, snaplen: int, nano: bool) -> PcapWriter:
    from wirekit.net.capture import CaptureFileError, PcapWriter

    try:
        return PcapWriter(sys.stdout.buffer if path == "-" else path, linktype=linktype,
                          snaplen=snaplen, nanoseconds=nano)
    except CaptureFileError as exc:
        raise SniffFailed(str(exc), WRITE) from exc


def _read(path: str, expression: Filter, count: int | None, write: str | None,
          show: _Printer | None, nano: bool) -> None:
    from wirekit.net.capture import CaptureFileError, open_capture

    try:
        reader = open_capture(sys.stdin.buffer if path == "-" else path)
    except CaptureFileError as exc:
        raise SniffFailed(str(exc), READ) from exc
    click.echo(f"reading from file {path}, link-type {_link_name(reader.linktype)}, "
               f"snapshot length {reader.snaplen}", err=True)
    writer = _writer(write, reader.linktype, reader.snaplen, nano) if write else None
    try:
        _pump(reader, expression if expression.tree is not None else None, count, show,
              writer)
    except CaptureFileError as exc:
        raise SniffFailed(str(exc), READ) from exc
    finally:
        reader.close()
        if writer is not None:
            writer.close()


def _live(interface: str, expression: Filter, count: int | None, snaplen: int,
          write: str | None, show: _Printer | None, *, timeout: float | None,
          promiscuous: bool, nano: bool) -> None:
    from wirekit.net.capture import CaptureError, CapturePermissionError, LiveCapture

    try:
        cap = LiveCapture(interface, expression, snaplen=snaplen, timeout=timeout,
                          promiscuous=promiscuous)
    except CapturePermissionError as exc:
        raise SniffFailed(str(exc), FAILURE) from exc
    except CaptureError as exc:
        code = NO_INTERFACE if exc.errno == 19 else FAILURE
        raise SniffFailed(str(exc), code) from exc
    click.echo(f"listening on {interface}, link-type {_link_name(cap.linktype)}, snapshot "
               f"length {snaplen} bytes", err=True)
    writer = _writer(write, cap.linktype, snaplen, nano) if write else None
    # tcpdump ends on SIGTERM as on Ctrl-C: the file is completed and the counts printed
    # (killed outright, a buffered -w file would be lost, header and all).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _pump(cap, None, count, show, writer)  # the kernel has filtered already
    finally:
        signal.signal(signal.SIGTERM, previous)
        cap.close()
        if writer is not None:
            writer.close()
        click.echo(str(cap.stats), err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command(epilog=EPILOG)
@click.option("-i", "--interface", default="any", show_default=True,
              help="Interface to capture on ('any': all of them).")
@click.option("-c", "--count", type=click.IntRange(min=1), help="Stop after COUNT packets.")
@click.option("-s", "--snaplen", type=click.IntRange(1, 262144), default=262144,
              show_default=True, help="Bytes to keep of each packet.")
@click.option("-w", "--write", "write", metavar="FILE",
              help="Write packets to a pcap FILE ('-': stdout) instead of printing them.")
@click.option("-r", "--read", "read", metavar="FILE",
              help="Read packets from a pcap or pcapng FILE ('-': stdin) instead of capturing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per packet.")
@click.option("--hex", "hexdump", is_flag=True, help="Also print each packet's bytes.")
@click.option("--nano", is_flag=True, help="Write nanosecond timestamps (pcap magic a1b23c4d).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop capturing after SECONDS.")
@click.option("--promiscuous", is_flag=True,
              help="Also see traffic for other hosts on a shared link (off by default).")
@click.option("-d", "dump", is_flag=True,
              help="Print the BPF program the filter compiles to for an Ethernet link, and "
              "exit (tcpdump -d).")
@click.argument("expression", nargs=-1)
def command(interface: str, count: int | None, snaplen: int, write: str | None,
            read: str | None, as_json: bool, hexdump: bool, nano: bool, timeout: float | None,
            promiscuous: bool, dump: bool, expression: tuple[str, ...]) -> None:
    """Capture packets on an interface, or read a pcap file, and print one line per packet.

    EXPRESSION is a filter in tcpdump's words: host, net, port, portrange, src, dst, ip, ip6,
    arp, tcp, udp, icmp, icmp6, less, greater, joined with and/or/not and parentheses.
    Lines look like tcpdump -nn -S output: time, addresses and ports, flags, seq/ack, length.
    """
    from wirekit.net.capture import Filter, LinkType

    keep = Filter(" ".join(expression))
    if dump:
        click.echo(keep.disassemble(LinkType.ETHERNET))
        return
    printing = not write or (as_json and write != "-")  # -w - puts the pcap on stdout
    show = _Printer(as_json, hexdump, flush=read is None) if printing else None
    if read is not None:
        _read(read, keep, count, write, show, nano)
        return
    _live(interface, keep, count, snaplen, write, show, timeout=timeout,
          promiscuous=promiscuous, nano=nano)
