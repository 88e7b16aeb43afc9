"""The shared machinery: arguments, clipping, weight decay, in-place updates, EMA, accumulation, state, config."""

import tracemalloc
import warnings

import numpy as np
import pytest

from nbtrain.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, Nadam, Optimizer, RMSprop, schedules

ALL = [SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam, AdamW, Lion]
# settings that give every optimizer all of its slots (and EMA), for state and allocation tests
FULL = {
    SGD: {"momentum": 0.9, "nesterov": True},
    RMSprop: {"momentum": 0.5, "centered": True},
    Adagrad: {},
    Adadelta: {},
    Adam: {"amsgrad": True},
    Adamax: {},
    Nadam: {},
    AdamW: {"amsgrad": True},
    Lion: {},
}
by_name = {"ids": lambda c: c.__name__}


def f32(*values):
    return np.array(values, dtype=np.float32)


# --------------------------------------------------------------------------------------------- arguments


def test_int_arguments_are_accepted_and_become_floats():
    sgd = SGD(learning_rate=1, momentum=0)
    assert sgd.momentum == 0.0 and isinstance(sgd.momentum, float)
    assert sgd.learning_rate == 1.0 and isinstance(sgd.learning_rate, float)
    adam = Adam(learning_rate=1, beta_1=0, epsilon=0)
    assert isinstance(adam.learning_rate, float) and isinstance(adam.beta_1, float)
    assert isinstance(RMSprop(rho=1).rho, float)
    assert SGD(learning_rate=np.float32(0.5)).learning_rate == 0.5


@pytest.mark.parametrize(
    "make, name, received, valid",
    [
        (lambda: SGD(momentum=1.5), "momentum", "1.5", "[0, 1]"),
        (lambda: SGD(momentum=-0.1), "momentum", "-0.1", "[0, 1]"),
        (lambda: Adam(learning_rate=-1), "learning_rate", "-1", ">= 0"),
        (lambda: RMSprop(rho=2), "rho", "2", "[0, 1]"),
        (lambda: Adam(beta_1=1.0), "beta_1", "1.0", "[0, 1)"),
        (lambda: Adam(beta_2=-0.5), "beta_2", "-0.5", "[0, 1)"),
        (lambda: Adagrad(initial_accumulator_value=-1), "initial_accumulator_value", "-1", ">= 0"),
        (lambda: Adadelta(epsilon=-1e-7), "epsilon", "-1e-07", ">= 0"),
        (lambda: Lion(beta_1=0), "beta_1", "0", "(0, 1]"),
        (lambda: Adam(clipnorm=0), "clipnorm", "0", "> 0"),
        (lambda: Adam(weight_decay=-0.1), "weight_decay", "-0.1", ">= 0"),
        (lambda: Adam(use_ema=True, ema_momentum=1.5), "ema_momentum", "1.5", "[0, 1]"),
        (lambda: Adam(gradient_accumulation_steps=1), "gradient_accumulation_steps", "1", ">= 2"),
    ],
)
def test_out_of_range_values_say_what_was_received_and_the_valid_range(make, name, received, valid):
    with pytest.raises(ValueError) as error:
        make()
    message = str(error.value)
    assert f"`{name}`" in message and f"{name}={received}" in message and valid in message


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="momentum"):
        SGD(momentum="0.9")
    with pytest.raises(TypeError, match="learning_rate"):
        Adam(learning_rate="fast")
    with pytest.raises(TypeError, match="nesterov"):
        SGD(nesterov="yes")
    with pytest.raises(TypeError, match="momentum"):
        SGD(momentum=True)


def test_misspelled_keyword_suggests_the_right_one():
    with pytest.raises(TypeError, match=r"Adam\(\) got an unexpected keyword argument 'beta1'\. Did you mean 'beta_1'\?"):
        Adam(beta1=0.9)
    with pytest.raises(TypeError, match="Did you mean 'momentum'"):
        SGD(momentun=0.9)
    with pytest.raises(TypeError, match="Did you mean 'clipnorm'"):
        RMSprop(clip_norm=1.0)
    with pytest.raises(TypeError, match="Did you mean 'learning_rate'"):
        AdamW(learning_rat=0.1)


