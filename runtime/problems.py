"""A problem found in a bundle before deployment: where it is, which rule found it, and what to
do, in zh-CN and English. The validation rules (the runtime's and the application's) build
them with `problem()`; a bundle with problems is refused as BundleInvalid."""
from dataclasses import dataclass

from .errors import InvalidInput


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, element, line), which rule, and what to do, in zh-CN and English."""
    file: str
    element_id: str
    element_name: str
    rule: str
    message: str
    message_en: str
    line: int | None = None

    @property
    def key(self) -> str:
        """"file:element", the field key of InvalidInput (the file alone when no element is known)."""
        return f"{self.file}:{self.element_id}" if self.element_id else self.file

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.element_id or '-'} [{self.rule}] {self.message} / {self.message_en}"


class BundleInvalid(InvalidInput):
    """A bundle with problems may not be deployed; `problems` lists them, `fields` maps
    "file:element" to their messages ("zh-CN / English")."""

    def __init__(self, problems: list[Problem]):
        fields = {}
        for p in problems:
            fields.setdefault(p.key, []).append(f"{p.message} / {p.message_en}")
        super().__init__(f"流程定义有 {len(problems)} 个问题，未部署 / the process definition has "
                         f"{len(problems)} problem(s) and was not deployed", fields)
        self.problems = problems


def label(element_id: str, name: str | None) -> tuple[str, str]:
    """How an element is named in messages: 「签收或退回」(ut_sign_for), and its English."""
    if name:
        return f"「{name}」({element_id})", f'"{name}" ({element_id})'
    return f"({element_id})", f"({element_id})"


def problem(file: str, el, rule: str, zh: str, en: str) -> Problem:
    """A Problem about lxml element `el`; `{what}` in the messages becomes the element's label."""
    element_id, name = el.get("id") or "", el.get("name") or ""
    what_zh, what_en = label(element_id, name)
    return Problem(file, element_id, name, rule, zh.format(what=what_zh), en.format(what=what_en), el.sourceline)
