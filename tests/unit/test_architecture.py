"""The shape the codebase promises, checked on its source: three rooms whose imports point one way
(web -> hotline -> runtime, workdays; workdays -> runtime), no import cycle anywhere (imports
inside functions count too: they hide cycles, not remove them), no transaction opened in the web
layer, and no element id of the diagrams typed into code: the diagrams declare what code needs."""
import ast
import re
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("runtime", "workdays", "hotline", "web")
MAY_IMPORT = {"runtime": set(), "workdays": {"runtime"}, "hotline": {"runtime", "workdays"},
              "web": {"runtime", "workdays", "hotline"}}
FLOW_ELEMENTS = ("userTask", "serviceTask", "scriptTask", "businessRuleTask", "task", "startEvent", "endEvent",
                 "boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent", "exclusiveGateway",
                 "parallelGateway", "inclusiveGateway", "eventBasedGateway", "subProcess", "callActivity",
                 "sequenceFlow", "lane")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module `name` imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    result = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                result.add(target)
    return result


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def test_imports_point_one_way_between_the_rooms():
    wrong = sorted((name, target) for name, targets in graph().items() for target in targets
                   if (a := name.split(".")[0]) != (b := target.split(".")[0]) and b not in MAY_IMPORT[a])
    assert wrong == []


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    # a module importing its own package's __init__ is Python's ordinary package loading
    edges = {n: {t for t in ts if not n.startswith(t + ".")} for n, ts in edges.items()}
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_no_module_imports_itself_back():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    """The check above can fail: two modules that import each other inside a function are a cycle."""
    package = tmp_path / "runtime"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("from runtime import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("runtime",))
    assert cycles(graph()) == [["runtime.a", "runtime.b", "runtime.a"]]


def test_the_web_layer_never_opens_a_transaction_or_commits():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "web").rglob("*.py")
                 if "node_modules" not in p.parts and re.search(r"\.transaction\(|\.commit\(", p.read_text())]
    assert offenders == []


def element_ids() -> set[str]:
    ids = set()
    for path in (ROOT / "processes").glob("*.bpmn"):
        tree = etree.parse(str(path))
        for tag in FLOW_ELEMENTS:
            ids |= {el.get("id") for el in tree.iter(f"{{http://www.omg.org/spec/BPMN/20100524/MODEL}}{tag}")}
    return ids - {None}


def code_strings(path: Path) -> set[str]:
    """String literals of a Python file, docstrings left out (they may name an example)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}


def test_no_code_names_an_element_of_the_diagrams():
    ids = element_ids()
    assert {"ut_sign_for", "ut_reply", "end_archived", "f_returned"} <= ids  # the check reads the diagrams
    found = {}
    for package in ("runtime", "workdays", "hotline", "web"):
        for path in (ROOT / package).rglob("*"):
            if "node_modules" in path.parts or path.suffix not in (".py", ".html", ".js"):
                continue
            if path.suffix == ".py":
                named = {s for s in code_strings(path) for i in ids if re.search(rf"\b{re.escape(i)}\b", s)}
            else:
                text = path.read_text(encoding="utf-8")
                named = {i for i in ids if re.search(rf"[\"']{re.escape(i)}[\"']", text)}
            if named:
                found[str(path.relative_to(ROOT))] = sorted(named)
    assert found == {}
