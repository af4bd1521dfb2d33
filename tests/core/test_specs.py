import math

import pytest
import torch

from core.errors import InputError, UnknownModelError
from core.runtimes.models import MLP, TwoLayerReLU
from core.specs import (
    MNIST_MODELS,
    WIDTH_RULES,
    get_mnist_spec,
    get_width_rule,
    mlp_param_count,
    two_layer_param_count,
)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mnist_models_have_the_talks_sizes():
    assert get_mnist_spec("f_n").param_count == 120_055
    assert get_mnist_spec("f_nd").param_count == 3_000_340
    for spec in MNIST_MODELS.values():
        assert n_params(MLP(spec)) == spec.param_count == mlp_param_count(784, spec.hidden, 10)


@pytest.mark.parametrize("d,k", [(10, 1), (10, 7), (784, 151)])
def test_two_layer_param_count_matches_the_module(d, k):
    assert n_params(TwoLayerReLU(d, k)) == two_layer_param_count(d, k) == k * (d + 2) + 1


def test_width_rules():
    n = 10_000
    assert WIDTH_RULES["f_nd"](n, 10) == n
    assert WIDTH_RULES["f_nd"](n, 5000) == n
    assert WIDTH_RULES["f_n"](n, 10) == 10_000
    assert WIDTH_RULES["f_n"](n, 3000) == math.ceil(100_000 / 3000) == 34
    # p ~ nd for k = n and p ~ 10 n for k = ceil(10 n / d)
    assert WIDTH_RULES["f_nd"].param_count(n, 5000) == pytest.approx(n * 5000, rel=0.01)
    assert WIDTH_RULES["f_n"].param_count(n, 5000) == pytest.approx(10 * n, rel=0.01)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownModelError, match="choose one of f_n, f_nd"):
        get_mnist_spec("f_big")
    with pytest.raises(UnknownModelError, match="f_n, f_nd"):
        get_width_rule("k=n")
    with pytest.raises(InputError, match="positive integers"):
        WIDTH_RULES["f_n"](0, 10)
