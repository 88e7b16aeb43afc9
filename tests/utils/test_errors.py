import pytest

from nbtrain.utils.errors import check_keyword_arguments, closest_match, did_you_mean, unknown_name_error


def test_closest_match_is_case_insensitive():
    assert closest_match("ADM", ["adam", "sgd"]) == "adam"
    assert closest_match("zzzz", ["adam"]) is None


def test_did_you_mean_text():
    assert did_you_mean("metrices", ["metrics"]) == " Did you mean 'metrics'?"
    assert did_you_mean("q", ["metrics"]) == ""


def test_keyword_check_raises_type_error_with_suggestion():
    with pytest.raises(TypeError, match=r"^fit\(\) got an unexpected keyword argument 'epoch'. Did you mean 'epochs'\?$"):
        check_keyword_arguments("fit()", {"epoch": 3}, ["epochs", "batch_size"])


def test_unknown_name_lists_known_names():
    message = str(unknown_name_error("optimizer", "adm", ["sgd", "adam"]))
    assert message == "Unknown optimizer: 'adm'. Did you mean 'adam'? Known optimizers: 'adam', 'sgd'."
