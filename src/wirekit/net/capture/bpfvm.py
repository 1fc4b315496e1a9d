"""Classic BPF programs run and printed in Python: the kernel's interpreter, for tests and
for a reader who wants to check a program by hand (``wirekit sniff -d``).

:func:`run` follows the kernel's rules (Documentation/networking/filter.rst): the value of
``ret`` is how many bytes to keep, 0 drops the packet, and a load past the end of the packet
ends the program with 0. :func:`disassemble` prints ``tcpdump -d``'s layout.
"""

from __future__ import annotations

from wirekit.net.capture.bpf import (
    AD_IFINDEX,
    AD_PKTTYPE,
    AD_PROTOCOL,
    AND_K,
    IMM,
    IND,
    JA,
    JEQ,
    JGE,
    JGT,
    JMP,
    JSET,
    LD,
    LDX,
    LEN,
    MSH,
    RET,
    B,
    H,
    Instruction,
    W,
)

__all__ = ["disassemble", "run"]

_AD = 0xFFFFF000


def _load(data: bytes, at: int, size: int, meta: dict[int, int]) -> int | None:
    if at >= _AD:
        return meta.get(at, 0)
    if at < 0 or at + size > len(data):
        return None
    return int.from_bytes(data[at:at + size], "big")


def run(program: list[Instruction], data: bytes, wire_length: int | None = None,  # noqa: PLR0912  # one branch per instruction class
        **metadata: int) -> int:
    """Interpret ``program`` on ``data`` as the kernel would: the bytes to keep (0: drop).
    ``metadata`` gives the ancillary values (``protocol``, ``pkttype``, ``ifindex``)."""
    meta = {AD_PROTOCOL: metadata.get("protocol", 0), AD_PKTTYPE: metadata.get("pkttype", 0),
            AD_IFINDEX: metadata.get("ifindex", 0)}
    a = x = pc = 0
    length = len(data) if wire_length is None else wire_length
    while pc < len(program):
        ins = program[pc]
        code, k = ins.code, ins.k
        pc += 1
        kind = code & 0x07
        if kind == LD:
            mode, size = code & 0xE0, {W: 4, H: 2, B: 1}[code & 0x18]
            if mode == LEN:
                a = length
            elif mode == IMM:
                a = k
            else:
                value = _load(data, k + (x if mode == IND else 0), size, meta)
                if value is None:
                    return 0
                a = value
        elif kind == LDX:
            if code & 0xE0 == MSH:
                value = _load(data, k, 1, meta)
                if value is None:
                    return 0
                x = (value & 0x0F) * 4
            else:
                x = k
        elif code == AND_K:
            a &= k
        elif code == JA:
            pc += k
        elif kind == JMP:
            taken = {JEQ: a == k, JGT: a > k, JGE: a >= k, JSET: bool(a & k)}[code]
            pc += ins.jt if taken else ins.jf
        elif kind == RET:
            return k
        else:
            raise ValueError(f"instruction 0x{code:02x} is not supported by this interpreter")
    return 0


def _operand(ins: Instruction) -> tuple[str, str]:
    code, k = ins.code, ins.k
    names = {AD_PROTOCOL: "#proto", AD_PKTTYPE: "#type", AD_IFINDEX: "#ifidx"}
    size = {W: "ld", H: "ldh", B: "ldb"}.get(code & 0x18, "ld")
    if code & 0x07 == LD:
        mode = code & 0xE0
        if mode == LEN:
            return "ld", "#pktlen"
        if mode == IND:
            return size, f"[x + {k}]"
        return (size, names[k]) if k in names else (size, f"[{k}]")
    table = {LDX | B | MSH: ("ldxb", f"4*([{k}]&0xf)"), AND_K: ("and", f"#0x{k:x}"),
             RET: ("ret", f"#{k}"), JA: ("ja", "")}
    if code in table:
        return table[code]
    return {JEQ: "jeq", JGT: "jgt", JGE: "jge", JSET: "jset"}.get(code, f"op{code:#x}"), \
        f"#0x{k:x}"


def disassemble(program: list[Instruction]) -> str:
    """The program as ``tcpdump -d`` prints one."""
    lines = []
    for index, ins in enumerate(program):
        op, arg = _operand(ins)
        if ins.code == JA:
            arg = str(index + 1 + ins.k)
        line = f"({index:03d}) {op:<8} {arg}"
        if ins.code & 0x07 == JMP and ins.code != JA:
            line = f"{line:<31}jt {index + 1 + ins.jt}\tjf {index + 1 + ins.jf}"
        lines.append(line)
    return "\n".join(lines)
