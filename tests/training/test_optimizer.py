from importlib.metadata import entry_points

import numpy
import pytest
import spacy
import torch
from numpy.testing import assert_allclose
from thinc.api import Config, Linear, PyTorchWrapper_v2

from spacy_xfer.training import optimizer as optimizer_module
from spacy_xfer.training.optimizer import Adagrad, create_adagrad_v1, create_adam_v1, create_sgd_v1


def lasagne_steps(weights, gradients, learn_rate, eps=1e-6, initial=0.0):
    """Reference AdaGrad in float64: acc += g**2; w -= lr * g / sqrt(acc + eps)."""
    weights = numpy.asarray(weights, dtype="float64").copy()
    accumulator = numpy.full_like(weights, initial)
    for gradient in gradients:
        accumulator += numpy.asarray(gradient, dtype="float64") ** 2
        weights -= learn_rate * numpy.asarray(gradient) / numpy.sqrt(accumulator + eps)
    return weights


def test_two_steps_by_hand():
    # eps 0 and accumulators starting at 7 make the square roots exact: sqrt(7 + 9) = 4,
    # sqrt(16 + 9) = 5; the element without gradient in step 1 keeps its accumulator.
    optimizer = create_adagrad_v1(0.5, eps=0.0, initial_accumulator=7.0)
    weights = numpy.array([1.0, 1.0], dtype="float32")
    for gradient in ([3.0, 0.0], [3.0, 3.0]):
        gradient = numpy.array(gradient, dtype="float32")
        new_weights, new_gradient = optimizer((0, "W"), weights, gradient)
        assert new_weights is weights and new_gradient is gradient
        assert not gradient.any()
    # step 1: w0 -= 0.5 * 3 / 4; step 2: w0 -= 0.5 * 3 / 5, w1 -= 0.5 * 3 / 4
    assert_allclose(weights, [0.325, 0.625], rtol=1e-6)
    assert_allclose(optimizer.accumulators[(0, "W")], [25.0, 16.0])
    assert optimizer.nr_update[(0, "W")] == 2


def test_defaults_follow_lasagne():
    optimizer = create_adagrad_v1()
    assert (optimizer.learn_rate, optimizer.eps) == (0.01, 1e-6)
    assert optimizer.averages is None
    weights = numpy.array([0.5, -1.0, 2.0], dtype="float32")
    gradients = [[1e-4, -0.5, 2.0], [0.0, 0.25, -3.0], [3e-3, 1.0, 0.1]]
    expected = lasagne_steps(weights, gradients, 0.01)
    for gradient in gradients:
        optimizer((1, "b"), weights, numpy.array(gradient, dtype="float32"))
    assert_allclose(weights, expected, rtol=1e-6)


def test_unseen_keys_start_with_the_initial_accumulator():
    optimizer = create_adagrad_v1(0.1, initial_accumulator=1.0)
    for key in [(0, "W"), (1, "W")]:
        weights = numpy.zeros((2, 2), dtype="float32")
        optimizer(key, weights, numpy.full((2, 2), 2.0, dtype="float32"))
        expected = lasagne_steps(numpy.zeros((2, 2)), [numpy.full((2, 2), 2.0)], 0.1, initial=1.0)
        assert_allclose(weights, expected)


def test_zero_gradient_does_not_move_a_parameter():
    optimizer = create_adagrad_v1(0.1, L2=0.5, L2_is_weight_decay=True, use_averages=True)
    weights = numpy.array([1.0, -2.0], dtype="float32")
    optimizer((0, "W"), weights, numpy.zeros(2, dtype="float32"))
    assert_allclose(weights, [1.0, -2.0])
    assert (0, "W") not in optimizer.accumulators
    assert (0, "W") not in optimizer.averages
    assert optimizer.nr_update[(0, "W")] == 0


