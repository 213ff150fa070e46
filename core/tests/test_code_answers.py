"""Code-aware agreement: normalised source and behaviour on the answers' own examples."""

from __future__ import annotations

from dynamic_orchestrator.code_answers import code_agree, code_answer, run_programs

LOOP = '''Here is a function:

```python
def remove_all(items, unwanted):
    """Drop the unwanted ones."""
    result = []
    for item in items:  # keep the rest
        if item not in unwanted:
            result.append(item)
    return result

print(remove_all([1, 2, 3, 4], [2, 4]))
```
'''

COMPREHENSION = """[PYTHON]
def remove_elements(list1, list2):
    return [x for x in list1 if x not in list2]
[/PYTHON]
[TESTS]
assert remove_elements([1, 2, 3], [1]) == [2, 3]
[/TESTS]"""

SET_BASED = """```python
def remove_elements(a, b):
    return sorted(set(a) - set(b))

print(remove_elements([4, 3, 1, 3], [2]))
```
"""


def test_same_code_with_other_names_comments_and_docstrings_agrees_without_running() -> None:
    renamed = (
        LOOP.replace("remove_all", "strip_list")
        .replace("item", "x")
        .replace('"""Drop the unwanted ones."""', "")
    )
    a, b = code_answer(LOOP), code_answer(renamed)
    assert a is not None and b is not None
    assert a.normalised == b.normalised
    assert code_agree(LOOP, renamed)


def test_different_code_with_the_same_behaviour_agrees() -> None:
    answer = code_answer(COMPREHENSION)
    assert answer is not None and answer.function == "remove_elements"
    assert answer.inputs == ["([1, 2, 3], [1],)"]
    assert code_agree(LOOP, COMPREHENSION)


def test_different_behaviour_on_an_example_disagrees() -> None:
    # equal on the loop's example, but the set version loses order and duplicates on its own
    assert not code_agree(LOOP, SET_BASED)


def test_answers_without_code_or_examples_never_agree() -> None:
    assert not code_agree("I would use a loop.", COMPREHENSION)
    no_examples = "```python\ndef f(a, b):\n    return a + b\n```"
    other = "```python\ndef g(x, y):\n    return x * y\n```"
    assert not code_agree(no_examples, other)


def test_the_child_process_has_no_network_and_a_time_limit() -> None:
    spins = code_answer("```python\ndef f(n):\n    while True:\n        n += 1\n\nf(1)\n```")
    dials = code_answer(
        "```python\ndef g(n):\n    import socket\n    socket.create_connection(('1.1.1.1', 80))\n"
        "    return n\n\ng(1)\n```"
    )
    assert spins is not None and dials is not None
    outcomes = run_programs([spins, dials], ["(1,)"], per_call=0.2)
    assert outcomes == [["!TimeoutError"], ["!OSError"]]
