import numpy as np
import pytest
import torch

from core.errors import InputError
from core.experiments.probes import (
    max_random_gradient,
    probability_gradient_norms,
    random_points,
    spectral_norm_bound,
    two_layer_input_gradients,
)
from core.runtimes.models import TwoLayerReLU
from core.runtimes.torch_runtime import TorchClassifier


def autograd_gradients(model, z):
    zt = torch.from_numpy(z).double().requires_grad_(True)
    (g,) = torch.autograd.grad(model(zt).sum(), zt)
    return g.numpy()


@pytest.fixture()
def net():
    torch.manual_seed(0)
    return TwoLayerReLU(d=20, k=64).double()


def test_closed_form_gradient_matches_autograd(net):
    z = random_points(20, 50, seed=0).astype(np.float64)
    w, b = net.hidden.weight.detach().numpy(), net.hidden.bias.detach().numpy()
    a = net.out.weight.detach().numpy()[0]
    np.testing.assert_allclose(two_layer_input_gradients(w, b, a, z), autograd_gradients(net, z), atol=1e-12)


def test_max_random_gradient_of_a_linear_function_is_its_norm():
    beta = np.arange(1.0, 11.0)
    stats = max_random_gradient(lambda z: np.tile(beta, (len(z), 1)), d=10, n_points=100)
    assert stats.max == pytest.approx(np.linalg.norm(beta))
    assert stats.mean == pytest.approx(np.linalg.norm(beta))
    assert stats.norms.shape == (100,)


def test_max_random_gradient_on_a_network_is_seeded_and_bounded(net):
    fn = lambda z: autograd_gradients(net, z.astype(np.float64))  # noqa: E731
    a, b = max_random_gradient(fn, 20, 300, seed=1), max_random_gradient(fn, 20, 300, seed=1)
    assert a.max == b.max
    assert a.mean <= a.max
    # A lower bound can never exceed the spectral upper bound.
    upper = spectral_norm_bound([net.hidden.weight.detach().numpy(), net.out.weight.detach().numpy()])
    assert a.max <= upper


def test_random_points_have_unit_scale():
    z = random_points(500, 2000, seed=0)
    assert np.mean(np.sum(z.astype(np.float64) ** 2, axis=1)) == pytest.approx(1.0, rel=0.02)


def test_spectral_norm_bound_of_known_matrices():
    assert spectral_norm_bound([np.diag([3.0, 1.0]), 2 * np.eye(2)]) == pytest.approx(6.0)
    with pytest.raises(InputError, match="empty"):
        spectral_norm_bound([])
    with pytest.raises(InputError, match="matrix"):
        spectral_norm_bound([np.ones(3)])


def test_probability_gradient_norms_match_autograd(tiny_model, mnist_small):
    _, _, x, _ = mnist_small
    stats = probability_gradient_norms(TorchClassifier(tiny_model), x[:40], batch_size=16)
    xt = torch.from_numpy(x[:40]).requires_grad_(True)
    probs = torch.softmax(tiny_model(xt), 1)
    top = probs.max(1).values
    (g,) = torch.autograd.grad(top.sum(), xt)
    np.testing.assert_allclose(stats.norms, g.norm(dim=1).numpy(), rtol=1e-4, atol=1e-7)
    upper = spectral_norm_bound([tiny_model.fc1.weight.detach().numpy(), tiny_model.fc2.weight.detach().numpy()])
    assert stats.max <= upper


def test_two_layer_gradient_shape_errors():
    with pytest.raises(InputError, match=r"x must have shape \[T, 3\]"):
        two_layer_input_gradients(np.ones((2, 3)), np.ones(2), np.ones(2), np.ones((4, 5)))


def test_the_batched_probe_of_the_sweep_is_the_plain_definition():
    """The sweep's maximum random gradient (batched over a stack, in torch) equals the talk's
    definition, max_j ||grad f(z_j)||, computed network by network in numpy."""
    from core.experiments.random_net import PlainTwoLayer, gradient_diagnostics

    g = torch.Generator().manual_seed(3)
    s, k, d = 3, 11, 7
    nets = PlainTwoLayer(*(torch.randn(*shape, generator=g, dtype=torch.float64)
                           for shape in ((s, k, d), (s, k), (s, k), (s,))))
    z = random_points(d, 300, seed=5)
    batched = gradient_diagnostics(nets, torch.from_numpy(z).double(), batch_size=64).grad_max
    for i in range(s):
        w, b, a = (getattr(nets, name)[i].numpy() for name in ("w", "b", "a"))
        plain = max_random_gradient(lambda pts: two_layer_input_gradients(w, b, a, pts), d, 300, seed=5)
        assert batched[i].item() == pytest.approx(plain.max, rel=1e-6)