def test_inactive_layer_of_a_thinc_model_stays_put():
    active, inactive = Linear(2, 3), Linear(2, 3)
    for layer in (active, inactive):
        layer.initialize(X=numpy.ones((1, 3), dtype="float32"))
    before = inactive.get_param("W").copy()
    _, backprop = active.begin_update(numpy.ones((4, 3), dtype="float32"))
    backprop(numpy.ones((4, 2), dtype="float32"))
    inactive.set_grad("W", numpy.zeros_like(before))
    optimizer = create_adagrad_v1(0.1)
    moved = active.get_param("W").copy()
    for layer in (active, inactive):
        layer.finish_update(optimizer)
    assert_allclose(inactive.get_param("W"), before)
    assert not numpy.allclose(active.get_param("W"), moved)


def test_torch_parameters_are_stepped_through_the_pytorch_shim():
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 2)
    model = PyTorchWrapper_v2(module)
    optimizer = create_adagrad_v1(0.1)
    X = numpy.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    start = {name: p.detach().numpy().copy() for name, p in module.named_parameters()}
    gradients = {name: [] for name in start}
    for dY in (numpy.ones((4, 2), dtype="float32"), numpy.full((4, 2), -0.5, dtype="float32")):
        _, backprop = model.begin_update(X)
        backprop(dY)
        for name, param in module.named_parameters():
            gradients[name].append(param.grad.numpy().copy())
        model.finish_update(optimizer)
        assert all(not param.grad.any() for param in module.parameters())
    for name, param in module.named_parameters():
        expected = lasagne_steps(start[name], gradients[name], 0.1)
        assert_allclose(param.detach().numpy(), expected, rtol=1e-5)
    shim_id = model.shims[0].id
    assert set(optimizer.accumulators) == {(shim_id, "weight"), (shim_id, "bias")}


def test_learn_rate_schedule_is_stepped():
    optimizer = create_adagrad_v1([0.5, 0.25], eps=0.0, initial_accumulator=7.0)
    rates = []
    for _ in range(3):
        weights = numpy.zeros(1, dtype="float32")
        optimizer((len(rates), "W"), weights, numpy.array([3.0], dtype="float32"))
        rates.append(float(-weights[0] * 4 / 3))  # each key's first step: lr * 3 / 4
        optimizer.step_schedules()
    assert_allclose(rates, [0.5, 0.25, 0.25])  # an exhausted schedule keeps its last rate


def test_grad_clip_and_l2():
    clipped = create_adagrad_v1(1.0, grad_clip=1.0)
    weights = numpy.zeros(2, dtype="float32")
    clipped((0, "W"), weights, numpy.array([6.0, 8.0], dtype="float32"))  # norm 10 -> 1
    assert_allclose(clipped.accumulators[(0, "W")], [0.36, 0.64], rtol=1e-6)
    penalised = create_adagrad_v1(0.1, L2=0.5)
    weights = numpy.array([2.0], dtype="float32")
    penalised((0, "W"), weights, numpy.array([1.0], dtype="float32"))  # g + L2 * w = 2
    assert_allclose(weights, lasagne_steps([2.0], [[2.0]], 0.1), rtol=1e-6)


def test_use_averages_tracks_parameters():
    optimizer = create_adagrad_v1(0.1, use_averages=True)
    weights = numpy.ones(2, dtype="float32")
    optimizer((0, "W"), weights, numpy.ones(2, dtype="float32"))
    assert optimizer.averages[(0, "W")].shape == (2,)


@pytest.mark.parametrize("eps,initial", [(-1e-6, 0.0), (0.0, 0.0), (1e-6, -1.0)])
def test_invalid_eps_and_accumulator_are_rejected(eps, initial):
    with pytest.raises(ValueError, match=r"E038.*AdaGrad \(eps, initial_accumulator\)"):
        create_adagrad_v1(eps=eps, initial_accumulator=initial)


def test_optimizer_resolves_from_a_training_config():
    config = Config().from_str(
        """
        [training]

        [training.optimizer]
        @optimizers = "spacy_xfer.Adagrad.v1"
        grad_clip = 5.0

        [training.optimizer.learn_rate]
        @schedules = "warmup_linear.v1"
        warmup_steps = 2
        total_steps = 10
        initial_rate = 0.05
        """
    )
    optimizer = spacy.registry.resolve(config)["training"]["optimizer"]
    assert isinstance(optimizer, Adagrad)
    assert optimizer.grad_clip == 5.0
    assert "learn_rate" in optimizer.schedules
    assert spacy.registry.optimizers.get("spacy_xfer.Adagrad.v1") is create_adagrad_v1


