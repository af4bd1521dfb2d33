"""A stack of two-layer ReLU networks trained together: the law-of-robustness experiment's model.

Bubeck, Li and Nagaraj (COLT 2021, arXiv:2009.14444) study f(x) = sum_j a_j relu(w_j . x + b_j) + c;
the talk trains it (our choice: batch normalization between the first linear layer and the ReLU)
with Adam on the squared loss until it memorizes random labels. A control replaces relu by the even
activation |u| without hidden biases: such an f has f(-x) = f(x), so no linear part (relu(u) =
u/2 + |u|/2 has one, and training fits the least-squares line of the labels through it). To keep a GPU busy, `StackedTwoLayer`
holds S networks of the same shape (d, k) as [S, ...] tensors and runs them with batched matmuls
(`torch.baddbmm` / `torch.bmm`); each network sees its own data and gets exactly the gradient of
its own loss, so a stack of S trains like S separate runs.

Batch normalization is applied with the statistics of the full training set (the runs here are
full-batch), so in evaluation mode it is an affine map that folds into W and b: `fold` returns the
plain two-layer network that the probe measures and that the results store.

The training settings (`TrainSettings`) and one whole unit of the experiment (data, this training,
the probe) are in `core.experiments.random_data_unit`, which the app server can import without torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.errors import InputError
from core.experiments.random_data_unit import TrainSettings, check_activation

BN_EPS = 1e-5


def _act(h: torch.Tensor, activation: str) -> torch.Tensor:
    return torch.relu(h) if activation == "relu" else h.abs()


def _act_derivative(h: torch.Tensor, activation: str) -> torch.Tensor:
    """relu'(u) = 1(u > 0); |u|' = sign(u) (0 at 0, like autograd)."""
    return (h > 0).to(h.dtype) if activation == "relu" else torch.sign(h)


@dataclass(frozen=True)
class PlainTwoLayer:
    """A stack of S plain networks f_s(x) = a_s . act(W_s x + b_s) + c_s (batch norm folded in).

    act is relu (the experiment) or abs (the even control). Shapes: w [S, k, d], b [S, k], a [S, k],
    c [S].
    """

    w: torch.Tensor
    b: torch.Tensor
    a: torch.Tensor
    c: torch.Tensor
    activation: str = "relu"

    def __post_init__(self):
        check_activation(self.activation)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs [S, N] for inputs x [S, N, d] (or [N, d], shared by every network)."""
        x = _stacked_input(x, self.w.shape[0], self.w.shape[2])
        h = _act(torch.baddbmm(self.b.unsqueeze(1), x, self.w.transpose(1, 2)), self.activation)
        return torch.bmm(h, self.a.unsqueeze(2)).squeeze(2) + self.c.unsqueeze(1)

    def input_gradients(self, z: torch.Tensor) -> torch.Tensor:
        """grad_z f_s(z) = sum_j a_j act'(w_j . z + b_j) w_j, in closed form: [S, T, d] -> [S, T, d]."""
        z = _stacked_input(z, self.w.shape[0], self.w.shape[2])
        slope = _act_derivative(torch.baddbmm(self.b.unsqueeze(1), z, self.w.transpose(1, 2)),
                                self.activation)
        return torch.bmm(slope.to(self.a.dtype) * self.a.unsqueeze(1), self.w)

    def clone(self) -> "PlainTwoLayer":
        return PlainTwoLayer(self.w.clone(), self.b.clone(), self.a.clone(), self.c.clone(),
                             self.activation)

    def numpy(self, s: int) -> dict[str, np.ndarray]:
        """Network s as float32 numpy arrays w [k, d], b [k], a [k], c []."""
        return {name: getattr(self, name)[s].detach().cpu().numpy().astype(np.float32)
                for name in ("w", "b", "a", "c")}


def _stacked_input(x: torch.Tensor, n_nets: int, d: int) -> torch.Tensor:
    if x.ndim == 2:
        x = x.unsqueeze(0).expand(n_nets, -1, -1)
    if x.ndim != 3 or x.shape[0] != n_nets or x.shape[2] != d:
        raise InputError(f"inputs must have shape [{n_nets}, N, {d}] or [N, {d}], got {tuple(x.shape)}")
    return x


