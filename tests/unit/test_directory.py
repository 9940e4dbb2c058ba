"""The password rule administrators' new passwords must meet (hotline.accounts)."""
import pytest

from hotline.accounts import password_problems


@pytest.mark.parametrize(("password", "username", "problems"), [
    ("Hotline#2026x", "wang", []),                          # four kinds, long enough
    ("hotline2026x", "wang", [                              # two kinds only
        "密码须包含大写字母、小写字母、数字、符号中的至少三类"]),
    ("Ab1!", "wang", ["密码至少 10 个字符"]),
    ("demo12345", "", ["密码至少 10 个字符", "密码须包含大写字母、小写字母、数字、符号中的至少三类"]),
    ("Xx1-Linxiao-2026", "linxiao", ["密码不能包含用户名"]),  # case-insensitive
    ("密码很长很长的中文1A", "wang", []),                   # CJK counts as a symbol
])
def test_password_rule(password, username, problems):
    assert password_problems(password, username) == problems
