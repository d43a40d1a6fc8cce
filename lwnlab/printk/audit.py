"""Audit monitoring rules (regexes over log lines) against a printk index.

For every rule the verdict is one of:

``match``
    the rule's most distinctive required word comes from the *fixed text* of
    at least one format, and the rule and that format can produce a common
    message (exact automaton intersection): the rule is live;
``wildcard-only``
    no format supplies it in its fixed text, but a format with a free-text
    conversion (``%s``, ``%pV``, ``%pd``...) can still produce a matching
    message: fragile, it depends on run-time arguments;
``stale``
    no message of this kernel can match, or only a free-text conversion of a
    format sharing fewer than half of the rule's words could (which any message with a
    ``%s`` could: no evidence at all).  Families outside the kernel's index
    are kept in lwnlab's index with ``in_kernel_index=False`` and count.

How (the reference's approach; brute force over ~150k formats would take minutes per rule):

1. the rule is parsed with Python's own regex parser and re-emitted in the
   syntax interegular accepts (POSIX ``[[:alpha:]]`` classes translated,
   ``(?i)`` turned into explicit ``[aA]`` classes, ``\\b`` and lookarounds
   widened to "anything", which only ever adds candidates);
2. its required literal runs are extracted from the parse tree;
3. **prefilter**: formats whose fixed text contains the rule's key word (its
   longest required word) are anchored candidates; formats with free-text
   conversions are wildcard candidates, ranked by how many of the rule's
   words their fixed text shares;
4. **exact check**: ``interegular`` builds both automata and intersects them.
"""

from __future__ import annotations

import bisect
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from lwnlab.errors import ConfigError, SourceError
from lwnlab.printk import fmt as F
from lwnlab.printk.index import Entry, Index

try:  # Python 3.11+
    import re._parser as sre_parse
    import re._constants as sre_c
except ImportError:  # pragma: no cover
    import sre_constants as sre_c
    import sre_parse

POSIX = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
         "space": r" \t\n\r\f\v", "blank": r" \t", "xdigit": "0-9A-Fa-f", "punct": r"!-/:-@\[-`{-~",
         "word": r"\w", "cntrl": r"\x00-\x1f\x7f", "print": r" -~", "graph": r"!-~"}


@dataclass(frozen=True)
class Rule:
    pattern: str
    reason: str = ""
    type: str = ""
    source: str = ""  # file:index for messages

    def to_json(self) -> dict:
        return {"pattern": self.pattern, "reason": self.reason, "type": self.type}


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from a plain list (one regex per line, ``#`` comments) or JSON ``{"rules": [{"pattern": ...}]}``."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise SourceError(f"cannot read rules: {e.strerror}", file=str(path)) from e
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "") -> list[Rule]:
    rules = []
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"invalid JSON: {e}", file=source or None) from e
        items = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ConfigError("expected a 'rules' list", file=source or None, field="rules")
        for i, it in enumerate(items):
            if isinstance(it, str):
                it = {"pattern": it}
            if not isinstance(it, dict) or not isinstance(it.get("pattern"), str):
                raise ConfigError("each rule needs a string 'pattern'", file=source or None, field=f"rules[{i}].pattern")
            rules.append(Rule(it["pattern"], str(it.get("reason", "")), str(it.get("type", "")), f"{source}:rules[{i}]"))
    else:
        for no, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            rules.append(Rule(line.rstrip("\n"), source=f"{source}:{no}"))
    for r in rules:
        compile_rule(r)  # validate early, with the location
    return rules


# ----------------------------------------------------------------------------- rule -> interegular syntax


@dataclass
class CompiledRule:
    rule: Rule
    regex: str  # interegular-compatible, search semantics already applied
    literals: list[str]  # required literal runs (lower-cased when the rule ignores case)
    ignorecase: bool
    approximate: bool  # \b or lookarounds were widened
    anchored_start: bool
    anchored_end: bool


def _posix(pat: str) -> str:
    return re.sub(r"\[:([a-z]+):\]", lambda m: POSIX.get(m.group(1), m.group(0)), pat)


