"""Art. 14, 17, 20 time limits; issue: decision table is sound. A UNIQUE decision table (the
default hit policy) whose rows can both match one input is refused before deployment, naming the
table and both rows; FIRST, PRIORITY, ANY and COLLECT tables may overlap; entries are read in the
forms the tables use, and an entry that cannot be read never gets a deployment refused."""
from types import SimpleNamespace
from xml.sax.saxutils import escape

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from runtime import repository as definitions
from runtime import validation
from runtime.dmn_soundness import read_entry, shared_value, unique_rows_overlap

BUNDLE = definitions.read_bundle()


def table(*rows, policy="UNIQUE", types=("string", "boolean")) -> str:
    """A decision table (DMN 1.3) with one input column per type (labels col0, col1, ...; inputs x0,
    x1, ...), rule r<n> described "row <n>" per row of entries, and one output: the row number."""
    inputs = "".join(f'<input id="in{i}" label="col{i}"><inputExpression id="ex{i}" typeRef="{t}">'
                     f"<text>x{i}</text></inputExpression></input>" for i, t in enumerate(types))
    rules = "".join(
        f'<rule id="r{n}"><description>row {n}</description>'
        + "".join(f'<inputEntry id="r{n}_{i}"><text>{escape(e)}</text></inputEntry>' for i, e in enumerate(entries))
        + f'<outputEntry id="r{n}_out"><text>"{n}"</text></outputEntry></rule>'
        for n, entries in enumerate(rows, start=1))
    hit = f' hitPolicy="{policy}"' if policy else ""
    return ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">'
            f'<decision id="limits" name="时限"><decisionTable id="limits_table"{hit}>{inputs}'
            f'<output id="out" name="row" typeRef="string" />{rules}</decisionTable></decision></definitions>')


def problems_of(xml: str):
    return unique_rows_overlap("t.dmn", etree.fromstring(xml.encode()), {})


def test_overlapping_rows_of_a_unique_table_are_refused_naming_the_table_and_both_rows():
    found = problems_of(table(('"help"', "True"), ("-", "True"), ('"complaint"', "False")))
    assert [(p.rule, p.element_id, p.file) for p in found] == [("hit_policy", "limits_table", "t.dmn")]
    problem = found[0]
    assert "「时限」(limits_table)" in problem.message and "UNIQUE" in problem.message
    assert "第 1 行 r1（row 1）与第 2 行 r2（row 2）会同时命中" in problem.message
    assert 'col0 = "help"、col1 = True' in problem.message and "FIRST" in problem.message
    assert "row 1 r1 (row 1) and row 2 r2 (row 2) both match" in problem.message_en


def test_a_table_without_a_hit_policy_is_unique():
    assert len(problems_of(table(('"a"', ""), ('"a"', "False"), policy=None))) == 1


def test_disjoint_rows_of_a_unique_table_pass():
    assert problems_of(table(('"a"', "True"), ('"a"', "False"), ('"b"', ""), ('"c","d"', "-"))) == []


@pytest.mark.parametrize("policy", ["FIRST", "PRIORITY", "ANY", "COLLECT", "first"])
def test_other_hit_policies_may_overlap(policy):
    assert problems_of(table(('"help"', "True"), ("", "True"), ("", ""), policy=policy)) == []


def test_every_overlapping_pair_is_reported_once():
    found = problems_of(table(("-", "-"), ('"a"', "-"), ('"b"', "True"), types=("string", "boolean")))
    pairs = [tuple(r for r in ("r1", "r2", "r3") if f" {r}（" in p.message) for p in found]
    assert pairs == [("r1", "r2"), ("r1", "r3")]


def test_an_entry_it_cannot_read_never_refuses_a_deployment():
    assert read_entry("x0.startswith('he')") is None
    assert problems_of(table(("x0.startswith('he')", "True"), ("-", "True"))) == []


