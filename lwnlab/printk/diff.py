"""Compare two indices by (file, function, format), ignoring line numbers.

* an entry whose (file, func, format) exists in both is **kept**; if its line
  changed it is a **move**, never a change (only ~36% of (file, line, fmt)
  triples survive 6.1 -> 6.12 unchanged);
* the rest are **removed** / **added**, except that a removed and an added
  format in the *same (file, function)* that are similar enough are paired as
  **reworded** ("CPU on fire" -> "CPU in flames" is one change).  Pairing is
  greedy on the similarity ratio of the formats (difflib), best pairs first,
  above ``threshold``;
* with rules, every removed or reworded format that a rule matched in the old
  index and no longer matches in the new one is reported as a broken rule.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from lwnlab.printk.index import Entry, Index


def key(e: Entry) -> tuple[str, str, bytes]:
    return (e.file, e.func, e.body)


@dataclass
class Reworded:
    old: Entry
    new: Entry
    similarity: float

    def word_diff(self) -> list[tuple[str, str, str]]:
        """Word-level changes for highlighting: (tag, old text, new text) with tag equal/replace/delete/insert."""
        import re

        tok = re.compile(r"\s+|%[-+ #0-9.*]*[a-zA-Z]+|\w+|[^\w\s]")
        a, b = tok.findall(self.old.text.rstrip("\n")), tok.findall(self.new.text.rstrip("\n"))
        ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        out: list[list[str]] = []
        for t, i1, i2, j1, j2 in ops:
            x, y = "".join(a[i1:i2]), "".join(b[j1:j2])
            # "on" -> "in", " ", "fire" -> "flames" reads better as one change "on fire" -> "in flames"
            if t != "equal" and len(out) >= 2 and out[-2][0] != "equal" and out[-1][0] == "equal" \
                    and not out[-1][1].strip():
                sp = out.pop()[1]
                out[-1] = ["replace", out[-1][1] + sp + x, out[-1][2] + sp + y]
            else:
                out.append([t, x, y])
        return [tuple(o) for o in out]

    def to_json(self) -> dict:
        return {"file": self.old.file, "func": self.old.func, "old_line": self.old.line, "new_line": self.new.line,
                "old": self.old.text, "new": self.new.text, "similarity": round(self.similarity, 3)}


@dataclass
class BrokenRule:
    pattern: str
    old: Entry
    new: Entry | None  # the rewording, if any
    new_verdict: str

    def to_json(self) -> dict:
        return {"pattern": self.pattern, "file": self.old.file, "func": self.old.func, "old": self.old.text,
                "new": None if self.new is None else self.new.text, "new_verdict": self.new_verdict}


@dataclass
class Diff:
    removed: list[Entry] = field(default_factory=list)
    added: list[Entry] = field(default_factory=list)
    reworded: list[Reworded] = field(default_factory=list)
    moved: int = 0
    kept: int = 0
    broken: list[BrokenRule] = field(default_factory=list)

    def summary(self) -> dict:
        return {"kept": self.kept, "moved": self.moved, "removed": len(self.removed), "added": len(self.added),
                "reworded": len(self.reworded), "broken_rules": len({b.pattern for b in self.broken})}

    def to_json(self) -> dict:
        ent = lambda e: {"file": e.file, "line": e.line, "func": e.func, "format": e.text}  # noqa: E731
        return {"summary": self.summary(), "removed": [ent(e) for e in self.removed],
                "added": [ent(e) for e in self.added], "reworded": [r.to_json() for r in self.reworded],
                "broken_rules": [b.to_json() for b in self.broken]}

    def to_text(self) -> str:
        s = self.summary()
        out = [f"# kept {s['kept']} (moved {s['moved']}), removed {s['removed']}, added {s['added']}, "
               f"reworded {s['reworded']}"]
        for r in self.reworded:
            out.append(f"~ {r.old.file} {r.old.func}: \"{r.old.text.rstrip()}\" -> \"{r.new.text.rstrip()}\"")
        for e in self.removed:
            out.append(f"- {e.file}:{e.line} {e.func} \"{e.text.rstrip()}\"")
        for e in self.added:
            out.append(f"+ {e.file}:{e.line} {e.func} \"{e.text.rstrip()}\"")
        for b in self.broken:
            what = f"reworded to \"{b.new.text.rstrip()}\"" if b.new is not None else "removed"
            out.append(f"! rule {b.pattern!r}: {b.old.file} {b.old.func} \"{b.old.text.rstrip()}\" {what}; "
                       f"rule is now {b.new_verdict}")
        return "\n".join(out)


def diff(old: Index | list[Entry], new: Index | list[Entry], *, threshold: float = 0.6, rules=None,
         only_kernel_index: bool = False) -> Diff:
    olds = [e for e in (old.entries if isinstance(old, Index) else old) if e.in_kernel_index or not only_kernel_index]
    news = [e for e in (new.entries if isinstance(new, Index) else new) if e.in_kernel_index or not only_kernel_index]
    oc = defaultdict(list)
    for e in olds:
        oc[key(e)].append(e)
    nc = defaultdict(list)
    for e in news:
        nc[key(e)].append(e)
    d = Diff()
    removed, added = [], []
    for k, os_ in oc.items():
        ns = nc.get(k, [])
        common = min(len(os_), len(ns))
        d.kept += common
        old_lines = Counter(e.line for e in os_)
        for e in ns[:common]:
            if old_lines[e.line] > 0:
                old_lines[e.line] -= 1
            else:
                d.moved += 1
        removed += os_[common:]
    for k, ns in nc.items():
        common = min(len(oc.get(k, [])), len(ns))
        added += ns[common:]
    # pair rewordings within (file, func)
    by_fn_r = defaultdict(list)
    for e in removed:
        by_fn_r[(e.file, e.func)].append(e)
    by_fn_a = defaultdict(list)
    for e in added:
        by_fn_a[(e.file, e.func)].append(e)
    paired_r, paired_a = set(), set()
    for fk, rs in by_fn_r.items():
        as_ = by_fn_a.get(fk)
        if not as_:
            continue
        pairs = []
        for i, r in enumerate(rs):
            for j, a in enumerate(as_):
                sm = difflib.SequenceMatcher(None, r.text, a.text, autojunk=False)
                if sm.real_quick_ratio() < threshold or sm.quick_ratio() < threshold:
                    continue
                ratio = sm.ratio()
                if ratio >= threshold:
                    pairs.append((ratio, -abs(r.line - a.line), i, j))
        pairs.sort(reverse=True)
        ui, uj = set(), set()
        for ratio, _, i, j in pairs:
            if i in ui or j in uj:
                continue
            ui.add(i)
            uj.add(j)
            d.reworded.append(Reworded(rs[i], as_[j], ratio))
            paired_r.add(id(rs[i]))
            paired_a.add(id(as_[j]))
    d.removed = [e for e in removed if id(e) not in paired_r]
    d.added = [e for e in added if id(e) not in paired_a]
    d.reworded.sort(key=lambda r: (r.old.file, r.old.line))
    if rules:
        d.broken = broken_rules(d, olds, news, rules)
    return d


def broken_rules(d: Diff, olds: list[Entry], news: list[Entry], rules) -> list[BrokenRule]:
    """Rules the old index anchored (verdict ``match``) through formats this diff removes or
    rewords, and that the new index no longer anchors."""
    from lwnlab.printk.audit import Auditor, Rule

    old_aud, new_aud = Auditor(olds), Auditor(news)
    changed = [(r.old, r.new) for r in d.reworded] + [(e, None) for e in d.removed]
    out = []
    for rule in rules:
        if isinstance(rule, str):
            rule = Rule(rule)
        vo = old_aud.audit(rule)
        if vo.verdict != "match":
            continue
        bodies = {e.body for e in vo.formats}
        hits = [(o, n) for o, n in changed if o.body in bodies]
        if not hits:
            continue
        vn = new_aud.audit(rule)
        if vn.verdict == "match":
            continue  # another format still supplies it
        for old_e, new_e in hits:
            out.append(BrokenRule(rule.pattern, old_e, new_e, vn.verdict))
    return out


__all__ = ["diff", "Diff", "Reworded", "BrokenRule", "key"]