def compile_rule(rule: Rule) -> CompiledRule:
    pat = _posix(rule.pattern)
    try:
        tree = sre_parse.parse(pat)
    except re.error as e:
        raise ConfigError(f"bad regex {rule.pattern!r}: {e.msg}", file=rule.source or None,
                          column=(e.pos + 1) if e.pos is not None else None) from e
    icase = bool(tree.state.flags & re.IGNORECASE)
    st = {"approx": False}
    items = list(tree)
    a_start = bool(items) and items[0][0] == sre_c.AT and items[0][1] in (sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING)
    a_end = bool(items) and items[-1][0] == sre_c.AT and items[-1][1] in (sre_c.AT_END, sre_c.AT_END_STRING)
    body = _emit(items, icase, st)
    rx = ("" if a_start else ".*") + "(?:" + body + ")" + ("" if a_end else ".*")
    lits = [x.lower() if icase else x for x in _required(items)]
    return CompiledRule(rule, rx, lits, icase, st["approx"], a_start, a_end)


def _esc(ch: str) -> str:
    return re.escape(ch) if ch not in " " else " "


def _class_item(op, av, icase) -> str:
    if op == sre_c.LITERAL:
        c = chr(av)
        if icase and c.lower() != c.upper():
            return _esc(c.lower()) + _esc(c.upper())
        return _esc(c)
    if op == sre_c.RANGE:
        a, b = chr(av[0]), chr(av[1])
        s = f"{_esc(a)}-{_esc(b)}"
        if icase and a.isalpha() and b.isalpha():
            s += f"{_esc(a.swapcase())}-{_esc(b.swapcase())}"
        return s
    if op == sre_c.CATEGORY:
        return {sre_c.CATEGORY_DIGIT: r"0-9", sre_c.CATEGORY_NOT_DIGIT: r"\D", sre_c.CATEGORY_SPACE: r"\s",
                sre_c.CATEGORY_NOT_SPACE: r"\S", sre_c.CATEGORY_WORD: r"\w", sre_c.CATEGORY_NOT_WORD: r"\W"}[av]
    raise ValueError(op)


def _emit(items, icase, st) -> str:
    out = []
    for op, av in items:
        if op == sre_c.LITERAL:
            out.append("[" + _class_item(op, av, icase) + "]" if icase and chr(av).isalpha() else _esc(chr(av)))
        elif op == sre_c.NOT_LITERAL:
            out.append("[^" + _class_item(sre_c.LITERAL, av, icase) + "]")
        elif op == sre_c.ANY:
            out.append(".")
        elif op == sre_c.IN:
            neg = av and av[0][0] == sre_c.NEGATE
            parts = [_class_item(o, a, icase) for o, a in (av[1:] if neg else av)]
            out.append("[" + ("^" if neg else "") + "".join(parts) + "]")
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            inner = "(?:" + _emit(list(sub), icase, st) + ")"
            if hi == sre_c.MAXREPEAT:
                q = "*" if lo == 0 else "+" if lo == 1 else "{%d,}" % lo
            else:
                q = "{%d,%d}" % (lo, hi) if lo != hi else "{%d}" % lo
            out.append(inner + q)
        elif op == sre_c.SUBPATTERN:
            _, add, dele, sub = av
            ic = (icase or bool(add & re.IGNORECASE)) and not bool(dele & re.IGNORECASE)
            out.append("(?:" + _emit(list(sub), ic, st) + ")")
        elif op == sre_c.BRANCH:
            out.append("(?:" + "|".join(_emit(list(b), icase, st) for b in av[1]) + ")")
        elif op == sre_c.AT:
            if av in (sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING, sre_c.AT_END, sre_c.AT_END_STRING):
                continue  # handled by the caller at the ends; elsewhere an anchor inside is rare
            st["approx"] = True  # \b, \B: widened
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            st["approx"] = True
        elif op == sre_c.GROUPREF:
            st["approx"] = True
            out.append(".*")
        else:
            st["approx"] = True
            out.append(".*")
    return "".join(out)