def test_legacy_lr_warns_and_is_used():
    with pytest.warns(DeprecationWarning, match=r"use Adam\(learning_rate=0.01\)"):
        optimizer = Adam(lr=0.01)
    assert optimizer.learning_rate == 0.01
    with pytest.warns(DeprecationWarning):
        assert SGD(lr=1).learning_rate == 1.0


def test_legacy_lr_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AdamW(lr=0.01)
    assert caught[0].filename == __file__


def test_lr_and_learning_rate_together_raise():
    with pytest.raises(TypeError, match="both"):
        Adam(learning_rate=0.001, lr=0.01)


def test_decay_is_ignored_with_a_warning_suggesting_a_schedule():
    with pytest.warns(UserWarning, match="decay.*ignored.*InverseTimeDecay"):
        optimizer = SGD(learning_rate=0.1, decay=1e-6)
    assert optimizer.learning_rate == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SGD(decay=0.0)  # "no decay" is what happens anyway


def test_only_one_kind_of_clipping():
    with pytest.raises(ValueError, match="only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="only one of"):
        Adam(clipnorm=1.0, global_clipnorm=1.0)


def test_adamw_requires_weight_decay():
    assert AdamW().weight_decay == 0.004
    with pytest.raises(ValueError, match="weight_decay=None"):
        AdamW(weight_decay=None)


# -------------------------------------------------------------------------------- learning rate property


def test_learning_rate_setter_and_lr_alias():
    optimizer = Adam()
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == 0.5 and optimizer.lr == 0.5
    optimizer.lr = 2  # int accepted, Keras 2 style
    assert optimizer.learning_rate == 2.0 and isinstance(optimizer.learning_rate, float)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizer.learning_rate = -1.0
    w = f32(0.0)
    optimizer = SGD(learning_rate=0.1)
    optimizer.apply([f32(1.0)], [w])
    optimizer.learning_rate = 0.01
    optimizer.apply([f32(1.0)], [w])
    np.testing.assert_allclose(w, [-0.11], rtol=1e-6)


def test_learning_rate_cannot_be_set_to_a_number_when_a_schedule_is_used():
    optimizer = SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="schedule"):
        optimizer.learning_rate = 0.01
    optimizer.learning_rate = schedules.InverseTimeDecay(1.0, 1, 1.0)  # another schedule is fine
    assert optimizer.learning_rate == 1.0


def test_schedule_is_evaluated_at_iterations_and_drives_the_update():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    optimizer = SGD(learning_rate=schedule)
    w = f32(0.0)
    expected_rates = [0.1, 0.070711, 0.05, 0.035355, 0.025]
    for step, rate in enumerate(expected_rates):
        assert optimizer.iterations == step
        assert optimizer.learning_rate == pytest.approx(rate, rel=1e-5)
        before = float(w[0])
        optimizer.apply([f32(1.0)], [w])  # with g = 1, SGD moves by exactly the rate
        assert before - float(w[0]) == pytest.approx(rate, rel=1e-5)


def test_callables_with_a_step_or_with_no_argument():
    optimizer = SGD(learning_rate=lambda step: 0.1 / (step + 1))
    w = f32(0.0)
    for step in range(3):
        assert optimizer.learning_rate == pytest.approx(0.1 / (step + 1))
        optimizer.apply([f32(1.0)], [w])
    np.testing.assert_allclose(w, [-(0.1 + 0.05 + 0.1 / 3)], rtol=1e-6)
    assert SGD(learning_rate=lambda: 0.25).learning_rate == 0.25  # Keras 3's zero-argument form


# ------------------------------------------------------------------------------------------------ clipping


def test_clipnorm_is_per_tensor():
    big, small = f32(100.0, 100.0), f32(0.3, 0.4)
    w1, w2 = f32(0.0, 0.0), f32(0.0, 0.0)
    SGD(learning_rate=1.0, clipnorm=1.0).apply([big, small], [w1, w2])
    np.testing.assert_allclose(w1, [-(2**0.5) / 2] * 2, rtol=1e-6)
    np.testing.assert_allclose(w2, [-0.3, -0.4], rtol=1e-6)  # norm 0.5 < 1: unchanged
    np.testing.assert_array_equal(big, [100.0, 100.0])  # the caller's gradient is not modified