# (entry, entry, column type, do they share a value)
ENTRY_PAIRS = [
    ("", "-", "string", True),                     # both match anything
    ('"a"', "", "string", True),
    ('"a"', '"b"', "string", False),
    ('"a","b"', '"b"', "string", True),            # a comma list matches either value
    ('"a", "b"', '"c"', "string", False),
    ('"a,b"', '"a"', "string", False),             # a comma inside quotes is part of the value
    ('in ("a", "b")', '"b"', "string", True),      # the Python form SpiffWorkflow evaluates
    ('not in ("a", "b")', '"b"', "string", False),
    ('not("a")', '"a"', "string", False),
    ('not("a")', '"b"', "string", True),
    ('not("a", "b")', "-", "string", True),        # any other string
    ('!= "a"', '"a"', "string", False),
    ("True", "true", "boolean", True),
    ("false", "True", "boolean", False),
    ("not(True)", "True", "boolean", False),
    ("not(true)", "False", "boolean", True),
    ("not(True)", "not(False)", "boolean", False),  # a boolean is one or the other
    ("< 5", ">= 5", "number", False),
    ("<= 5", ">= 5", "number", True),
    ("[1..5]", "]5..10]", "number", False),
    ("[1..5]", "[5..10]", "number", True),
    ("[1..5[", ">= 5", "number", False),
    ("(1..5)", "1", "number", False),
    ("3", "[1..5]", "integer", True),
    ("3, 7", "[4..6]", "integer", False),
    ("> 2", "< 3", "integer", False),              # no whole number between
    ("> 2", "< 3", "number", True),                # 2.5
    ("1 < ? < 5", ">= 5", "number", False),
    ("not([1..5])", "3", "number", False),
    ("not([1..5])", "6", "number", True),
    ("< 5", '"a"', "string", False),               # not proven
]


@pytest.mark.parametrize("a, b, type_ref, shared", ENTRY_PAIRS)
def test_entries_share_a_value(a, b, type_ref, shared):
    left, right = read_entry(a), read_entry(b)
    assert None not in (left, right)
    assert (shared_value(left, right, type_ref) is not None) is shared
    assert (shared_value(right, left, type_ref) is not None) is shared


def test_the_ranges_in_a_table_are_checked_per_column():
    rows = (('"complaint"', "< 3"), ('"complaint"', "[3..5]"), ('"complaint"', "]4..10]"))
    found = problems_of(table(*rows, types=("string", "integer")))
    assert len(found) == 1 and "第 2 行 r2（row 2）与第 3 行 r3（row 3）" in found[0].message
    assert "col1 = 5" in found[0].message


def spiff_rows(xml: str, **data) -> str:
    """The output SpiffWorkflow's DMN engine gives for `data` (the row number)."""
    parser = BpmnDmnParser()
    parser.add_dmn_xml(etree.fromstring(xml.encode()), filename="t.dmn")
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=PythonScriptEngine()))
    return parser.get_engine("limits", None).result(task).get("row")


def test_spiffworkflow_runs_first_as_the_first_matching_row_and_does_not_check_unique():
    rows = (('"help"', "True"), ("-", "True"), ("-", "-"))
    for policy in ("FIRST", "UNIQUE"):  # UNIQUE is not enforced: it stops at the first match
        xml = table(*rows, policy=policy)
        assert spiff_rows(xml, x0="help", x1=True) == "1"
        assert spiff_rows(xml, x0="complaint", x1=True) == "2"
        assert spiff_rows(xml, x0="complaint", x1=False) == "3"


def test_the_repository_table_declares_first_and_passes():
    assert 'hitPolicy="FIRST"' in BUNDLE["time_limits.dmn"]
    assert [p for p in validation.check(BUNDLE) if p.file == "time_limits.dmn"] == []


def test_the_repository_table_declared_unique_is_refused_on_deployment(db):
    """Its rows overlap on purpose (urgent rows first, then the general ones): as UNIQUE it says otherwise."""
    dmn = BUNDLE["time_limits.dmn"].replace('hitPolicy="FIRST"', 'hitPolicy="UNIQUE"')
    assert dmn != BUNDLE["time_limits.dmn"]
    files = {**BUNDLE, "time_limits.dmn": dmn}
    with pytest.raises(validation.BundleInvalid) as err, db.transaction() as session:
        definitions.deploy(session, files)
    assert list(err.value.fields) == ["time_limits.dmn:time_limits_table"]
    assert {p.rule for p in err.value.problems} == {"hit_policy"}
    messages = err.value.fields["time_limits.dmn:time_limits_table"]
    assert any(" rule_urgent_help（" in m and " rule_urgent（" in m and "rule_urgent_help (" in m for m in messages)
    assert any(" rule_complaint_list（" in m and " rule_complaint（" in m for m in messages)
    with db.read() as session:
        assert definitions.content_hash(files) not in {d.content_hash for d in definitions.list_deployments(session)}
