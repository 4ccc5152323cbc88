from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from kechuang.kit.uscc import ALPHABET, check_char, is_valid_uscc, make_uscc, uscc_problem

first17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


def test_published_codes_validate():
    # credit codes printed on real business licences
    for code in ("91350100M000100Y43", "91110000600037341L", "91110108551385082Q"):
        assert uscc_problem(code) is None, code


@given(first17)
def test_generated_codes_validate(prefix):
    assert is_valid_uscc(make_uscc(prefix))


@given(first17, st.integers(min_value=0, max_value=16), st.sampled_from(ALPHABET))
def test_any_single_substitution_is_detected(prefix, pos, ch):
    code = make_uscc(prefix)
    mutated = code[:pos] + ch + code[pos + 1 :]
    if mutated != code:
        assert not is_valid_uscc(mutated)


def test_problems_are_explained_in_chinese():
    assert "18位" in uscc_problem("9135")
    assert "非法字符" in uscc_problem("91350100M000100YI3")
    assert "校验位" in uscc_problem("91350100M000100Y40")
    # lower case is not accepted silently
    assert uscc_problem("91350100m000100y43") is not None


def test_check_char_is_in_the_alphabet_and_never_a_forbidden_letter():
    for c in "IOZSV":
        assert c not in ALPHABET
    assert check_char("00000000000000000") == "0"
    assert set(ALPHABET) <= set(string.digits + string.ascii_uppercase)
