"""Packet capture: the course's raw-socket sniffer (slide 1-45), grown into a small tcpdump.

>>> from wirekit.net.capture import Packet, Filter
>>> frame = bytes.fromhex(
...     "000000000000000000000000080045000021000040004011"
...     "3cca7f0000017f000001d43111d7000d0000") + b"hello"
>>> packet = Packet(frame)
>>> packet.summary()
'IP 127.0.0.1.54321 > 127.0.0.1.4567: UDP, length 5'
>>> Filter("udp dst port 4567").matches(packet)
True

* :func:`capture` / :class:`LiveCapture`: an ``AF_PACKET`` socket on an interface (root or
  ``CAP_NET_RAW``), filtered in the kernel with classic BPF.
* :class:`Packet`: a frame decoded on demand into frozen headers (:class:`Ethernet`,
  :class:`IPv4`, :class:`IPv6`, :class:`ARP`, :class:`TCP`, :class:`UDP`, :class:`ICMP`,
  :class:`ICMPv6`); a cut or broken header is a :class:`Truncated` or :class:`Malformed`
  marker, never an exception.
* :class:`Filter`: tcpdump's filter vocabulary, for the kernel and for files alike.
* :func:`open_capture` reads pcap and pcapng files, :class:`PcapWriter` writes pcap.
"""

from wirekit.net.capture.errors import (
    CaptureError,
    CaptureFileError,
    CapturePermissionError,
    InvalidFilter,
)
from wirekit.net.capture.filter import Filter
from wirekit.net.capture.ip import IPOption, IPv4, IPv6, IPv6Extension
from wirekit.net.capture.link import ARP, Ethernet, LinkType, LinuxSLL, LinuxSLL2, VlanTag
from wirekit.net.capture.live import CaptureStats, LiveCapture, capture
from wirekit.net.capture.packet import Packet
from wirekit.net.capture.pcap import DEFAULT_SNAPLEN, PcapReader, PcapWriter, open_capture
from wirekit.net.capture.pcapng import PcapngReader
from wirekit.net.capture.problems import Malformed, Truncated
from wirekit.net.capture.transport import ICMP, TCP, UDP, ICMPv6, TCPFlags, TCPOption

__all__ = [
    "ARP",
    "DEFAULT_SNAPLEN",
    "ICMP",
    "TCP",
    "UDP",
    "CaptureError",
    "CaptureFileError",
    "CapturePermissionError",
    "CaptureStats",
    "Ethernet",
    "Filter",
    "ICMPv6",
    "IPOption",
    "IPv4",
    "IPv6",
    "IPv6Extension",
    "InvalidFilter",
    "LinkType",
    "LinuxSLL",
    "LinuxSLL2",
    "LiveCapture",
    "Malformed",
    "Packet",
    "PcapReader",
    "PcapWriter",
    "PcapngReader",
    "TCPFlags",
    "TCPOption",
    "Truncated",
    "VlanTag",
    "capture",
    "open_capture",
]