class StackedTwoLayer(nn.Module):
    """S two-layer networks d -> k -> 1 of the same shape, optionally with batch normalization.

    Initialization is PyTorch's `nn.Linear` / `nn.BatchNorm1d` default, drawn per network from its
    own seed on the CPU, so network s is the same whether it is trained alone or in a stack (and
    w, a, c are the same with or without hidden biases: b is drawn, then dropped).

    Args:
        d: input dimension. k: hidden units. seeds: one init seed per network (S = len(seeds)).
        batchnorm: put batch normalization (batch statistics, affine) between W x + b and the activation.
        activation: "relu" (the experiment) or "abs" (the even control).
        hidden_bias: learn the hidden biases b; without them b stays 0.
    Shapes: x [S, N, d] -> f(x) [S, N].
    """

    def __init__(self, d: int, k: int, seeds: list[int], batchnorm: bool, activation: str = "relu",
                 hidden_bias: bool = True):
        super().__init__()
        if d < 1 or k < 1 or not seeds:
            raise InputError(f"need d >= 1, k >= 1 and at least one seed, got d={d}, k={k}, seeds={seeds}")
        self.d, self.k, self.batchnorm = int(d), int(k), bool(batchnorm)
        self.activation, self.hidden_bias = check_activation(activation), bool(hidden_bias)
        ws, bs, as_, cs = [], [], [], []
        for seed in seeds:
            gen = torch.Generator().manual_seed(int(seed))
            bound1, bound2 = 1.0 / math.sqrt(d), 1.0 / math.sqrt(k)
            ws.append((torch.rand(k, d, generator=gen) * 2 - 1) * bound1)
            bs.append((torch.rand(k, generator=gen) * 2 - 1) * bound1)
            as_.append((torch.rand(k, generator=gen) * 2 - 1) * bound2)
            cs.append((torch.rand(1, generator=gen) * 2 - 1) * bound2)
        self.w = nn.Parameter(torch.stack(ws))
        if self.hidden_bias:
            self.b = nn.Parameter(torch.stack(bs))
        else:
            self.register_buffer("b", torch.zeros(len(seeds), k))
        self.a = nn.Parameter(torch.stack(as_))
        self.c = nn.Parameter(torch.cat(cs))
        if self.batchnorm:
            self.gamma = nn.Parameter(torch.ones(len(seeds), k))
            self.beta = nn.Parameter(torch.zeros(len(seeds), k))

    @property
    def n_nets(self) -> int:
        return self.w.shape[0]

    def preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """W x + b for every network: [S, N, d] -> [S, N, k]."""
        return torch.baddbmm(self.b.unsqueeze(1), _stacked_input(x, self.n_nets, self.d),
                             self.w.transpose(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.preactivations(x)
        if not self.batchnorm:
            return torch.bmm(_act(h, self.activation), self.a.unsqueeze(2)).squeeze(2) + self.c.unsqueeze(1)
        # Batch statistics over the full training batch (biased variance), through the fused
        # kernel: the S stacks' units side by side are S k channels of one [n, S k] batch.
        S, n, k = h.shape
        h = F.batch_norm(h.transpose(0, 1).reshape(n, S * k), None, None, self.gamma.reshape(-1),
                         self.beta.reshape(-1), training=True, eps=BN_EPS)
        return (torch.einsum("nsk,sk->sn", _act(h, self.activation).reshape(n, S, k), self.a)
                + self.c.unsqueeze(1))

    @torch.no_grad()
    def fold(self, x_train: torch.Tensor) -> PlainTwoLayer:
        """The plain networks this stack computes in evaluation mode, batch norm folded into W, b.

        With batch normalization, evaluation mode uses the mean and (biased) variance of the
        preactivations over the training set x_train [S, n, d]; the folded network then equals the
        training-mode network on x_train, so the memorization check and the probe see one function.
        """
        w, b = self.w.detach().clone(), self.b.detach().clone()
        if self.batchnorm:
            var, mean = torch.var_mean(self.preactivations(x_train), dim=1, correction=0)
            scale = self.gamma * torch.rsqrt(var + BN_EPS)
            w = w * scale.unsqueeze(2)
            b = (b - mean) * scale + self.beta
        return PlainTwoLayer(w=w, b=b, a=self.a.detach().clone(), c=self.c.detach().clone(),
                             activation=self.activation)


def matmul_flops_per_step(n: int, d: int, k: int) -> int:
    """Matmul FLOPs of one full-batch forward + backward step of one network (2 FLOPs per MAC).

    Forward: W x (2 n k d) and a . relu(h) (2 n k). Backward: grad W = dh^T x (2 n k d), grad a
    and grad h for the output layer (2 n k each); no gradient is taken with respect to x.
    """
    return 4 * n * k * d + 6 * n * k


@dataclass(frozen=True)
class MemorizationRule:
    """The talk's success rule: sign(f(x_i)) = y_i for every i and mean (f(x_i) - y_i)^2 <= eps."""

    eps: float = 0.1

    def __post_init__(self):
        if not (self.eps > 0 and math.isfinite(self.eps)):
            raise InputError(f"eps must be a positive number, got {self.eps!r}")

    def check(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(memorized [S] bool, mse [S]) for outputs out [S, n] and labels y [S, n] in {+1, -1}."""
        mse = ((out - y) ** 2).mean(dim=1)
        signs_right = (torch.sign(out) == y).all(dim=1)
        return signs_right & (mse <= self.eps), mse


@dataclass(frozen=True)
class StackOutcome:
    """What training a stack gave: the plain networks as stored, the same networks at initialization
    (batch norm folded with the training data's statistics, like the trained ones), and per network
    the step at which the rule was met (or the cap), its final training MSE and whether it memorized."""

    nets: PlainTwoLayer
    init_nets: PlainTwoLayer
    steps: list[int]
    mse: list[float]
    memorized: list[bool]
    steps_run: int


def train_stack(
    x: torch.Tensor, y: torch.Tensor, k: int, init_seeds: list[int], settings: TrainSettings,
    rule: MemorizationRule | None = None, progress=None,
) -> StackOutcome:
    """Train S networks (one per init seed) on their own data until each memorizes, or the cap.

    Args:
        x: training points [S, n, d]; y: labels [S, n] in {+1, -1} (same device and dtype as x).
        k: hidden units. init_seeds: S seeds for the initialization.
        progress: optional callable(step, mse [S] tensor, done [S] tensor) for a progress bar.
    Returns: a `StackOutcome`; a network is kept at the first check where it met the rule, so each
    stored network is the one that met it (training continues only for the others).
    """
    rule = rule or MemorizationRule(settings.eps)
    if x.ndim != 3 or y.shape != x.shape[:2] or len(init_seeds) != x.shape[0]:
        raise InputError(f"need x [S, n, d], y [S, n] and S seeds; got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}, {len(init_seeds)} seeds")
    S, n, d = x.shape
    model = StackedTwoLayer(d, k, init_seeds, settings.batchnorm, settings.activation,
                            settings.hidden_bias).to(device=x.device, dtype=x.dtype)
    fused = x.device.type == "cuda"
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr, fused=fused)
    sched = torch.optim.lr_scheduler.StepLR(opt, settings.decay_every, gamma=settings.lr_decay)
    init_nets = model.fold(x)
    kept = init_nets.clone()  # overwritten network by network as each meets the rule (or at the cap)
    done = torch.zeros(S, dtype=torch.bool, device=x.device)
    steps = torch.full((S,), settings.max_steps, dtype=torch.long, device=x.device)
    step = 0
    for step in range(settings.max_steps + 1):
        out = model(x)
        # Summing the networks' losses gives each network exactly the gradient of its own MSE.
        losses = ((out - y) ** 2).mean(dim=1)
        if step % settings.check_every == 0 or step == settings.max_steps:
            with torch.no_grad():
                met, mse = rule.check(out.detach(), y)
                newly = met & ~done
                last = step == settings.max_steps
                take = newly | (last & ~done)
                if bool(take.any()):
                    folded = model.fold(x)
                    for name in ("w", "b", "a", "c"):
                        getattr(kept, name)[take] = getattr(folded, name)[take]
                    steps[take] = step  # the number of Adam updates the kept network had
                    done |= newly
                if progress is not None:
                    progress(step, mse, done)
                if bool(done.all()) or last:
                    break
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        sched.step()
    # The rule and the MSE reported are those of the folded networks themselves (what is stored).
    with torch.no_grad():
        memorized, mse_final = rule.check(kept(x), y)
    return StackOutcome(
        nets=kept, init_nets=init_nets, steps=[int(s) for s in steps.tolist()], mse=[float(m) for m in mse_final.tolist()],
        memorized=[bool(m) for m in memorized.tolist()], steps_run=step,
    )


@dataclass(frozen=True)
class GradientDiagnostics:
    """The maximum random gradient of each network of a stack, split into a linear part and the rest.

    With g_j = grad f(z_j) over probe points z_1..z_T: grad_max = max_j ||g_j||, grad_mean =
    mean_j ||g_j||, lin_norm = ||mean_j g_j|| (the direction every probe point shares: a linear
    f(x) = beta . x + c has lin_norm = ||beta|| and nonlin_max = 0), nonlin_max = max_j ||g_j - mean_j g||.
    Each is a tensor [S]; mean_gradient is mean_j g_j itself, [S, d]. By the triangle inequality,
    grad_max <= lin_norm + nonlin_max.
    """

    grad_max: torch.Tensor
    grad_mean: torch.Tensor
    lin_norm: torch.Tensor
    nonlin_max: torch.Tensor
    mean_gradient: torch.Tensor


def gradient_diagnostics(nets: PlainTwoLayer, z: torch.Tensor, batch_size: int = 1000) -> GradientDiagnostics:
    """`GradientDiagnostics` of every network over probe points z [S, T, d] (or [T, d]).

    Two passes over z in batches (the gradients are never all held at once): the mean gradient,
    then the norms of the gradients and of their deviations from it.
    """
    z = _stacked_input(z, nets.w.shape[0], nets.w.shape[2])
    T = z.shape[1]
    if T < 1:
        raise InputError("need at least one probe point")
    batches = range(0, T, batch_size)
    mean = sum(nets.input_gradients(z[:, i : i + batch_size]).sum(dim=1) for i in batches) / T
    norms, dev = [], []
    for i in batches:
        g = nets.input_gradients(z[:, i : i + batch_size])
        norms.append(g.norm(dim=2))
        dev.append((g - mean.unsqueeze(1)).norm(dim=2))
    norms, dev = torch.cat(norms, dim=1), torch.cat(dev, dim=1)
    return GradientDiagnostics(grad_max=norms.max(dim=1).values, grad_mean=norms.mean(dim=1),
                               lin_norm=mean.norm(dim=1), nonlin_max=dev.max(dim=1).values,
                               mean_gradient=mean)


def least_squares_slopes(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """beta_s of the least-squares fit y_s ~ x_s beta_s + c_s (with an intercept), per network's data.

    The linear function of the data that gradient training on the squared loss fits early; for
    random labels its expected size is `core.experiments.linear_part.expected_ls_slope_norm`. Computed in
    float64 on x's device (the training device, so a GPU run spends no CPU time on it).

    Args: x [S, n, d], y [S, n]. Returns beta float64 [S, d]. When n - 1 <= d (the data can be
    interpolated) beta is the minimum-norm solution; otherwise the normal equations of the centred
    data are solved by Cholesky (condition number about ((1 + sqrt(d/n)) / (1 - sqrt(d/n)))^2 for
    Gaussian x, small enough for float64).
    """
    if x.ndim != 3 or y.shape != x.shape[:2] or x.shape[1] < 2:
        raise InputError(f"need x [S, n, d] with n >= 2 and y [S, n], got {tuple(x.shape)}, {tuple(y.shape)}")
    x, y = x.double(), y.double()
    xc = x - x.mean(dim=1, keepdim=True)
    yc = (y - y.mean(dim=1, keepdim=True)).unsqueeze(2)
    n, d = x.shape[1], x.shape[2]
    if n - 1 > d:
        factor, info = torch.linalg.cholesky_ex(xc.transpose(1, 2) @ xc)
        if not bool(info.any()):
            return torch.cholesky_solve(xc.transpose(1, 2) @ yc, factor).squeeze(2)
    return (torch.linalg.pinv(xc) @ yc).squeeze(2)  # singular or underdetermined: minimum norm
