"""A brief fuzz of ``ascend_anti_quant``'s argument handling under hypothesis (the menus of tests/fuzz_args.py).

Hypothesis shrinks a failure to the simplest menu choices; ``HYPOTHESIS_PROFILE=long`` searches longer and
``python tests/fuzz_args.py`` runs the same target under atheris, if installed.
"""

from hypothesis import given, settings, strategies as st

from fuzz_args import check_call, draw_call


@settings(max_examples=5 * settings().max_examples)    # cheap examples: five times the profile's count
@given(st.data())
def test_arguments_never_escape_as_anything_but_a_clear_refusal(data):
    call = draw_call(lambda label, menu: data.draw(st.sampled_from(list(menu)), label=label))
    check_call(*call)