@pytest.mark.parametrize(
    "registry,name",
    [
        ("readers", "spacy_xfer.TaskSampler.v1"),
        ("batchers", "spacy_xfer.batch_by_task.v1"),
        ("optimizers", "spacy_xfer.Adagrad.v1"),
    ],
)
def test_registered_names_are_declared_entry_points(registry, name):
    # catalogue looks names up in the entry point group of the registry's namespace,
    # so a fresh interpreter finds them without importing spacy_xfer first
    functions = getattr(spacy.registry, registry)
    declared = entry_points(group=functions.entry_point_namespace)
    assert name in declared.names
    assert declared[name].load() is functions.get(name)


class DeviceArray(numpy.ndarray):
    """A numpy array that refuses to be read back to the host, as reading a cupy
    array would wait for the GPU: the optimizer's device path must never do it."""

    def __bool__(self):
        raise AssertionError("host synchronisation: bool() of a device array")

    def item(self, *args):
        raise AssertionError("host synchronisation: item() of a device array")

    __float__ = __int__ = __index__ = item


OPTIMIZERS = {
    "adagrad": lambda: create_adagrad_v1(0.1),
    "adagrad-l2-clip-averages": lambda: create_adagrad_v1(0.1, L2=0.1, grad_clip=1.0, use_averages=True),
    "adam": lambda: create_adam_v1(0.1, L2=0.1, use_averages=True),
    "adam-coupled-l2": lambda: create_adam_v1(0.1, L2=0.1, L2_is_weight_decay=False, grad_clip=0.5),
    "sgd": lambda: create_sgd_v1(0.1, L2=0.1, L2_is_weight_decay=True, use_averages=True),
}
# Gradients of two parameters over five steps; None: the parameter's task was not
# drawn (an all-zero gradient). "late" gets its first gradient at step 3.
GRADIENTS = {
    "early": [[1.0, -2.0, 0.0], None, [0.5, 0.0, 3.0], None, [-1.0, 1.0, 1.0]],
    "late": [None, None, [2.0, 2.0, -1.0], None, [0.0, 0.0, 4.0]],
}


def run_steps(optimizer, as_array):
    """Weights after GRADIENTS, and the weights seen after each skipped step."""
    weights = {name: as_array(numpy.array([1.0, -1.0, 0.5], dtype="float32")) for name in GRADIENTS}
    skipped = []
    for step in range(5):
        for name, gradients in GRADIENTS.items():
            gradient = gradients[step]
            before = numpy.asarray(weights[name]).copy()
            g = as_array(numpy.array(gradient or [0.0] * 3, dtype="float32"))
            optimizer((0, name), weights[name], g)
            assert not numpy.asarray(g).any()
            if gradient is None:
                skipped.append((before, numpy.asarray(weights[name]).copy()))
    return weights, skipped


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_device_path_skips_undrawn_parameters_as_the_host_path_does(monkeypatch, make):
    host_optimizer = make()
    host_weights, host_skipped = run_steps(host_optimizer, lambda a: a)
    monkeypatch.setattr(optimizer_module, "host_arrays", lambda xp: False)
    device_optimizer = make()
    device_weights, device_skipped = run_steps(device_optimizer, lambda a: a.view(DeviceArray))
    for before, after in device_skipped + host_skipped:
        numpy.testing.assert_array_equal(after, before)  # an undrawn head does not move
    for name in GRADIENTS:
        assert_allclose(numpy.asarray(device_weights[name]), host_weights[name], rtol=1e-5)
        assert int(numpy.asarray(device_optimizer.device_steps[(0, name)])) == host_optimizer.nr_update[(0, name)]
    if host_optimizer.averages is not None:
        for key, average in host_optimizer.averages.items():
            assert_allclose(numpy.asarray(device_optimizer.averages[key]), average, rtol=1e-5)
    assert device_optimizer.nr_update == {}  # counted on the device instead