def test_clipvalue_clips_each_element():
    grad = f32(100.0, -0.5, -3.0)
    w = f32(0.0, 0.0, 0.0)
    SGD(learning_rate=1.0, clipvalue=1.0).apply([grad], [w])
    np.testing.assert_allclose(w, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(grad, [100.0, -0.5, -3.0])


def test_global_clipnorm_scales_all_gradients_together():
    w1, w2 = f32(0.0, 0.0), f32(0.0)
    SGD(learning_rate=1.0, global_clipnorm=1.0).apply([f32(3.0, 0.0), f32(4.0)], [w1, w2])  # joint norm 5
    np.testing.assert_allclose(w1, [-0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(w2, [-0.8], rtol=1e-6)
    w = f32(0.0)
    SGD(learning_rate=1.0, global_clipnorm=10.0).apply([f32(3.0)], [w])
    np.testing.assert_allclose(w, [-3.0])


def test_global_clipnorm_with_non_finite_norm_gives_nan():
    w = f32(0.0, 0.0)
    SGD(learning_rate=1.0, global_clipnorm=1.0).apply([f32(np.inf, 1.0)], [w])
    assert np.isnan(w).all()


def test_clipping_happens_before_weight_decay_and_update():
    # Adam's first step moves each element by ~lr*sign(g) whatever the scale, so use SGD to see the clip.
    w = f32(1.0)
    SGD(learning_rate=0.5, clipvalue=0.1, weight_decay=0.2).apply([f32(5.0)], [w])
    # decay: 1 - 1*0.2*0.5 = 0.9; update with the clipped gradient 0.1: 0.9 - 0.05 = 0.85
    np.testing.assert_allclose(w, [0.85], rtol=1e-6)


def test_loss_scale_factor_divides_gradients():
    w = f32(0.0)
    SGD(learning_rate=1.0, loss_scale_factor=128.0).apply([f32(64.0)], [w])
    np.testing.assert_allclose(w, [-0.5])


# ------------------------------------------------------------------------------------------- weight decay


def test_weight_decay_exclusion_by_list_and_by_name():
    kernel, bias, other = f32(1.0, 1.0), f32(1.0), f32(1.0)
    zeros = [np.zeros_like(kernel), np.zeros_like(bias), np.zeros_like(other)]
    optimizer = SGD(learning_rate=1.0, weight_decay=0.1)
    optimizer.exclude_from_weight_decay(var_list=[other], var_names=["bias"])
    optimizer.apply(zeros, [kernel, bias, other], variable_names=["dense/kernel", "dense/bias", "dense_1/kernel"])
    np.testing.assert_allclose(kernel, [0.9, 0.9], rtol=1e-6)
    np.testing.assert_array_equal(bias, [1.0])
    np.testing.assert_array_equal(other, [1.0])


def test_weight_decay_exclusion_by_name_without_names_warns():
    optimizer = AdamW(learning_rate=0.1)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    with pytest.warns(UserWarning, match="cannot see the variables' names"):
        optimizer.apply([f32(1.0)], [f32(1.0)])


def test_exclusion_can_change_after_building():
    w = f32(1.0)
    optimizer = SGD(learning_rate=1.0, weight_decay=0.5)
    optimizer.apply([f32(0.0)], [w])
    assert w[0] == 0.5
    optimizer.exclude_from_weight_decay(var_list=[w])
    optimizer.apply([f32(0.0)], [w])
    assert w[0] == 0.5


# ----------------------------------------------------------------------------------------- in-place updates


@pytest.mark.parametrize("cls", ALL, **by_name)
def test_updates_are_in_place(cls):
    # the variables are views into one buffer: only a true in-place update reaches the buffer
    buffer = np.ones(10, dtype=np.float32)
    kernel, bias = buffer[:6].reshape(2, 3), buffer[6:]
    variables = [kernel, bias]
    optimizer = cls(learning_rate=0.1, **FULL[cls])
    for _ in range(3):
        optimizer.apply([np.full((2, 3), 0.5, np.float32), np.full(4, -0.5, np.float32)], variables)
    assert variables[0] is kernel and variables[1] is bias
    assert kernel.base is buffer and bias.base is buffer
    assert (buffer[:6] < 1).all() and (buffer[6:] > 1).all()
    assert kernel.dtype == np.float32


@pytest.mark.parametrize("cls", ALL, **by_name)
def test_no_per_step_allocation_proportional_to_the_parameters(cls):
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(784, 512)).astype(np.float32)  # 1.6 MB
    grad = rng.normal(size=kernel.shape).astype(np.float32)
    optimizer = cls(learning_rate=0.001, **FULL[cls])
    optimizer.apply([grad], [kernel])  # builds the slots and scratch buffers
    tracemalloc.start()
    try:
        optimizer.apply([grad], [kernel])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < kernel.nbytes / 20, f"{cls.__name__} allocated {peak} bytes in one step"


def test_clipping_does_not_allocate_per_step_either():
    kernel = np.ones((512, 512), dtype=np.float32)
    grad = np.full_like(kernel, 3.0)
    for options in ({"clipnorm": 1.0}, {"clipvalue": 0.5}, {"global_clipnorm": 1.0}, {"loss_scale_factor": 4.0}):
        optimizer = Adam(**options)
        optimizer.apply([grad], [kernel])
        tracemalloc.start()
        try:
            optimizer.apply([grad], [kernel])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < kernel.nbytes / 20, options


def test_slots_are_float32_for_float32_variables():
    optimizer = Adam(amsgrad=True, use_ema=True)
    optimizer.apply([np.ones(3, np.float32)], [np.ones(3, np.float32)])
    assert all(s.dtype == np.float32 for s in optimizer.variables()[1:])


# ------------------------------------------------------------------------------------- gradients checking


def test_none_gradients_are_skipped_with_a_warning():
    w1, w2 = f32(1.0), f32(1.0)
    with pytest.warns(UserWarning, match=r"positions \[1\]"):
        SGD(learning_rate=0.5).apply([f32(1.0), None], [w1, w2])
    assert w1[0] == 0.5 and w2[0] == 1.0


def test_all_none_gradients_raise():
    with pytest.raises(ValueError, match="No gradients provided"):
        SGD().apply([None], [f32(1.0)])


def test_empty_gradient_list_is_a_no_op():
    optimizer = SGD()
    optimizer.apply([], [])
    assert optimizer.iterations == 0


def test_mismatched_lengths_and_shapes_raise():
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        SGD().apply([f32(1.0), f32(1.0)], [f32(1.0)])
    with pytest.raises(ValueError, match=r"shape \(2,\) but the variable has shape \(3,\)"):
        SGD().apply([f32(1.0, 2.0)], [f32(1.0, 2.0, 3.0)])


def test_variables_must_be_writeable_float_arrays():
    with pytest.raises(TypeError, match="floating-point NumPy array; variable 0 is a list"):
        SGD().apply([f32(1.0)], [[1.0]])
    with pytest.raises(TypeError, match="int64 array"):
        SGD().apply([f32(1.0)], [np.array([1])])
    frozen = f32(1.0)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD().apply([f32(1.0)], [frozen])


def test_apply_without_variables_reuses_the_last_list():
    w = f32(1.0)
    optimizer = SGD(learning_rate=0.5)
    with pytest.raises(ValueError, match="without variables"):
        optimizer.apply([f32(1.0)])
    optimizer.apply([f32(1.0)], [w])
    optimizer.apply([f32(1.0)])
    assert w[0] == 0.0


def test_apply_gradients_takes_pairs_and_returns_iterations():
    w = f32(1.0)
    optimizer = SGD(learning_rate=0.5)
    assert optimizer.apply_gradients(zip([f32(1.0)], [w])) == 1
    assert optimizer.apply_gradients([(f32(1.0), w)]) == 2
    assert w[0] == 0.0


# ----------------------------------------------------------------------------------------- building state


def test_state_is_rebuilt_when_the_variable_list_changes():
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    a, b = f32(1.0, 1.0), f32(1.0)
    optimizer.apply([f32(1.0, 1.0)], [a])
    assert optimizer._slots[0]["momentum"].shape == (2,)
    optimizer.apply([f32(1.0, 1.0), f32(1.0)], [a, b])  # a new length: fresh slots, iterations keep counting
    assert [s["momentum"].shape for s in optimizer._slots] == [(2,), (1,)]
    np.testing.assert_allclose(optimizer._slots[0]["momentum"], [-0.1, -0.1], rtol=1e-6)
    assert optimizer.iterations == 2


def test_same_shapes_with_new_arrays_keep_the_state():
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    optimizer.apply([f32(1.0)], [f32(1.0)])
    w = f32(1.0)
    optimizer.apply([f32(1.0)], [w])  # momentum carries: m = 0.9*-0.1 - 0.1 = -0.19
    np.testing.assert_allclose(w, [0.81], rtol=1e-6)


def test_variables_lists_iterations_then_slots():
    optimizer = Adam()
    assert len(optimizer.variables()) == 1 and optimizer.variables()[0] == 0
    a, b = f32(1.0, 2.0), f32(3.0)
    optimizer.apply([f32(1.0, 1.0), f32(1.0)], [a, b])
    variables = optimizer.variables()
    assert variables[0] == 1
    assert [v.shape for v in variables[1:]] == [(2,), (1,), (2,), (1,)]  # momentums, then velocities
    assert variables[1] is optimizer._slots[0]["momentum"]


# -------------------------------------------------------------------------------------------------- EMA


def test_ema_average_follows_the_weights():
    w = f32(0.0)
    optimizer = SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5)
    optimizer.apply([f32(-1.0)], [w])  # w = 1; first step: average = w = 1
    assert optimizer._slots[0]["average"][0] == 1.0
    optimizer.apply([f32(-1.0)], [w])  # w = 2; average = 0.5*1 + 0.5*2 = 1.5
    assert optimizer._slots[0]["average"][0] == 1.5
    assert w[0] == 2.0  # not overwritten without ema_overwrite_frequency
    optimizer.finalize_variable_values([w])
    assert w[0] == 1.5


def test_ema_overwrite_frequency():
    w = f32(0.0)
    optimizer = SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    optimizer.apply([f32(-1.0)], [w])  # w = 1, average 1
    assert w[0] == 1.0
    optimizer.apply([f32(-1.0)], [w])  # w = 2, average 1.5, overwritten on the 2nd step
    assert w[0] == 1.5


def test_finalize_without_ema_does_nothing():
    w = f32(1.0)
    optimizer = SGD()
    optimizer.apply([f32(1.0)], [w])
    before = w.copy()
    optimizer.finalize_variable_values([w])
    np.testing.assert_array_equal(w, before)


# ----------------------------------------------------------------------------------- gradient accumulation


def test_gradient_accumulation_applies_the_mean_every_n_calls():
    w_acc, w_ref = f32(1.0, 1.0), f32(1.0, 1.0)
    accumulating = Adam(learning_rate=0.1, gradient_accumulation_steps=2)
    reference = Adam(learning_rate=0.1)
    pairs = [(f32(1.0, 2.0), f32(3.0, -2.0)), (f32(-1.0, 0.5), f32(0.0, 1.5))]
    for g1, g2 in pairs:
        accumulating.apply([g1], [w_acc])
        np.testing.assert_array_equal(accumulating._slots[0]["gradient_accumulator"], g1)
        accumulating.apply([g2], [w_acc])
        reference.apply([(g1 + g2) / 2], [w_ref])
        np.testing.assert_allclose(w_acc, w_ref, rtol=1e-6)
    assert accumulating.iterations == 2 and accumulating._iterations == 4


# ----------------------------------------------------------------------------------------------- state


def _run(optimizer, variables, grads):
    for step_grads in grads:
        optimizer.apply(step_grads, variables)


@pytest.mark.parametrize("cls", ALL, **by_name)
def test_state_round_trip_continues_exactly(cls):
    rng = np.random.default_rng(3)
    start = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=4).astype(np.float32)]
    grads = [[rng.normal(size=v.shape).astype(np.float32) for v in start] for _ in range(6)]
    options = {"learning_rate": 0.05, "use_ema": True, **FULL[cls]}

    straight = [v.copy() for v in start]
    _run(cls(**options), straight, grads)

    first = cls(**options)
    resumed = [v.copy() for v in start]
    _run(first, resumed, grads[:3])
    state = first.get_state()
    _run(first, [v.copy() for v in resumed], grads[3:4])  # later use of the original must not leak into state
    second = cls(**options)
    second.set_state(state)
    assert second.iterations == 3
    _run(second, resumed, grads[3:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


def test_state_keeps_a_changed_learning_rate_and_is_copied():
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    optimizer.apply([f32(1.0)], [f32(1.0)])
    optimizer.learning_rate = 0.02  # e.g. ReduceLROnPlateau
    state = optimizer.get_state()
    assert state["iterations"] == 1 and state["learning_rate"] == 0.02
    state["slots"][0]["momentum"][0] = 123.0
    assert optimizer._slots[0]["momentum"][0] != 123.0
    restored = SGD(learning_rate=0.1, momentum=0.9)
    restored.set_state(optimizer.get_state())
    assert restored.learning_rate == 0.02


def test_state_from_another_optimizer_or_setting_is_refused():
    adam = Adam()
    adam.apply([f32(1.0)], [f32(1.0)])
    with pytest.raises(ValueError, match="saved from a Adam"):
        SGD().set_state(adam.get_state())
    with pytest.raises(ValueError, match="velocity_hat"):
        Adam(amsgrad=True).set_state(adam.get_state())


def test_state_of_an_unbuilt_optimizer():
    state = Adam().get_state()
    restored = Adam()
    restored.set_state(state)
    assert not restored.built and restored.iterations == 0


def test_nadam_state_includes_its_running_product():
    optimizer = Nadam()
    optimizer.apply([f32(1.0)], [f32(1.0)])
    state = optimizer.get_state()
    assert state["scalars"]["u_product"] == pytest.approx(0.9 * (1 - 0.5 * 0.96))


# ---------------------------------------------------------------------------------------- config, repr


@pytest.mark.parametrize("cls", ALL, **by_name)
def test_config_round_trip(cls):
    optimizer = cls(learning_rate=0.25, clipnorm=2.0, use_ema=True, name="mine", **FULL[cls])
    config = optimizer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert config["learning_rate"] == 0.25 and config["name"] == "mine"


def test_config_round_trip_with_a_schedule():
    optimizer = Adam(learning_rate=schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10))
    config = optimizer.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    clone = Adam.from_config(config)
    assert isinstance(clone._learning_rate, schedules.CosineDecay)
    assert clone.get_config() == config


def test_default_names_follow_keras():
    # What Keras 3.15 printed for [c().name for c in (SGD, SGD, Adam, AdamW, RMSprop, Nadam, Adam)] in a new session.
    from nbtrain.utils import clear_session
    clear_session()
    names = [cls().name for cls in (SGD, SGD, Adam, AdamW, RMSprop, Nadam, Adam)]
    assert names == ["sgd", "sgd_1", "adam", "adam_w", "rm_sprop", "nadam", "adam_1"]
    assert Adam(name="mine").name == "mine"


def test_set_weights_loads_the_list_variables_gives():
    w = np.ones(3, np.float32)
    trained = Adam(learning_rate=0.1)
    for _ in range(3):
        trained.apply([np.full(3, 0.5, np.float32)], [w])
    fresh = Adam(learning_rate=0.1)
    fresh.build([np.ones(3, np.float32)])
    fresh.set_weights(trained.variables())
    assert fresh.iterations == 3
    for mine, theirs in zip(fresh.variables(), trained.variables()):
        np.testing.assert_array_equal(mine, theirs)
    w2 = w.copy()
    trained.apply([np.full(3, 0.5, np.float32)], [w])
    fresh.apply([np.full(3, 0.5, np.float32)], [w2])
    np.testing.assert_array_equal(w, w2)


def test_set_weights_refuses_an_unbuilt_optimizer_and_wrong_shapes():
    with pytest.raises(ValueError, match="has not been built yet.*optimizer.build"):
        Adam().set_weights([])
    opt = Adam()
    opt.build([np.ones(3, np.float32)])
    with pytest.raises(ValueError, match=r"has 3 weights .* received 2"):
        opt.set_weights(opt.variables()[:2])
    bad = opt.variables()
    bad[1] = np.zeros(4)
    with pytest.raises(ValueError, match=r"weight 1 has shape \(3,\) but the value given has shape \(4,\)"):
        opt.set_weights(bad)


def test_repr_is_short_and_shows_non_defaults():
    assert repr(Adam()) == "Adam(learning_rate=0.001)"
    assert repr(SGD(momentum=0.9, nesterov=True)) == "SGD(learning_rate=0.01, momentum=0.9, nesterov=True)"
    assert repr(AdamW(learning_rate=1e-3)) == "AdamW(learning_rate=0.001)"
    assert repr(RMSprop(clipnorm=1)) == "RMSprop(learning_rate=0.001, clipnorm=1.0)"


def test_a_custom_optimizer_needs_only_slots_and_update_step():
    class SignSGD(Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def update_step(self, gradient, variable, learning_rate, slots, scratch):
            np.sign(gradient, out=scratch[0])
            scratch[0] *= learning_rate
            variable -= scratch[0]

    w = f32(1.0, 1.0)
    SignSGD(clipvalue=1.0).apply([f32(5.0, -0.1)], [w])
    np.testing.assert_allclose(w, [0.9, 1.1], rtol=1e-6)
    assert repr(SignSGD()) == "SignSGD(learning_rate=0.1)"


def _subnormal_count(optimizer) -> int:
    tiny = np.finfo(np.float32).tiny
    return sum(int(np.sum((slot != 0) & (np.abs(slot) < tiny))) for slot in optimizer._slots[0].values())


@pytest.mark.parametrize("make, first_gradient", [(RMSprop, 1e-3), (Adam, 1e-5), (lambda: SGD(momentum=0.9), 1e-3)])
def test_slots_that_decay_to_nothing_are_flushed_to_zero_not_left_subnormal(make, first_gradient):
    # A weight whose gradient is nonzero once, then zero (a dead unit): its averages decay by 0.9 each step
    # and after 735 steps would lie in the slow subnormal range (below ~1.2e-38), e.g. RMSprop's 1e-7 * 0.9**735.
    flushed, unflushed = make(), make()
    unflushed._flush_subnormal_slots = lambda: None
    for optimizer in (flushed, unflushed):
        weights = np.ones(4, dtype=np.float32)
        optimizer.apply([np.full(4, first_gradient, np.float32)], [weights])
        for _ in range(735):  # 736 steps in all: a multiple of the flush period (8)
            optimizer.apply([np.zeros(4, np.float32)], [weights])
    assert _subnormal_count(unflushed) > 0  # the situation the flush exists for
    assert _subnormal_count(flushed) == 0


def test_flushing_keeps_normal_slot_values_exactly():
    optimizer = RMSprop()
    weights = np.ones(3, dtype=np.float32)
    optimizer.apply([np.array([1e-3, -2.0, 0.5], np.float32)], [weights])
    before = optimizer._slots[0]["velocity"].copy()
    optimizer._flush_subnormal_slots()
    np.testing.assert_array_equal(optimizer._slots[0]["velocity"], before)


@pytest.mark.parametrize("make", [RMSprop, Adam, lambda: Adam(amsgrad=True), Nadam, Adamax, Adadelta, Adagrad, Lion,
                                  lambda: SGD(momentum=0.9, nesterov=True), lambda: RMSprop(centered=True,
                                                                                             momentum=0.5)])
def test_a_large_variable_updated_in_pieces_matches_the_whole_update(make, monkeypatch):
    import nbtrain.optimizers.optimizer as optimizer_module

    rng = np.random.default_rng(0)
    start = rng.standard_normal((300, 7)).astype(np.float32)
    gradients = [rng.standard_normal((300, 7)).astype(np.float32) for _ in range(3)]
    results = []
    for chunk in (10**9, 64):  # whole, then in pieces of 64 elements (the last one shorter)
        monkeypatch.setattr(optimizer_module, "_UPDATE_CHUNK", chunk)
        optimizer, weights = make(), start.copy()
        for gradient in gradients:
            optimizer.apply([gradient], [weights])
        results.append(weights)
    np.testing.assert_array_equal(results[0], results[1])



def test_every_piece_works_in_the_same_cache_sized_scratch(monkeypatch):
    # Scratch carries nothing between pieces, so all of them reuse one piece's worth, which stays in the cache.
    import nbtrain.optimizers.optimizer as optimizer_module

    monkeypatch.setattr(optimizer_module, "_UPDATE_CHUNK", 64)
    optimizer, weights = Adam(), np.ones((30, 7), np.float32)  # 210 elements: pieces of 64, 64, 64 and 18
    optimizer.apply([np.full((30, 7), 0.5, np.float32)], [weights])
    pieces = optimizer._update_pieces(weights, optimizer._slots[0], optimizer._scratch[0])
    assert [len(variable_piece) for _, variable_piece, _, _ in pieces] == [64, 64, 64, 18]
    first_scratch = pieces[0][3]
    for _, variable_piece, _, scratch in pieces:
        assert [buffer.shape for buffer in scratch] == [variable_piece.shape] * len(first_scratch)
        for buffer, first in zip(scratch, first_scratch):
            assert buffer.__array_interface__["data"][0] == first.__array_interface__["data"][0]


def test_pieces_follow_the_arrays_after_a_restore_a_rebind_and_a_noncontiguous_gradient(monkeypatch):
    # The chunk views are cached between steps; they must never keep writing into arrays that were replaced.
    import nbtrain.optimizers.optimizer as optimizer_module

    monkeypatch.setattr(optimizer_module, "_UPDATE_CHUNK", 64)
    rng = np.random.default_rng(1)
    gradients = [rng.standard_normal((30, 7)).astype(np.float32) for _ in range(4)]
    whole = []  # the same steps on whole arrays
    monkeypatch.setattr(optimizer_module, "_UPDATE_CHUNK", 10**9)
    reference, weights = RMSprop(), np.ones((30, 7), np.float32)
    for gradient in gradients:
        reference.apply([gradient], [weights])
        whole.append(weights.copy())
    monkeypatch.setattr(optimizer_module, "_UPDATE_CHUNK", 64)

    optimizer, weights = RMSprop(), np.ones((30, 7), np.float32)
    optimizer.apply([gradients[0]], [weights])
    saved = optimizer.get_state()
    optimizer.apply([gradients[1]], [weights])
    optimizer.set_state(saved)  # back one step: new slot arrays
    weights = whole[0].copy()  # and a new variable array of the same shape
    optimizer.apply([gradients[1]], [weights])
    np.testing.assert_array_equal(weights, whole[1])
    optimizer._slots[0]["velocity"] = optimizer._slots[0]["velocity"].copy()  # a slot replaced by hand
    transposed = np.asfortranarray(gradients[2])  # not C-contiguous: the update runs on the whole arrays
    optimizer.apply([transposed], [weights])
    optimizer.apply([gradients[3]], [weights])
    np.testing.assert_array_equal(weights, whole[3])

def test_an_update_step_overridden_without_the_elementwise_flag_runs_on_the_whole_variable(monkeypatch):
    import nbtrain.optimizers.optimizer as optimizer_module

    monkeypatch.setattr(optimizer_module, "_UPDATE_CHUNK", 4)
    shapes = []

    class Normalized(SGD):  # divides by the gradient's norm: not element-wise
        def update_step(self, gradient, variable, learning_rate, slots, scratch):
            shapes.append(gradient.shape)
            variable -= learning_rate * gradient / np.linalg.norm(gradient)

    Normalized().apply([np.ones((3, 5), np.float32)], [np.zeros((3, 5), np.float32)])
    assert shapes == [(3, 5)]


def test_flushing_handles_slots_smaller_than_their_variable():
    class Factored(SGD):  # a slot of another shape than its variable, as Adafactor's factored moments
        def slot_initial_values(self):
            return {"row_average": 1e-40}

        def build(self, variables, variable_names=None):
            super().build(variables, variable_names)
            self._slots = [{"row_average": np.full(v.shape[:1], 1e-40, v.dtype)} for v in variables]

    optimizer = Factored()
    weights = np.ones((3, 4), np.float32)
    optimizer.apply([np.ones((3, 4), np.float32)], [weights])
    optimizer._flush_subnormal_slots()
    np.testing.assert_array_equal(optimizer._slots[0]["row_average"], np.zeros(3, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("contiguous", [True, False])
def test_flush_subnormal_zeroes_exactly_the_subnormals_and_keeps_every_other_bit(dtype, contiguous):
    from nbtrain.optimizers.optimizer import _flush_subnormal

    info = np.finfo(dtype)
    smallest_subnormal = np.nextafter(dtype(0), dtype(1))
    kept = np.array([info.tiny, -info.tiny, 1.0, -2.5, info.max, -info.max, np.inf, -np.inf, 0.0, -0.0], dtype)
    flushed = np.array([smallest_subnormal, -smallest_subnormal, info.tiny / 2, -info.tiny / 3,
                        np.nextafter(info.tiny, dtype(0))], dtype)
    values = np.concatenate([kept, flushed, [np.nan]]).astype(dtype)
    if not contiguous:
        values = np.repeat(values, 2)[::2]
    _flush_subnormal(values, np.empty_like(values))
    np.testing.assert_array_equal(values[:len(kept)], kept)      # normal numbers, infinities and zeros, unchanged
    np.testing.assert_array_equal(values[len(kept):-1], 0)
    assert np.isnan(values[-1])
