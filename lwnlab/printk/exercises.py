"""What the notebook needs besides widgets: which sources to use, and the exercises' self-checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lwnlab.ui import Check

SAMPLE_TREE = Path(__file__).resolve().parent / "sample_tree"

#: the subsystem the notebook indexes live from the real sources
SUBSYSTEM = "drivers/pci"


@dataclass(frozen=True)
class Sources:
    root: Path
    subdirs: tuple[str, ...]
    label: str
    real: bool
    message: str


def pick_sources(version: str = "6.12", subsystem: str = SUBSYSTEM) -> Sources:
    """The unpacked linux-source-``version`` (``subsystem`` of it) if present, else the sample tree."""
    from lwnlab.printk.sources import find_tree

    t = find_tree(version, need=subsystem)
    if t is not None:
        return Sources(t.path, (subsystem,), f"linux-source-{version} ({t.package_version}) {subsystem}", True,
                       f"Using Debian's linux-source-{version} {t.package_version} from {t.path}.")
    v = "v1" if version == "6.1" else "v2"
    return Sources(SAMPLE_TREE / v, (), f"lwnlab sample tree {v} (stands in for {version})", False,
                   f"linux-source-{version} is not unpacked here, so this notebook uses lwnlab's small sample tree "
                   f"({v}), written for the lab. To use the real kernel run: "
                   f"lwnlab printk fetch --version {version} --subsystem {subsystem}")


# ----------------------------------------------------------------------------- exercise 1: the debugfs line


def check_level_field(answer: str) -> Check:
    """Exercise 1: the level field index.c prints for ``printk(KERN_CONT KERN_WARNING "...")``."""
    from lwnlab.printk.index import Entry

    want = Entry(fmt=b"\x01c\x014x", func="f", file="a.c", line=1).debugfs_line().split(" ")[0]
    a = answer.strip()
    if a == want:
        return Check(True, f"{want}: printk_parse_prefix() reads both prefixes; 'c' sets LOG_CONT and '4' the level")
    if a == "<c>":
        return Check(False, "the level is not lost: KERN_CONT with a level prints as <N,c>")
    return Check(False, "look at pi_show(): which of <N>, <-1>, <c>, <N,c> applies when both prefixes are there?")


def check_escaped(answer: str) -> Check:
    """Exercise 1b: how index.c escapes the format ``caf\\xc3\\xa9 "x"\\n``."""
    from lwnlab.printk.index import escape

    want = escape('café "x"\n'.encode())
    if answer == want:
        return Check(True, f"{want}: bytes >= 0x80 become 3-digit octal, quotes get a backslash, \\n stays \\n")
    if "é" in answer:
        return Check(False, "ESCAPE_NAP passes only printable ASCII: UTF-8 bytes are escaped (ESCAPE_OCTAL)")
    return Check(False, "apply seq_escape_str(..., ESCAPE_ANY | ESCAPE_NAP | ESCAPE_APPEND, \"\\\"\\\\\") byte by byte")


# ----------------------------------------------------------------------------- exercise 2: where did it come from


EX2_LINE = "[  12.345678] fan_ctl: fan_set_speed: invalid speed -3 rpm"


def check_source(answer: str, index=None) -> Check:
    """Exercise 2: which ``file:line`` printed :data:`EX2_LINE` (in the sample tree v1)?"""
    from lwnlab.printk.index import build_index
    from lwnlab.printk.match import Matcher

    ix = index if index is not None else build_index(SAMPLE_TREE / "v1", progress=False)
    (r,) = Matcher.from_index(ix).match([EX2_LINE])
    want = f"{r.entry.file}:{r.entry.line}"
    a = answer.strip()
    if a == want:
        return Check(True, f"{want} in {r.entry.func}(): 'fan_ctl: ' is KBUILD_MODNAME and the function name is "
                     "the run-time %s of that file's pr_fmt")
    if a.startswith(r.entry.file):
        return Check(False, "right file; which line has the pr_err()?")
    return Check(False, "paste the line into the matcher above; the prefix comes from pr_fmt, not from the call")


# ----------------------------------------------------------------------------- exercise 3: a rule that survives


def check_rule_survives(pattern: str) -> Check:
    """Exercise 3: a rule anchored in both v1 ("CPU%d on fire") and v2 ("CPU%d in flames") of the sample tree,
    that matches nothing else."""
    from lwnlab.errors import LwnlabError
    from lwnlab.printk.audit import Auditor
    from lwnlab.printk.index import build_index

    try:
        old = Auditor(build_index(SAMPLE_TREE / "v1", progress=False)).audit(pattern)
        new = Auditor(build_index(SAMPLE_TREE / "v2", progress=False)).audit(pattern)
    except LwnlabError as e:
        return Check(False, e.describe())
    if old.verdict != "match" or new.verdict != "match":
        return Check(False, f"verdicts: v1 {old.verdict}, v2 {new.verdict}; both must be 'match'")
    funcs = {e.func for e in old.formats} | {e.func for e in new.formats}
    texts = {e.text for e in old.formats} | {e.text for e in new.formats}
    if not all("CPU%d" in t and ("fire" in t or "flames" in t) for t in texts):
        return Check(False, f"it also anchors on other formats: {sorted(texts)}; make it more specific")
    return Check(True, f"anchored in both versions ({', '.join(sorted(funcs))}); a rule tied to the wording "
                 "breaks when the message is reworded, so audit rules against each new kernel")


def check_modname(answer: str) -> Check:
    """Exercise 4: KBUILD_MODNAME of drivers/thermal_demo/fw-sensors.c in the sample tree."""
    from lwnlab.printk.kbuild import modname_for

    want = modname_for(SAMPLE_TREE / "v1", "drivers/thermal_demo/fw-sensors.c")
    a = answer.strip().strip('"')
    if a == want:
        return Check(True, f"{want}: fw-sensors.o is part of the composite firewatch.o (firewatch-y := ...)")
    if a in ("fw_sensors", "fw-sensors"):
        return Check(False, "that is the file's basename; read drivers/thermal_demo/Makefile")
    return Check(False, "Kbuild names the module an object is linked into, with '-' turned into '_'")


__all__ = ["pick_sources", "Sources", "SAMPLE_TREE", "check_level_field", "check_escaped", "check_source",
           "EX2_LINE", "check_rule_survives", "check_modname"]


def example_log(index, n: int = 5, seed: int = 3) -> str:
    """A few dmesg-style lines printed from formats of ``index`` (seeded), plus one no format explains."""
    import random

    from lwnlab.printk import fmt as F

    rng = random.Random(seed)
    pool = [e for e in index.entries if e.in_kernel_index and F.parse(e.body).literal_chars >= 12]
    pool.sort(key=lambda e: (e.file, e.line))
    out = []
    t = 1.0
    for e in rng.sample(pool, min(n, len(pool))):
        msg = F.parse(e.body).instantiate(rng).decode("utf-8", errors="replace").split("\n")[0]
        t += rng.random() * 3
        out.append(f"[{t:12.6f}] {msg}")
    out.append(f"[{t + 1:12.6f}] this line comes from no format of this index")
    return "\n".join(out)


def demo_rules(real: bool) -> str:
    """Monitoring rules in node-problem-detector's JSON shape, for the audit table."""
    import json

    if real:
        rules = [{"type": "temporary", "reason": "PCIStubBadID", "pattern": r"pci-stub: invalid ID string"},
                 {"type": "temporary", "reason": "AERCorrected", "pattern": r"(?i)pcie bus error: severity=corrected"},
                 {"type": "permanent", "reason": "LinkDown", "pattern": r"link down"},
                 {"type": "temporary", "reason": "AERReceived", "pattern": r"AER: Corrected error received: \S+"},
                 {"type": "permanent", "reason": "KernelOops",
                  "pattern": r"^BUG: unable to handle kernel NULL pointer dereference at .*$"}]
    else:
        rules = [{"type": "permanent", "reason": "CPUOnFire", "pattern": r"CPU\d+ on fire"},
                 {"type": "temporary", "reason": "SensorMissing", "pattern": r"sensor \S+ missing"},
                 {"type": "temporary", "reason": "HotCPU", "pattern": r"^CPU\d+ running hot"},
                 {"type": "permanent", "reason": "KernelOops",
                  "pattern": r"^BUG: unable to handle kernel NULL pointer dereference at [0-9a-f]+$"}]
    return json.dumps({"plugin": "kmsg", "source": "kernel-monitor", "rules": rules}, indent=1)


def audit_table(index, rules_json: str):
    """An HTML table of verdicts for the rules (the notebook shows it)."""
    import html

    from ipywidgets import HTML

    from lwnlab.printk.audit import Auditor, parse_rules

    aud = Auditor(index)
    rows = []
    verdicts = []
    for r in parse_rules(rules_json):
        v = aud.audit(r)
        verdicts.append(v)
        first = v.formats[0] if v.formats else None
        src = f"{first.file}:{first.line} \"{first.text.rstrip()}\"" if first else ""
        rows.append(f"<tr><td>{html.escape(r.reason)}</td><td>{html.escape(r.pattern)}</td><td><b>{v.verdict}</b></td>"
                    f"<td>{html.escape(src)}</td></tr>")
    w = HTML('<table style="font-family:monospace;font-size:12px"><tr style="text-align:left"><th>reason</th>'
             "<th>pattern</th><th>verdict</th><th>first format</th></tr>" + "".join(rows) + "</table>")
    w.verdicts = verdicts
    return w
