"""Password policy (ASVS V2.1) and the second factor (V2.8, RFC 6238)."""

from __future__ import annotations

import pytest

from kechuang.auth import totp
from kechuang.auth.passwords import COMMON_PASSWORDS, password_problem
from kechuang.demo.accounts import PASSWORD as DEMO_PASSWORD
from tests.support.seed import PASSWORD as TEST_PASSWORD


@pytest.mark.parametrize(("password", "why"), [
    ("short-pass1", "至少12位"),
    ("            ", "空格"),
    ("\u3000" * 12, "空格"),
    ("zzzzzzzzzzzzzz", "重复"),
    ("abcabcabcabcabc", "重复"),
    ("password123456", "常见"),
    ("Password1234!!", "常见"),
    ("qwertyuiopasdf", None),
    ("my-wangwei-secret", "用户名"),
])
def test_weak_passwords_are_refused_with_a_reason(password, why):
    problem = password_problem(password, "wangwei")
    if why is None:
        assert problem is None or "常见" in problem[0]
    else:
        assert problem is not None and why in problem[0], problem


def test_the_common_list_ships_with_the_package():
    assert len(COMMON_PASSWORDS) >= 30_000
    assert password_problem("iloveyou12345") is not None


def test_demo_and_test_passwords_satisfy_the_policy():
    assert password_problem(DEMO_PASSWORD, "admin") is None
    assert password_problem(TEST_PASSWORD, "staff") is None
    assert password_problem("长城永不倒下今日天气晴朗", "admin") is None  # any script


def test_totp_matches_the_rfc_6238_vectors():
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits → last 6 here
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    for when, code8 in [(59, "94287082"), (1111111109, "07081804"),
                        (1234567890, "89005924"), (2000000000, "69279037")]:
        assert totp.code_at(secret, when) == code8[-6:]


def test_totp_accepts_one_step_of_drift_and_nothing_more():
    secret = totp.new_secret()
    now = 1_700_000_000
    assert totp.matching_step(secret, totp.code_at(secret, now - 30), now) is not None
    assert totp.matching_step(secret, totp.code_at(secret, now - 90), now) is None
    assert totp.matching_step(secret, "12345", now) is None
    uri = totp.otpauth_uri(secret, "admin", "kechuang")
    assert uri.startswith("otpauth://totp/kechuang%3Aadmin?secret=" + secret)
