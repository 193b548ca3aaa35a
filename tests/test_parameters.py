"""Template weights as named parameters: names, shapes, initial values, fixed flags, weight files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralogic_py.errors import ValidationError
from neuralogic_py.language.parser import parse_template
from neuralogic_py.neural import ParameterStore, template_weights
from neuralogic_py.neural.parameters import block_to_json, json_to_block

TEMPLATE = """
$w={3,2} h(X) :- {2,2} f(X), 0.5 g(X), <[1.0, 2.0]> k(X), {2}.
h/1 {3}
q/0 [offset=0.25]
{1,4} emb(a).
<2.0> edge(X, X).
$w={3,2} q :- $v={1,3} h(X).
$v [learnable=false]
"""


def test_names_say_where_unnamed_weights_stand():
    weights = template_weights(parse_template(TEMPLATE))
    assert list(weights.parameters) == ["w", "rule1.body1", "rule1.body2", "rule1.body3", "rule1.offset",
                                        "h/1.offset", "q/0.offset", "fact1", "fact2", "v"]
    first = weights.rules[0]
    assert (first.head, first.body, first.offset) == ("w", ("rule1.body1", "rule1.body2", "rule1.body3"),
                                                      "rule1.offset")
    assert weights.rules[1].fact and weights.rules[1].head == "fact2"  # edge(X, X) is a body-less rule
    assert weights.rules[2].head == "w" and weights.rules[2].body == ("v",)  # $w is shared
    assert weights.predicate_offsets == {("h", 1): "h/1.offset", ("q", 0): "q/0.offset"}


def test_shapes_values_and_fixed_flags():
    params = template_weights(parse_template(TEMPLATE)).parameters
    shapes = {name: p.shape for name, p in params.items()}
    assert shapes == {"w": (3, 2), "rule1.body1": (2, 2), "rule1.body2": (1, 1), "rule1.body3": (2, 1),
                      "rule1.offset": (2, 1), "h/1.offset": (3, 1), "q/0.offset": (1, 1), "fact1": (1, 4),
                      "fact2": (1, 1), "v": (1, 3)}
    fixed = {name for name, p in params.items() if p.fixed}
    assert fixed == {"rule1.body3", "q/0.offset", "fact2", "v"}  # <...>, [offset=], $v [learnable=false]
    assert params["rule1.body2"].initial.tolist() == [[0.5]]
    assert params["w"].initial is None  # drawn by the initializer


def test_store_draws_shape_only_weights_reproducibly_and_resets():
    template = parse_template(TEMPLATE)
    a, b = ParameterStore.from_template(template, seed=7), ParameterStore.from_template(template, seed=7)
    np.testing.assert_array_equal(a["w"], b["w"])
    assert np.all(np.abs(a["w"]) < 1) and a["w"].shape == (3, 2)
    assert "v" not in a.learnable() and "w" in a.learnable()
    a.set("rule1.body2", 9.0)
    a.reset()
    assert a["rule1.body2"].item() == 0.5


def test_custom_initializer():
    store = ParameterStore.from_template(parse_template(TEMPLATE), init=lambda shape, rng: np.full(shape, 0.1))
    assert np.all(store["w"] == 0.1) and store["rule1.body2"].item() == 0.5


@pytest.mark.parametrize("value, shape, block", [
    (0.5, (1, 1), [[0.5]]),
    ([1, 2, 3], (3, 1), [[1], [2], [3]]),
    ([[1, 2, 3]], (1, 3), [[1, 2, 3]]),
    ([1, 2, 3], (1, 3), [[1, 2, 3]]),
    ([[1, 2], [3, 4]], (2, 2), [[1, 2], [3, 4]]),
])
def test_json_value_conventions(value, shape, block):
    assert json_to_block(value, shape, "x").tolist() == block
    if not (isinstance(value, list) and shape[0] == 1 and not isinstance(value[0], list)):
        assert block_to_json(np.asarray(block, dtype=float)) == value


def test_weights_file_with_bad_name_or_shape_is_a_positioned_error(tmp_path):
    store = ParameterStore.from_template(parse_template(TEMPLATE))
    path = tmp_path / "weights.json"
    text = json.dumps({"w": [[1, 2], [3, 4], [5, 6]], "nope": 1.0}, indent=1)
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        store.load_json(path)
    line = text[:text.index('"nope"')].count("\n") + 1
    assert "no parameter named 'nope'" in caught.value.message and caught.value.span.line == line
    store.load_json(path, strict=False)
    assert store["w"].tolist() == [[1, 2], [3, 4], [5, 6]]
    path.write_text(json.dumps({"w": [1, 2, 3]}))
    with pytest.raises(ValidationError, match="'w' is a 3x2 matrix"):
        store.load_json(path)
    path.write_text("{ broken")
    with pytest.raises(ValidationError, match="not valid JSON"):
        store.load_json(path)


def test_store_round_trips_through_json():
    store = ParameterStore.from_template(parse_template(TEMPLATE), seed=1)
    other = ParameterStore.from_template(parse_template(TEMPLATE), seed=2)
    other.load(json.loads(json.dumps(store.to_json())))
    for name in store.names():
        np.testing.assert_array_equal(store[name], other[name])
