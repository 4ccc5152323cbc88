"""Argon2id password hashing (argon2-cffi's RFC 9106 low-memory profile) and the password
policy of ASVS V2.1: a minimum length (setting ``password_min_length``, 12 by default), no
composition rules, no password of blanks or of one repeated character or short pattern, and
no password from the list of common passwords that ships with ``zxcvbn`` (30,000 most
frequent passwords of leaked sets, MIT licence)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from kechuang.config import get_settings

_hasher = PasswordHasher()
# hashed once so that a login for an unknown account costs the same as a real one
_DUMMY = _hasher.hash("kechuang-timing-equaliser")

#: the common passwords of zxcvbn's shipped list, lower case
COMMON_PASSWORDS = frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])
#: one character or a unit of up to four characters, repeated ("aaaa…", "abcabcabc…")
_REPEATED = re.compile(r"^(.{1,4}?)\1+$", re.DOTALL)
#: separators people put around a common word ("password-123", "123456!")
_DECORATION = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$", re.DOTALL)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def is_common(password: str) -> bool:
    """In the common-password list, as typed or stripped of digits and symbols at its ends
    ("Password123!" is "password")."""
    lowered = password.lower()
    core = _DECORATION.match(lowered)
    return lowered in COMMON_PASSWORDS or bool(core and core.group(1) in COMMON_PASSWORDS
                                               and len(core.group(1)) >= 4)


def password_problem(password: str, username: str | None = None) -> tuple[str, str] | None:
    """What is wrong with a new password (Chinese, English), or ``None``."""
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        return f"密码至少{minimum}位", f"A password needs at least {minimum} characters"
    if len(password) > 128:
        return "密码不能超过128位", "A password may have at most 128 characters"
    if not password.strip():
        return "密码不能全是空格", "A password cannot be only blanks"
    if _REPEATED.match(password):
        return ("密码不能由同一字符或短片段重复组成",
                "A password cannot repeat one character or a short pattern")
    if is_common(password):
        return ("该密码过于常见（出现在常用或泄露密码表中），请换一个",
                "This password is too common (it is in a list of common or leaked passwords)")
    if username and username.lower() in password.lower() and len(username) >= 3:
        return "密码不能包含用户名", "A password cannot contain the user name"
    return None
