"""Decision tables say what they do: a UNIQUE table whose rows overlap is refused.

Why: the DMN hit policy is a promise to every reader. UNIQUE (the default when hitPolicy is
absent) promises that at most one row matches any input; FIRST says rows may overlap and the
first matching one wins. SpiffWorkflow 3 does not check UNIQUE when it runs: it stops at the
first matching row, so an overlapping UNIQUE table quietly behaves as FIRST while a reader, the
modeler and any standard DMN engine take it to mean "order does not matter". Reordering its rows
would then change the time limits without anyone noticing. FIRST, PRIORITY, ANY and COLLECT
tables may overlap and are not checked here.

How: two rows overlap when, for every input column, their entries share a value. Each entry is
read into a union of points and numeric intervals, possibly negated: empty or "-" (anything),
literals ("help", 3, True/true, False/false), comma lists ("a","b" as the DMN standard means
it: either), comparisons (< 5, >= 3), ranges ([1..5], ]1..5[), not(...), and the Python forms
SpiffWorkflow evaluates (in ("a", "b"), not in (...), != "a", 1 < ? < 5). Sharing a value is
proven by finding one (the message shows it). An entry read no other way (any other expression)
proves nothing, so it never gets a deployment refused.
"""
import ast
import json
import math
import re
from dataclasses import dataclass
from itertools import combinations, pairwise

from lxml import etree

from .problems import Problem, label

OTHER = object()  # "a value no entry names": exists in the string domain


@dataclass(frozen=True)
class Entry:
    """The values an input entry matches: its atoms ("eq", v) or ("range", lo, lo_in, hi, hi_in), or all but them."""
    atoms: tuple = ()
    negated: bool = False

    def matches(self, value) -> bool:
        return any(_atom_matches(a, value) for a in self.atoms) != self.negated


ANYTHING = Entry((), negated=True)


def read_entry(text: str | None) -> Entry | None:
    """The Entry an input entry's text means, or None when it is an expression this module cannot read."""
    text = (text or "").strip()
    if text in ("", "-"):
        return ANYTHING
    if m := re.fullmatch(r"(not\s+)?in\s*[(\[](.*)[)\]]", text, re.DOTALL):
        inner = _atoms(m.group(2))
        return Entry(inner, bool(m.group(1))) if inner is not None else None
    if text.startswith("!="):
        inner = _atoms(text[2:])
        return Entry(inner, True) if inner is not None and len(inner) == 1 else None
    if (m := re.fullmatch(r"not\s*\((.*)\)", text, re.DOTALL)) and (inner := _atoms(m.group(1))) is not None:
        return Entry(inner, True)
    between = re.fullmatch(r"(\S+)\s*(<=|<)\s*\?\s*(<=|<)\s*(\S+)", text)
    if between and (lo := _number(between.group(1))) is not None and (hi := _number(between.group(4))) is not None:
        return Entry((("range", lo, between.group(2) == "<=", hi, between.group(3) == "<="),))
    atoms = _atoms(text)
    return Entry(atoms) if atoms is not None else None


def _atoms(text: str) -> tuple | None:
    items = [_atom(item.strip()) for item in _split(text)]
    return tuple(items) if items and None not in items else None


def _atom(text: str):
    """One item of a list: a literal, a comparison with a number, or a range."""
    if m := re.fullmatch(r"(<=|>=|<|>)\s*(.+)", text):
        op, bound = m.group(1), _number(m.group(2))
        if bound is None:
            return None
        return ("range", bound, op == ">=", math.inf, False) if op[0] == ">" else \
            ("range", -math.inf, False, bound, op == "<=")
    if m := re.fullmatch(r"([\[\](])\s*(\S+?)\s*\.\.\s*(\S+?)\s*([\[\])])", text):
        lo, hi = _number(m.group(2)), _number(m.group(3))
        return None if lo is None or hi is None else ("range", lo, m.group(1) == "[", hi, m.group(4) == "]")
    if text.startswith("=="):
        text = text[2:].strip()
    if text in ("true", "false"):  # FEEL spells the booleans in lower case
        return ("eq", text == "true")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return ("eq", value) if isinstance(value, (str, int, float)) else None


def _number(text: str):
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return None
    return value if _is_number(value) else None


def _split(text: str) -> list[str]:
    """The items of a comma list, ignoring commas inside quotes."""
    items, quote, start = [], "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ",":
            items.append(text[start:i])
            start = i + 1
    return [*items, text[start:]]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _atom_matches(atom, value) -> bool:
    if value is OTHER:
        return False
    if atom[0] == "eq":
        return value == atom[1] and isinstance(value, bool) == isinstance(atom[1], bool)
    _, lo, lo_in, hi, hi_in = atom
    return _is_number(value) and (lo < value or (lo_in and lo == value)) and (value < hi or (hi_in and value == hi))


