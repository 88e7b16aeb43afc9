"""Grids, trials, per-run seeds and the check of build's keyword arguments."""

import pytest

from nbtrain.experiments.grid import check_build_accepts, expand_grid, run_seed, split_config


def test_a_dict_of_lists_is_their_product_in_order():
    configs = expand_grid({"optimizer": ["sgd", "adam"], "units": [4, 8, 16]})
    assert len(configs) == 6
    assert configs[0] == {"optimizer": "sgd", "units": 4} and configs[-1] == {"optimizer": "adam", "units": 16}


def test_a_list_of_configs_is_taken_as_it_is():
    grid = [{"units": 4}, {"units": 8, "optimizer": "sgd"}]
    assert expand_grid(grid) == grid and expand_grid(grid) is not grid


def test_trials_sample_distinct_configs_repeatably():
    grid = {"units": list(range(10)), "optimizer": ["sgd", "adam"]}
    first, again, other = (expand_grid(grid, trials=5, seed=s) for s in (3, 3, 4))
    assert first == again and first != other
    assert len({tuple(sorted(c.items())) for c in first}) == 5


@pytest.mark.parametrize("grid, message", [
    ({}, "The grid is empty"),
    ([], "empty list of configs"),
    ({"units": []}, "grid['units'] is an empty list"),
    ({"units": 8}, "must be a list of values to try"),
    ({"optimizer": "adam"}, "must be a list of values to try"),
    ([{"units": 4}, 8], "item 1 is 8"),
    ({1: [2]}, "must be names"),
    ("units", "must be a dict of lists"),
])
def test_bad_grids_say_what_to_write(grid, message):
    with pytest.raises((TypeError, ValueError), match=message.replace("[", r"\[").replace("]", r"\]")):
        expand_grid(grid)


@pytest.mark.parametrize("trials", [0, -1, 2.5, True])
def test_bad_trials(trials):
    with pytest.raises(ValueError, match="trials must be a positive integer"):
        expand_grid({"units": [1, 2]}, trials=trials)


def test_more_trials_than_configs():
    with pytest.raises(ValueError, match="trials=3 is more than the 2 configs"):
        expand_grid({"units": [1, 2]}, trials=3)


def test_a_key_build_does_not_take_is_named_with_a_suggestion():
    def build(units=8, optimizer="adam"):
        return None

    with pytest.raises(TypeError, match="unexpected keyword argument 'unit' from the grid. Did you mean 'units'"):
        check_build_accepts(build, [{"units": 4}, {"unit": 4}])
    check_build_accepts(build, [{"units": 4, "optimizer": "sgd"}])
    check_build_accepts(lambda **config: None, [{"anything": 1}])
    with pytest.raises(TypeError, match="build must be a function"):
        check_build_accepts("build", [{}])


def test_run_seeds_differ_by_run_and_sweep_and_repeat():
    seeds = [run_seed(0, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds == [run_seed(0, i) for i in range(50)]
    assert run_seed(1, 0) != run_seed(0, 0)
    assert all(0 <= s < 2**32 for s in seeds)


def test_grid_keys_build_does_not_take_but_fit_does_go_to_fit():
    def build(units=8, optimizer="adam"):
        return None

    fit_parameters = ["batch_size", "epochs", "validation_split"]
    configs = [{"units": 4, "batch_size": 16, "epochs": 2}]
    assert check_build_accepts(build, configs, fit_parameters) == {"batch_size", "epochs"}
    assert split_config(configs[0], {"batch_size", "epochs"}) == ({"units": 4}, {"batch_size": 16, "epochs": 2})
    # a name build takes itself stays with build, even when fit has it too
    assert check_build_accepts(lambda units=8, epochs=3: None, configs, fit_parameters) == {"batch_size"}
    # build(**config) takes anything, but fit's own names still go to fit
    assert check_build_accepts(lambda **config: None, [{"anything": 1, "epochs": 2}], fit_parameters) == {"epochs"}


def test_a_key_neither_build_nor_fit_takes_names_both():
    def build(units=8):
        return None

    with pytest.raises(TypeError, match=r"argument 'batchsize' from the grid. Did you mean 'batch_size'\? "
                                        r"build takes: units; fit takes: batch_size, epochs."):
        check_build_accepts(build, [{"batchsize": 32}], ["batch_size", "epochs"])


def test_a_fit_key_in_the_grid_and_given_to_the_sweep_is_refused():
    with pytest.raises(TypeError, match=r"'epochs' is both a grid key and an argument of sweep\(\)"):
        check_build_accepts(lambda units=8: None, [{"epochs": 2}], ["epochs"], given_to_fit={"epochs": 3})