def _required(items) -> list[str]:
    """Literal runs every match must contain (top-level concatenation, groups and mandatory repeats)."""
    runs: list[str] = []
    cur: list[str] = []

    def flush():
        if cur:
            runs.append("".join(cur))
            cur.clear()

    for op, av in items:
        if op == sre_c.LITERAL:
            cur.append(chr(av))
        elif op == sre_c.SUBPATTERN:
            flush()
            runs.extend(_required(list(av[3])))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and av[0] >= 1:
            flush()
            runs.extend(_required(list(av[2])))
        elif op == sre_c.AT:
            continue
        else:
            flush()
    flush()
    return [r for r in runs if r]


_WORD = re.compile(r"[A-Za-z0-9_]{3,}")
_HEXISH = re.compile(r"[0-9a-fA-Fx]+")


def _avoid_class(ch: str, icase: bool) -> str:
    chars = {ch, ch.lower(), ch.upper()} if icase else {ch}
    return "[^" + "".join(re.escape(c) for c in sorted(chars)) + "\\n]"


def key_word(lits: list[str]) -> str:
    words = [w for r in lits for w in _WORD.findall(r)]
    if words:
        return max(words, key=len)
    return max(lits, key=len) if lits else ""


# ----------------------------------------------------------------------------- the auditor


@dataclass
class Verdict:
    rule: Rule
    verdict: str  # match | wildcard-only | stale
    formats: list[Entry] = field(default_factory=list)
    key: str = ""
    checked: int = 0  # automaton intersections computed
    approximate: bool = False
    seconds: float = 0.0
    note: str = ""

    def to_json(self) -> dict:
        return {"pattern": self.rule.pattern, "reason": self.rule.reason, "type": self.rule.type,
                "verdict": self.verdict, "key": self.key, "intersections": self.checked,
                "approximate": self.approximate, "seconds": round(self.seconds, 4), "note": self.note,
                "formats": [{"file": e.file, "line": e.line, "func": e.func, "format": e.text,
                             "in_kernel_index": e.in_kernel_index} for e in self.formats]}