def shared_value(a: Entry, b: Entry, type_ref: str | None):
    """A value both entries match (ANYTHING when both match anything, OTHER for "any value they do
    not name"), or None when no common value is found (they are disjoint or cannot be read)."""
    if a == b == ANYTHING:
        return ANYTHING
    return next((v for v in _candidates(a, b, (type_ref or "").lower()) if a.matches(v) and b.matches(v)), None)


def _candidates(a: Entry, b: Entry, type_ref: str) -> list:
    """Values that decide it: whether an entry matches is the same all along between the points and
    bounds the two entries name, so one value per stretch (and the points themselves) will do."""
    atoms = a.atoms + b.atoms
    values = [x[1] for x in atoms if x[0] == "eq"]
    bounds = sorted({x for atom in atoms if atom[0] == "range" for x in (atom[1], atom[3])} - {-math.inf, math.inf}
                    | {v for v in values if _is_number(v)}) or [0]
    kind = _KINDS.get(type_ref) or (
        "number" if any(x[0] == "range" or _is_number(x[1]) for x in atoms)
        else "boolean" if values and all(isinstance(v, bool) for v in values)
        else "string" if all(isinstance(v, str) for v in values) else "")
    if kind == "boolean":
        return [True, False]
    if kind == "string":  # there are always more strings than the entries name
        return [v for v in values if isinstance(v, str)] + [OTHER]
    if kind == "integer":
        return sorted({n for x in bounds for n in (math.floor(x) - 1, math.floor(x), math.ceil(x), math.ceil(x) + 1)})
    numbers = [bounds[0] - 1, *bounds, *((x + y) / 2 for x, y in pairwise(bounds)), bounds[-1] + 1]
    return numbers if kind == "number" else values + numbers


_KINDS = {"boolean": "boolean", "string": "string", "integer": "integer", "int": "integer", "long": "integer",
          "number": "number", "double": "number", "decimal": "number", "float": "number"}


def unique_rows_overlap(file, tree, _bundle) -> list[Problem]:
    """A decision table whose hit policy is UNIQUE (or absent) has no two rows that match the same input."""
    ns = "{" + (etree.QName(tree).namespace or "") + "}"
    found = []
    for table in tree.iter(ns + "decisionTable"):
        if (table.get("hitPolicy") or "UNIQUE").upper() != "UNIQUE":
            continue
        inputs = table.findall(ns + "input")
        expressions = [i.find(ns + "inputExpression") for i in inputs]
        types = [e.get("typeRef") if e is not None else None for e in expressions]
        names = [i.get("label") or i.findtext(f"{ns}inputExpression/{ns}text") or i.get("id") for i in inputs]
        rows = [(n, rule, [read_entry(e.findtext(ns + "text")) for e in rule.findall(ns + "inputEntry")])
                for n, rule in enumerate(table.findall(ns + "rule"), start=1)]
        for (n1, rule1, entries1), (n2, rule2, entries2) in combinations(rows, 2):
            if len(entries1) != len(inputs) or len(entries2) != len(inputs) or None in entries1 + entries2:
                continue
            shared = [shared_value(a, b, t) for a, b, t in zip(entries1, entries2, types)]
            if None not in shared:
                found.append(_overlap(file, table, ns, (n1, rule1), (n2, rule2), list(zip(names, shared))))
    return found


def _overlap(file, table, ns, first, second, example) -> Problem:
    """The Problem of two overlapping rows (row number, rule element) with one input both match."""
    name = table.get("label") or table.get("name") or table.getparent().get("name") or ""
    table_zh, table_en = label(table.get("id") or "", name)
    rows = [(n, rule.get("id"), (rule.findtext(ns + "description") or "").strip()) for n, rule in (first, second)]
    row_zh = [f"第 {n} 行 {rule_id}" + (f"（{text}）" if text else "") for n, rule_id, text in rows]
    row_en = [f"row {n} {rule_id}" + (f" ({text})" if text else "") for n, rule_id, text in rows]
    shown = [(column, _show(value)) for column, value in example if value is not ANYTHING]
    example_zh = "、".join(f"{column} = {zh}" for column, (zh, _) in shown) or "任意输入"
    example_en = ", ".join(f"{column} = {en}" for column, (_, en) in shown) or "any input"
    return Problem(
        file, table.get("id") or "", name, "hit_policy",
        f"决策表 {table_zh} 的命中策略是 UNIQUE（唯一命中；未写 hitPolicy 时即为 UNIQUE），但{row_zh[0]}与"
        f"{row_zh[1]}会同时命中（例如 {example_zh}）。如果应按顺序取第一条命中的规则，请把命中策略改为 FIRST；"
        "否则请修改这两行，使它们互不重叠",
        f"decision table {table_en} has hit policy UNIQUE (also the default when hitPolicy is absent), but "
        f"{row_en[0]} and {row_en[1]} both match (e.g. {example_en}). If the first matching row should win, set "
        "the hit policy to FIRST; otherwise change the two rows so that they do not overlap",
        table.sourceline)


def _show(value) -> tuple[str, str]:
    if value is OTHER:
        return "其他任意值", "any other value"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
    return text, text
