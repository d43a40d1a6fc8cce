"""Audit monitoring rules (regexes over log lines) against a printk index.

For every rule the verdict is one of (the issue's definitions, decided with automata):

``match``
    the rule matches a message of some format *through the format's literal text*: in at least
    one message both accept, one of the rule's words (a run of 3 or more letters, digits or ``_``
    in its literal text; the longest literal run when it has none) is printed by the format's fixed
    text, not by a conversion.  The rule is live;
``wildcard-only``
    the rule can match a message of some format, but only with every one of its words printed by
    conversions (``%s``, ``%pV``, ``%pS``...): it depends on run-time arguments and is fragile.  The
    verdict's note says how much of the rule the best such format's fixed text shares: a format that
    prints nothing of it, like ``"%s\\n"``, fits any rule;
``stale``
    no message of this kernel can match: no format accepts any string the rule accepts.  Families
    outside the kernel's index are kept in lwnlab's index with ``in_kernel_index=False`` and count.

How (the reference's approach; brute force over ~150k formats would take minutes per rule):

1. the rule is parsed with Python's own regex parser and re-emitted in the syntax interegular
   accepts (POSIX ``[[:alpha:]]`` classes translated, ``(?i)`` turned into explicit ``[aA]``
   classes).  ``\\b``, ``\\B``, lookarounds and backreferences are widened to "anything" (which
   only adds strings) and the verdict is flagged ``approximate``;
2. **exact test** for ``match``: the format's fixed-text characters are written as *marked* twins
   (:func:`lwnlab.printk.fmt.mark`) and its conversions as plain text; the rule is re-emitted so that
   its wildcards accept both, its literals either, and the characters of one of its words (each word
   in turn, as alternatives) only the marked twins.  A non-empty intersection is a message in which
   that word comes from the fixed text;
3. **prefilter**: only formats whose fixed text contains one of the rule's words are candidates for
   that test, and only where the rule's literal text around the word agrees with the format's up to
   a conversion (:func:`_fits`; both necessary conditions), ranked by the rule text they share, the
   rarest word first.  At most ``max_anchored`` formats and ``max_checks`` intersections per rule
   are tried (the note says so when the limit cut a ``match`` search short);
4. ``wildcard-only`` / ``stale``: the plain intersection with the formats that have a text
   conversion, the ones sharing most of the rule first, then the most permissive ones (least fixed
   text).  ``stale`` therefore means none of the ``max_wild`` best-ranked ones nor the
   ``max_bare`` most permissive ones fits; with a format like ``"%s\\n"`` in the index (every
   kernel has some) only a rule that no string satisfies is stale.
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
    stripped = text.lstrip()
    data = None
    if stripped.startswith("{") or str(source).endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"invalid JSON: {e}", file=source or None) from e
    elif stripped.startswith("["):  # a JSON list of rules, or a plain list whose first regex is a [class]
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    if data is not None:
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
    words: list[str] = field(default_factory=list)  # the words of the marked test (lower-cased with (?i))
    marked: list[tuple[str, str]] = field(default_factory=list)  # (word, the rule with that word marked)


def _posix(pat: str) -> str:
    return re.sub(r"\[:([a-z]+):\]", lambda m: POSIX.get(m.group(1), m.group(0)), pat)


def compile_rule(rule: Rule) -> CompiledRule:
    pat = _posix(rule.pattern)
    try:
        tree = sre_parse.parse(pat)
    except re.error as e:
        raise ConfigError(f"bad regex {rule.pattern!r}: {e.msg}", file=rule.source or None,
                          column=(e.pos + 1) if e.pos is not None else None) from e
    size = _expanded_size(list(tree))
    if size > MAX_RULE_SIZE:
        # interegular unrolls {m,n} into states: a{99999} would take minutes and gigabytes to build
        raise ConfigError(f"rule {rule.pattern[:60]!r} is too large for an exact automaton: about {size} states "
                          f"once its repetition counts are unrolled (the limit is {MAX_RULE_SIZE})",
                          file=rule.source or None)
    icase = bool(tree.state.flags & re.IGNORECASE)
    st = {"approx": False, "lit": 0, "groups": []}
    items = list(tree)
    a_start = bool(items) and items[0][0] == sre_c.AT and items[0][1] in (sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING)
    a_end = bool(items) and items[-1][0] == sre_c.AT and items[-1][1] in (sre_c.AT_END, sre_c.AT_END_STRING)
    body = _emit(items, icase, st)
    pre, post = ("" if a_start else ".*"), ("" if a_end else ".*")
    rx = pre + "(?:" + body + ")" + post
    lits = [x.lower() if icase else x for x in _required(items)]
    groups = [g for g in st["groups"] if len(g[1]) >= 3]
    if not groups and st["groups"]:  # no word: the longest literal run stands for one
        groups = [max(st["groups"], key=lambda g: len(g[1]))]
    words = list(dict.fromkeys(w.lower() if icase else w for _, w in groups))
    marked = []
    for ids, w in groups:  # one automaton per word: a union of them all can blow up while it is built
        ms = {"approx": False, "lit": 0, "groups": [], "forced": set(ids)}
        marked.append((w.lower() if icase else w, pre + "(?:" + _emit(items, icase, ms) + ")" + post))
    return CompiledRule(rule, rx, lits, icase, st["approx"], a_start, a_end, words, marked)


MAX_RULE_SIZE = 1000  # automaton positions of a rule with its {m,n} counts unrolled


def _expanded_size(items) -> int:
    """How many automaton positions a parsed regex needs once ``{m,n}`` repetitions are unrolled."""
    n = 0
    for op, av in items:
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            reps = lo + 1 if hi == sre_c.MAXREPEAT else max(hi, 1)
            n += reps * _expanded_size(list(sub))
        elif op == sre_c.SUBPATTERN:
            n += _expanded_size(list(av[-1]))
        elif op == sre_c.BRANCH:
            n += sum(_expanded_size(list(b)) for b in av[1])
        elif op in (getattr(sre_c, "ATOMIC_GROUP", None),) and av is not None:
            n += _expanded_size(list(av))
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            n += _expanded_size(list(av[1]))
        else:
            n += 1
        if n > 10 * MAX_RULE_SIZE:
            return n
    return n


def _esc(ch: str) -> str:
    return re.escape(ch) if ch not in " " else " "


def _mk(ch: str) -> str:
    return F.mark(ch) if ord(ch) < 256 else ch


# the marked twins of the characters of \d, \s and \w (the characters a format's fixed text can have)
_MARKED_CAT = {sre_c.CATEGORY_DIGIT: _mk("0") + "-" + _mk("9"),
               sre_c.CATEGORY_SPACE: "".join(_mk(c) for c in " \t\n\r\f\v"),
               sre_c.CATEGORY_WORD: _mk("a") + "-" + _mk("z") + _mk("A") + "-" + _mk("Z") + _mk("0") + "-" + _mk("9") + _mk("_")}


_NEG_CAT = {sre_c.CATEGORY_NOT_SPACE: sre_c.CATEGORY_SPACE, sre_c.CATEGORY_NOT_WORD: sre_c.CATEGORY_WORD,
            sre_c.CATEGORY_NOT_DIGIT: sre_c.CATEGORY_DIGIT}


def _class_item(op, av, icase, marked: bool = False) -> str:
    if op == sre_c.LITERAL:
        c = chr(av)
        chars = [c.lower(), c.upper()] if icase and c.lower() != c.upper() else [c]
        out = "".join(_esc(x) for x in chars)
        if marked:
            out += "".join(_mk(x) for x in chars)
        return out
    if op == sre_c.RANGE:
        a, b = chr(av[0]), chr(av[1])
        pairs = [(a, b)]
        if icase and a.isalpha() and b.isalpha():
            pairs.append((a.swapcase(), b.swapcase()))
        out = "".join(f"{_esc(x)}-{_esc(y)}" for x, y in pairs)
        if marked:
            out += "".join(f"{_mk(x)}-{_mk(y)}" for x, y in pairs if ord(y) < 256)
        return out
    if op == sre_c.CATEGORY:
        plain = {sre_c.CATEGORY_DIGIT: r"0-9", sre_c.CATEGORY_NOT_DIGIT: r"\D", sre_c.CATEGORY_SPACE: r"\s",
                 sre_c.CATEGORY_NOT_SPACE: r"\S", sre_c.CATEGORY_WORD: r"\w", sre_c.CATEGORY_NOT_WORD: r"\W"}[av]
        # (\D, \S and \W accept every marked character already, which is a little wider than exact)
        return plain + (_MARKED_CAT.get(av, "") if marked else "")
    raise ValueError(op)


def _emit(items, icase, st) -> str:
    """Re-emit a parsed rule for interegular.  ``st["lit"]`` numbers the literal characters in order and
    ``st["groups"]`` collects ``(ids, word)`` of the runs of word characters among consecutive literals.
    With ``st["forced"]`` (a set of literal ids) the marked flavour is emitted: wildcards and classes
    accept characters and their marked twins, the literals in ``forced`` only their marked twins."""
    forced = st.get("forced")
    marked = forced is not None
    out = []
    run: list[tuple[int, str]] = []  # consecutive literal characters: (id, char)

    def flush():
        cur: list[tuple[int, str]] = []
        for i, ch in run + [(-1, " ")]:
            if ch.isalnum() or ch == "_":
                cur.append((i, ch))
                continue
            if cur:
                st["groups"].append(([x for x, _ in cur], "".join(c for _, c in cur)))
            cur = []
        if run and not any(ch.isalnum() or ch == "_" for _, ch in run):
            st["groups"].append(([x for x, _ in run], "".join(c for _, c in run)))  # a run without word characters
        run.clear()

    for op, av in items:
        if op != sre_c.LITERAL:
            flush()
        if op == sre_c.LITERAL:
            lid = st["lit"]
            st["lit"] += 1
            ch = chr(av)
            run.append((lid, ch))
            if not marked:
                out.append("[" + _class_item(op, av, icase) + "]" if icase and ch.isalpha() else _esc(ch))
            elif lid in forced:
                chars = [ch.lower(), ch.upper()] if icase and ch.lower() != ch.upper() else [ch]
                out.append("[" + "".join(_mk(x) for x in chars) + "]")
            else:
                out.append("[" + _class_item(op, av, icase, True) + "]")
        elif op == sre_c.NOT_LITERAL:
            out.append("[^" + _class_item(sre_c.LITERAL, av, icase, marked) + "]")
        elif op == sre_c.ANY:
            out.append(".")
        elif op == sre_c.IN:
            neg = av and av[0][0] == sre_c.NEGATE
            if marked and len(av) == 1 and av[0][0] == sre_c.CATEGORY and av[0][1] in _NEG_CAT:
                # \S, \W, \D alone: also refuse the marked twins of what they refuse (exact, and a far
                # smaller automaton than accepting every marked character)
                pos = _NEG_CAT[av[0][1]]
                out.append("[^" + _class_item(sre_c.CATEGORY, pos, icase, True) + "]")
                continue
            parts = [_class_item(o, a, icase, marked) for o, a in (av[1:] if neg else av)]
            out.append("[" + ("^" if neg else "") + "".join(parts) + "]")
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            first = st["lit"]
            inner = "(?:" + _emit(list(sub), icase, st) + ")"
            if marked and lo == 0 and any(first <= x < st["lit"] for x in forced):
                lo = 1  # the forced word is inside: it must be there
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
            alts = []
            for b in av[1]:
                first = st["lit"]
                alts.append((_emit(list(b), icase, st), marked and any(first <= x < st["lit"] for x in forced)))
            if any(f for _, f in alts):
                alts = [a for a in alts if a[1]]  # the forced word is in this branch: take it
            out.append("(?:" + "|".join(a for a, _ in alts) + ")")
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
    flush()
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


def _fits(text: str, w: str, left: str, right: str) -> bool:
    """Can ``left + w + right`` (a literal run of a rule) be printed with ``w`` from the fixed text ``text``
    (conversions are NULs)?  Around an occurrence of ``w`` the neighbours must be the rule's, up to a
    conversion, which may print anything.  A necessary condition of the automaton test, in linear time."""
    p = text.find(w)
    n = len(text)
    while p >= 0:
        ok = True
        q = p - 1
        for ch in reversed(left):
            if q < 0 or (text[q] != "\0" and text[q] != ch):
                ok = q >= 0 and text[q] == "\0"
                break
            if text[q] == "\0":
                break
            q -= 1
        if ok:
            q = p + len(w)
            for ch in right:
                if q >= n or (text[q] != "\0" and text[q] != ch):
                    ok = q < n and text[q] == "\0"
                    break
                if text[q] == "\0":
                    break
                q += 1
        if ok:
            return True
        p = text.find(w, p + 1)
    return False


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

    def __init__(self, index: Index | list[Entry], max_anchored: int = 30, max_wild: int = 20, max_list: int = 20,
                 max_bare: int = 5, max_checks: int = 40):
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
        # the most permissive formats with a text conversion first ("%s\n" fits any rule)
        self.bare = sorted((i for i, t in enumerate(self.texty) if t), key=lambda i: self.formats[i].literal_chars)
        self._fsm: dict[int, object] = {}
        self._fsm_marked: dict[int, object] = {}
        self.max_anchored = max_anchored
        self.max_wild = max_wild
        self.max_bare = max_bare
        self.max_list = max_list  # stop after this many matching formats (the verdict needs one)
        self.max_checks = max_checks  # automaton intersections for the "match" test, at most, per rule

    def fsm(self, i: int):
        """The automaton of format ``i``."""
        got = self._fsm.get(i)
        if got is None:
            import interegular

            got = self._fsm[i] = interegular.parse_pattern(self.formats[i].regex(for_fsm=True)).to_fsm()
        return got

    def fsm_marked(self, i: int):
        """The automaton of format ``i`` with its fixed text marked (:meth:`Format.regex_marked`)."""
        got = self._fsm_marked.get(i)
        if got is None:
            import interegular

            got = self._fsm_marked[i] = interegular.parse_pattern(self.formats[i].regex_marked()).to_fsm()
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
        mfsms: dict[int, object] = {}

        def marked_fsm(k):
            if k not in mfsms:
                mfsms[k] = interegular.parse_pattern(cr.marked[k][1]).to_fsm()
            return mfsms[k]
        words = cr.words
        texts = self.fixed_lower if cr.ignorecase else self.fixed
        checked = 0

        def shared(i):
            return sum(len(w) for w in words if w in texts[i])

        # formats whose fixed text has one of the rule's words: only they can supply one (a necessary
        # condition of the marked test); the key is the rarest such word, for the report
        per_word = {w: self._containing(w, cr.ignorecase) for w in words}
        key = min((w for w in words if per_word[w]), key=lambda w: (len(per_word[w]), -len(w)), default="")
        cands = sorted({i for c in per_word.values() for i in c}, key=lambda i: (-shared(i), -self.formats[i].literal_chars))
        # a word the fixed text lacks must come from a conversion that can print letters (unless all hex digits)
        required = {w.lower() if cr.ignorecase else w for r in cr.literals for w in _WORD.findall(r)}
        need = [w for w in required if not _HEXISH.fullmatch(w)]
        texty = self.texty
        matched: list[int] = []
        limited = False
        if cr.marked:
            top = None
            # where each word sits in a required literal run of the rule, for the context check below
            runs = [r for r in cr.literals]
            ctx = {}
            for w, _rx in cr.marked:
                for r in runs:
                    o = r.find(w)
                    if o >= 0:
                        ctx[w] = (r[:o], r[o + len(w):])
                        break
            order = sorted(range(len(cr.marked)), key=lambda k: len(per_word.get(cr.marked[k][0], ())))  # rarest first
            for i in [i for i in cands if texty[i] or all(w in texts[i] for w in need)][: self.max_anchored]:
                if top is not None and shared(i) < top:
                    break  # found one: only formats as specific as it are worth listing
                if checked >= self.max_checks:
                    limited = True
                    break
                fm = None
                for k in order:
                    w = cr.marked[k][0]
                    if w not in texts[i] or (w in ctx and not _fits(texts[i], w, *ctx[w])):
                        continue  # its fixed text cannot print this word where the rule has it
                    checked += 1
                    if fm is None:
                        fm = self.fsm_marked(i)
                    if not marked_fsm(k).intersection(fm).empty():
                        matched.append(i)
                        top = shared(i) if top is None else top
                        break
                if len(matched) >= self.max_list:
                    break
        note = ""
        if matched:
            v = "match"
            found = matched
        else:
            # only conversions could print the rule's words: any format with a text conversion, those
            # sharing most of the rule first, then the most permissive ones
            pool = [i for i in cands if texty[i]][: self.max_wild]
            pool += [i for i in self.bare[: self.max_bare + len(pool)] if i not in pool][: self.max_bare]
            found = []
            for i in pool:
                checked += 1
                if not rfsm.intersection(self.fsm(i)).empty():
                    found.append(i)
                    if len(found) >= max(1, self.max_list // 4):
                        break
            v = "wildcard-only" if found else "stale"
            if found:
                best = max(sum(w in texts[i] for w in words) for i in found)
                note = (f"the best such format's own text has {best} of the rule's {len(words)} words" if best else
                        "only formats that print none of the rule's words themselves fit it (e.g. \"%s\")")
        if limited and not matched:
            note = (note + "; " if note else "") + f"'match' tested on the {self.max_checks} most promising pairs only"
        ents = [e for i in found for e in self.groups[i][:1]]
        if found and all(not e.in_kernel_index for i in found for e in self.groups[i]):
            note = (note + "; " if note else "") + \
                "only formats outside the kernel's index match (netdev_*, dev_err_probe, WARN, debug...)"
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