def test_a_device_parameter_never_stepped_is_averaged_as_itself(monkeypatch):
    monkeypatch.setattr(optimizer_module, "host_arrays", lambda xp: False)
    optimizer = create_adam_v1(0.1, use_averages=True)
    weights = numpy.array([1.0, -2.0], dtype="float32").view(DeviceArray)
    optimizer((0, "W"), weights, numpy.zeros(2, dtype="float32").view(DeviceArray))
    assert_allclose(numpy.asarray(optimizer.averages[(0, "W")]), [1.0, -2.0])


def adam_reference(weights, gradients, learn_rate, b1=0.9, b2=0.999, eps=1e-8, lr_scale=1.0):
    """Thinc's Adam rule (`Optimizer._adam`, `NumpyOps.adam`) in float64:
    w -= lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)."""
    weights = numpy.asarray(weights, dtype="float64").copy()
    mom1 = numpy.zeros_like(weights)
    mom2 = numpy.zeros_like(weights)
    for t, gradient in enumerate(gradients, start=1):
        gradient = numpy.asarray(gradient, dtype="float64")
        mom1 = b1 * mom1 + (1 - b1) * gradient
        mom2 = b2 * mom2 + (1 - b2) * gradient**2
        rate = lr_scale * learn_rate * (1 - b2**t) ** 0.5 / (1 - b1**t)
        weights -= rate * mom1 / (numpy.sqrt(mom2) + eps)
    return weights


def test_adam_on_host_arrays_follows_thincs_rule():
    # the step runs torch's fused kernel; gradient scales 1e-3..1e1 so that eps and the
    # bias corrections matter
    rng = numpy.random.default_rng(0)
    start = rng.normal(size=(7, 5)).astype("float32")
    gradients = [(rng.normal(size=start.shape) * 10.0 ** rng.integers(-3, 2)).astype("float32") for _ in range(12)]
    optimizer = create_adam_v1(0.05, grad_clip=0.0)
    weights = start.copy()
    for gradient in gradients:
        g = gradient.copy()
        optimizer((0, "W"), weights, g, lr_scale=0.5)
        assert not g.any()  # zeroed, as Thinc's step leaves it
    assert_allclose(weights, adam_reference(start, gradients, 0.05, lr_scale=0.5), rtol=1e-5, atol=1e-6)
    assert optimizer.nr_update[(0, "W")] == len(gradients)


def test_adam_state_of_another_size_is_an_error():
    # a parameter resized under the same key (e.g. `nlp.initialize` again with the same
    # optimizer): Thinc's size check, never an out-of-bounds write
    optimizer = create_adam_v1(0.01, grad_clip=0.0)
    optimizer((0, "W"), numpy.ones(4, dtype="float32"), numpy.ones(4, dtype="float32"))
    weights = numpy.ones(4096, dtype="float32")
    with pytest.raises(ValueError, match="incompatible shapes"):
        optimizer((0, "W"), weights, numpy.ones(4096, dtype="float32"))


def tensor_steps(optimizer, batched):
    """GRADIENTS on torch parameters, each step by `step_tensors` (batched) or by calling
    the optimizer on each parameter's numpy views (Thinc's `PyTorchShim.finish_update`);
    RETURNS the weights, and the weights seen before and after each skipped step."""
    weights = {name: torch.tensor([[1.0, -1.0, 0.5], [0.25, 2.0, -3.0]]) for name in GRADIENTS}
    skipped = []
    for step in range(5):
        gradients = {
            name: torch.tensor([gradient[step] or [0.0] * 3, [0.1, 0.2, 0.3] if gradient[step] else [0.0] * 3])
            for name, gradient in GRADIENTS.items()
        }
        before = {name: weight.clone() for name, weight in weights.items()}
        if batched:
            names = list(weights)
            assert optimizer.step_tensors([(0, n) for n in names], [weights[n] for n in names], [gradients[n] for n in names])
        else:
            for name in weights:
                optimizer((0, name), weights[name].numpy(), gradients[name].numpy())
        assert not any(g.any() for g in gradients.values())
        skipped += [(before[n], weights[n].clone()) for n, g in GRADIENTS.items() if g[step] is None]
    return weights, skipped


