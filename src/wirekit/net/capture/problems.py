"""What a decoder returns instead of raising: a header cut short, or one that breaks its RFC.

A capture shows whatever the wire carried, including the snap length's cuts and a peer's lies,
so decoding never raises. A decoder that cannot finish its layer returns one of these markers
in the layer's place; the layers below it stay decoded, and the packet prints the marker the
way tcpdump does (``[|tcp]``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Malformed", "Problem", "Truncated"]


@dataclass(frozen=True, slots=True)
class Truncated:
    """``layer``'s header needs ``needed`` bytes where only ``available`` were captured."""

    layer: str
    needed: int
    available: int

    def __str__(self) -> str:
        return f"[|{self.layer.lower()}]"


@dataclass(frozen=True, slots=True)
class Malformed:
    """``layer``'s header is complete but impossible (a header length below the minimum...)."""

    layer: str
    reason: str

    def __str__(self) -> str:
        return f"[bad {self.layer.lower()}: {self.reason}]"


Problem = Truncated | Malformed