class Auditor:
    """An index prepared for auditing many rules: unique formats, fixed texts, cached automata."""

    def __init__(self, index: Index | list[Entry], max_anchored: int = 60, max_wild: int = 20, max_list: int = 20):
        entries = list(index.entries if isinstance(index, Index) else index)
        by_body: dict[bytes, list[Entry]] = {}
        for e in entries:
            by_body.setdefault(e.body, []).append(e)
        self.bodies = list(by_body)
        self.groups = [by_body[b] for b in self.bodies]
        self.formats = [F.parse(b) for b in self.bodies]
        fixed = [f.fixed_text.decode("latin-1").replace("\0", "\x00") for f in self.formats]
        self.fixed = fixed
        self.fixed_lower = [x.lower() for x in fixed]
        self._blob = "\n".join(fixed)
        self._blob_lower = self._blob.lower()
        self._offs = []
        o = 0
        for x in fixed:
            self._offs.append(o)
            o += len(x) + 1
        self.free = [i for i, f in enumerate(self.formats) if f.has_free]
        self.texty = [f.can_print_words for f in self.formats]
        self._fsm: dict[int, object] = {}
        self.max_anchored = max_anchored
        self.max_wild = max_wild
        self.max_list = max_list  # stop after this many matching formats (the verdict needs one)

    def fsm(self, i: int, avoid: str = "", icase: bool = False):
        """The automaton of format ``i``; with ``avoid``, free-text conversions cannot print that character."""
        k = (i, avoid, icase)
        got = self._fsm.get(k)
        if got is None:
            import interegular

            rx = self.formats[i].regex(for_fsm=True, free_class=_avoid_class(avoid, icase) if avoid else None)
            got = self._fsm[k] = interegular.parse_pattern(rx).to_fsm()
        return got

    def _containing(self, word: str, lower: bool) -> list[int]:
        blob = self._blob_lower if lower else self._blob
        out = []
        pos = blob.find(word)
        while pos >= 0:
            i = bisect.bisect_right(self._offs, pos) - 1
            if not out or out[-1] != i:
                out.append(i)
            # jump to the next format
            nxt = self._offs[i + 1] if i + 1 < len(self._offs) else len(blob)
            pos = blob.find(word, nxt)
        return out

    def audit(self, rule: Rule | str) -> Verdict:
        import interegular

        t0 = time.perf_counter()
        if isinstance(rule, str):
            rule = Rule(rule)
        cr = compile_rule(rule)
        try:
            rfsm = interegular.parse_pattern(cr.regex).to_fsm()
        except Exception as e:  # interegular rejects a construct
            raise ConfigError(f"cannot build an automaton for {rule.pattern!r}: {e}", file=rule.source or None) from e
        words = sorted({w for r in cr.literals for w in _WORD.findall(r)}, key=len, reverse=True)
        if not words and cr.literals:
            words = [max(cr.literals, key=len)]
        texts = self.fixed_lower if cr.ignorecase else self.fixed
        checked = 0

        def overlap(i):
            return sum(len(w) for w in words if w in texts[i])

        # the key: the rarest required word that some format's fixed text contains (ties: the longer)
        key, cands = "", []
        best = None
        for w in words:
            c = self._containing(w.lower() if cr.ignorecase else w, cr.ignorecase)
            if c and (best is None or (len(c), -len(w)) < (len(best[1]), -len(best[0]))):
                best = (w, c)
        if best is not None:
            key, cands = best
        # exact necessary condition: a word that is not in the fixed text must come from a conversion
        # that can print letters (%s, %pS, %pe...), unless it is all hex digits
        texty = self.texty
        need = [w for w in words if not _HEXISH.fullmatch(w)]
        cands = [i for i in cands if all(w in texts[i] for w in need) or texty[i]]
        matched: list[int] = []
        if key:
            avoid = key[0]
            cands.sort(key=lambda i: (-overlap(i), -self.formats[i].literal_chars))
            top = None
            for i in cands[: self.max_anchored]:
                if top is not None and overlap(i) < top:
                    break  # found one: only formats as specific as it are worth listing
                checked += 1
                # free-text conversions may not supply the key here: its first letter is kept out of them
                if not rfsm.intersection(self.fsm(i, avoid, cr.ignorecase)).empty():
                    matched.append(i)
                    top = overlap(i) if top is None else top
                    if len(matched) >= self.max_list:
                        break
        if matched:
            v = "match"
            found = matched
        else:
            # a format counts only if its fixed text shares one of the rule's words: a rule that an
            # arbitrary %s alone could satisfy would "match" every message with a %s, i.e. tell nothing
            # (at least half of the rule's words: "frobnicated widget quux" is not made live by "widget")
            need_n = (len(words) + 1) // 2
            pool = [i for i in self.free if sum(w in texts[i] for w in words) >= need_n] if words else self.free
            wild = sorted(pool, key=lambda i: (-overlap(i), -self.formats[i].literal_chars))
            found = []
            for i in wild[: self.max_wild]:
                checked += 1
                if not rfsm.intersection(self.fsm(i)).empty():
                    found.append(i)
                    if len(found) >= max(1, self.max_list // 4):
                        break
            v = "wildcard-only" if found else "stale"
        ents = [e for i in found for e in self.groups[i][:1]]
        note = ""
        if found and all(not e.in_kernel_index for i in found for e in self.groups[i]):
            note = "only formats outside the kernel's index match (netdev_*, dev_err_probe, WARN, debug...)"
        return Verdict(rule, v, ents, key, checked, cr.approximate, time.perf_counter() - t0, note)

    def audit_all(self, rules: list[Rule], progress: bool | None = None) -> list[Verdict]:
        import sys

        it = rules
        bar = None
        if progress is None:
            progress = sys.stderr.isatty() and len(rules) > 3
        if progress:
            from tqdm import tqdm

            it = bar = tqdm(rules, unit="rule", desc="audit", leave=False)
        out = [self.audit(r) for r in it]
        if bar is not None:
            bar.close()
        return out


__all__ = ["Rule", "load_rules", "parse_rules", "compile_rule", "Auditor", "Verdict", "key_word"]