ADAMS = {name: make for name, make in OPTIMIZERS.items() if name.startswith("adam")}
ADAMS["adam-clip-averages"] = lambda: create_adam_v1(0.1, grad_clip=1.5, use_averages=True)


@pytest.mark.parametrize("make", ADAMS.values(), ids=ADAMS.keys())
def test_step_tensors_steps_as_the_optimizer_does_per_parameter(make):
    one_by_one, batched = make(), make()
    expected, _ = tensor_steps(one_by_one, batched=False)
    got, skipped = tensor_steps(batched, batched=True)
    for before, after in skipped:
        assert torch.equal(before, after)  # an undrawn head does not move
    for name in GRADIENTS:
        assert_allclose(got[name].numpy(), expected[name].numpy(), rtol=1e-6, atol=1e-7)
    assert batched.nr_update == one_by_one.nr_update
    for key, average in (one_by_one.averages or {}).items():
        assert_allclose(batched.averages[key], average, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "make,dtype,resized",
    [
        (lambda: create_adagrad_v1(0.1), torch.float32, False),
        (lambda: create_sgd_v1(0.1), torch.float32, False),
        (lambda: create_adam_v1(0.1), torch.float64, False),
        (lambda: create_adam_v1(0.1), torch.float32, True),
    ],
    ids=["adagrad", "sgd", "float64", "resized"],
)
def test_step_tensors_declines_what_it_does_not_step_and_changes_nothing(make, dtype, resized):
    optimizer = make()
    if resized:  # Adam state of another size under the key
        optimizer((0, "W"), numpy.ones(4, dtype="float32"), numpy.ones(4, dtype="float32"))
    weight, gradient = torch.ones(3, dtype=dtype), torch.ones(3, dtype=dtype)
    steps, moments = dict(optimizer.nr_update), set(optimizer.mom1)
    assert not optimizer.step_tensors([(0, "W")], [weight], [gradient])
    assert torch.equal(weight, torch.ones(3, dtype=dtype)) and torch.equal(gradient, torch.ones(3, dtype=dtype))
    assert dict(optimizer.nr_update) == steps and set(optimizer.mom1) == moments


class OneByOne:
    """An optimizer without `step_tensors`: the shim steps each parameter with it."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def __call__(self, *args, **kwargs):
        return self.optimizer(*args, **kwargs)


class AllAtOnce(OneByOne):
    """The optimizer with its `step_tensors`, recording what each call returned."""

    def __init__(self, optimizer):
        super().__init__(optimizer)
        self.stepped = []

    def step_tensors(self, *args):
        self.stepped.append(self.optimizer.step_tensors(*args))
        return self.stepped[-1]


def test_torch_layers_step_the_same_with_and_without_step_tensors():
    from spacy_xfer.models.architectures import build_char_encoder_v1

    docs = [spacy.tokens.Doc(spacy.blank("en").vocab, words=["abc", "de", "fgh"])]
    models, optimizers = [], []
    for batched in (True, False):
        torch.manual_seed(0)
        model = build_char_encoder_v1(width=4, hidden=3, depth=1)
        model.initialize(X=docs)
        optimizer = create_adam_v1(0.05, grad_clip=0.5, L2=0.01)
        stepping = AllAtOnce(optimizer) if batched else OneByOne(optimizer)
        for _ in range(3):
            outputs, backprop = model.begin_update(docs)
            backprop([output - 1 for output in outputs])
            model.finish_update(stepping)
        if batched:
            assert stepping.stepped == [True] * 3  # one call per step, all taken
        models.append(model)
        optimizers.append(optimizer)
    steps = [{name: n for (_, name), n in optimizer.nr_update.items()} for optimizer in optimizers]
    assert steps[0] == steps[1] and set(steps[0].values()) == {3}
    for a, b in zip(models[0].predict(docs), models[1].predict(docs)):
        assert_allclose(a, b, rtol=1e-5, atol=1e-6)
