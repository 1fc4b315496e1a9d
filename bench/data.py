"""Streaming XML: wirekit.data.iterparse against the standard library (and lxml if installed).

Generates an XML file of recipe records (the course's slide 3-18, one record per recipe) in a
temporary directory, then runs each contender in its own interpreter, so that each one's peak
resident set (VmHWM) is its own. Prints time, throughput, peak RSS and speed relative to the
standard library's iterparse, plain and with the usual clear idiom.

    python bench/data.py --size 64MiB          # a quick check
    python bench/data.py --size 1GiB           # the issue's measurement (needs a quiet machine;
                                               # plain stdlib iterparse holds the whole tree)

Target (issue 7): peak RSS under 64 MiB on 1 GiB, at no less than 0.9x the speed of the
standard library's iterparse.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORD = """  <recipe id="{i}">
    <title>Famous Guacamole {i}</title>
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

# Each contender counts the <recipe> elements and reads one field of each, as a consumer would.
CONTENDERS = {
    "wirekit iterparse": """
from wirekit.data import iterparse
for recipe in iterparse(PATH, "recipe"):
    COUNT += 1
    recipe.findtext("title")
""",
    "stdlib iterparse": """
import xml.etree.ElementTree as ET
for event, elem in ET.iterparse(PATH):
    if elem.tag == "recipe":
        COUNT += 1
        elem.findtext("title")
""",
    "stdlib iterparse + clear": """
import xml.etree.ElementTree as ET
context = iter(ET.iterparse(PATH, events=("start", "end")))
event, root = next(context)
for event, elem in context:
    if event == "end" and elem.tag == "recipe":
        COUNT += 1
        elem.findtext("title")
        root.clear()
""",
    "lxml iterparse + clear": """
from lxml import etree
for event, elem in etree.iterparse(PATH, tag="recipe", resolve_entities=False):
    COUNT += 1
    elem.findtext("title")
    elem.clear()
    while elem.getprevious() is not None:
        del elem.getparent()[0]
""",
}

CHILD = """
import json, re, time
PATH = {path!r}
COUNT = 0
started = time.perf_counter()
{body}
seconds = time.perf_counter() - started
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024
print(json.dumps({{"count": COUNT, "seconds": seconds, "peak": peak}}))
"""

UNITS = {"": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3,
         "gib": 1024**3}


def size(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([a-zA-Z]*)", text.strip())
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a size such as 64MiB or 1GiB")
    return int(match.group(1)) * UNITS[match.group(2).lower()]


def generate(path: Path, target: int) -> int:
    """Write recipes until the file reaches ``target`` bytes; return how many."""
    written, count = 0, 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<recipes>\n')
        while written < target:
            batch = "".join(RECORD.format(i=i) for i in range(count, count + 1000))
            out.write(batch)
            written += len(batch)
            count += 1000
        out.write("</recipes>\n")
    return count


def run(name: str, path: Path) -> dict[str, float]:
    code = CHILD.format(path=str(path), body=CONTENDERS[name])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict[str, float]], nbytes: int) -> None:
    plain = results.get("stdlib iterparse", {}).get("seconds")
    clear = results.get("stdlib iterparse + clear", {}).get("seconds")
    print(f"{'contender':<26} {'time s':>8} {'MB/s':>7} {'peak RSS MiB':>13} "
          f"{'x plain':>8} {'x clear':>8}")
    for name, result in results.items():
        seconds = result["seconds"]
        ratios = [f"{base / seconds:.2f}" if base else "-" for base in (plain, clear)]
        print(f"{name:<26} {seconds:8.2f} {nbytes / seconds / 1e6:7.1f} "
              f"{result['peak'] / 2**20:13.1f} {ratios[0]:>8} {ratios[1]:>8}")


def verdict(results: dict[str, dict[str, float]]) -> None:
    mine = results.get("wirekit iterparse")
    if not mine:
        return
    baselines = [results[n]["seconds"] for n in ("stdlib iterparse", "stdlib iterparse + clear")
                 if n in results]
    fastest = min(baselines) if baselines else None
    memory_ok = mine["peak"] < 64 * 2**20
    speed_ok = fastest is None or fastest / mine["seconds"] >= 0.9
    print(f"\ntarget: peak RSS < 64 MiB: {'PASS' if memory_ok else 'FAIL'}; speed >= 0.9x the"
          f" faster stdlib variant: {'PASS' if speed_ok else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size, default=size("64MiB"),
                        help="size of the generated XML (default 64MiB; the issue says 1GiB)")
    parser.add_argument("--file", type=Path, help="use this XML file instead of generating one")
    parser.add_argument("--only", action="append", choices=sorted(CONTENDERS),
                        help="run only this contender (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    names = args.only or list(CONTENDERS)
    if importlib.util.find_spec("lxml") is None:
        names = [n for n in names if not n.startswith("lxml")]
    with tempfile.TemporaryDirectory(prefix="wirekit-bench-") as tmp:
        path = args.file or Path(tmp) / "recipes.xml"
        if args.file is None:
            started = time.perf_counter()
            count = generate(path, args.size)
            print(f"generated {path.stat().st_size / 2**20:.0f} MiB, {count} recipes in "
                  f"{time.perf_counter() - started:.1f} s")
        nbytes = path.stat().st_size
        results = {}
        for name in names:
            results[name] = run(name, path)
            print(f"  {name}: {results[name]['seconds']:.2f} s", flush=True)
        counts = {r["count"] for r in results.values()}
        if len(counts) != 1:
            raise SystemExit(f"contenders disagree on the number of recipes: {results}")
        print(f"\n{nbytes / 2**20:.0f} MiB, {counts.pop()} recipes, Python "
              f"{sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
        table(results, nbytes)
        verdict(results)
        if args.json:
            args.json.write_text(json.dumps({"bytes": nbytes, "results": results}, indent=2))


if __name__ == "__main__":
    main()
