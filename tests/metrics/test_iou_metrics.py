"""IoU, BinaryIoU, MeanIoU, OneHotIoU and OneHotMeanIoU: Keras results and configs, hand-computed matrices."""

import numpy as np
import pytest
from keras_classes import check_metric_against_keras, metric_cases_of

from nbtrain import metrics


@pytest.mark.parametrize("name", metric_cases_of("IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"))
def test_matches_keras(name):
    check_metric_against_keras(name)


def test_confusion_matrix_by_hand():
    m = metrics.IoU(num_classes=3, target_class_ids=[0, 2], ignore_class=1)
    # (true, predicted): (0,0) (1,2) ignored, (2,2) (2,1), (5,0) and (-1,0) out of range
    m.update_state([0, 1, 2, 2, 5, -1], [0, 2, 2, 1, 0, 0])
    np.testing.assert_array_equal(m.total_cm, [[1, 0, 0], [0, 0, 0], [0, 1, 1]])
    # class 0: 1 / (1 + 1 - 1) = 1; class 2: 1 / (2 + 1 - 1) = 0.5
    assert m.result() == pytest.approx(0.75, abs=1e-6)


def test_fractional_weights_count_as_given():
    # Keras's default int32 matrix truncates 0.3 to 0 (its result is 0.0 here); nbtrain keeps the weights
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    assert m.result() == pytest.approx(0.2380952, abs=1e-6)
    assert m.get_config()["dtype"] == "int32"


def test_classes_absent_from_the_data_are_skipped_in_the_mean():
    m = metrics.MeanIoU(num_classes=4)
    m.update_state([0, 0, 1], [0, 0, 1])
    assert m.result() == pytest.approx(1.0, abs=1e-6)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match=r"target class id 3 is out of range \[0, 3\)"):
        metrics.IoU(num_classes=3, target_class_ids=[0, 3])
    with pytest.raises(ValueError, match="num_classes to be an integer >= 1"):
        metrics.MeanIoU(num_classes=0)
    with pytest.raises(ValueError, match="4 true class ids but 3 predicted"):
        metrics.MeanIoU(num_classes=2)([0, 1, 1, 0], [0, 1, 1])
    with pytest.raises(ValueError, match="needs num_classes"):
        metrics.get("mean_io_u")


def test_default_names_and_registry():
    assert metrics.IoU(2, [0]).name == "io_u" and metrics.MeanIoU(2).name == "mean_io_u"
    assert metrics.BinaryIoU().name == "binary_io_u" and metrics.OneHotMeanIoU(2).name == "one_hot_mean_io_u"
    assert metrics.MeanIoU(2).direction == "up"
    restored = metrics.deserialize(metrics.serialize(metrics.OneHotIoU(3, [1], ignore_class=0)))
    assert type(restored) is metrics.OneHotIoU and restored.ignore_class == 0


# keras/src/metrics/iou_metrics_test.py (v3.15.1)

def test_keras_iou_tests():
    assert metrics.IoU(2, [0, 1])([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(1 / 3, abs=1e-3)
    weighted = metrics.IoU(2, [1, 0], dtype="float32")
    result = weighted(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1], np.float32), sample_weight=[0.2, 0.3, 0.4, 0.1])
    assert result == pytest.approx((0.1 / (0.4 + 0.5 - 0.1) + 0.2 / (0.6 + 0.5 - 0.2)) / 2, abs=1e-3)
    multi = metrics.IoU(2, [0, 1], dtype="float32")
    result = multi(np.array([[0, 0], [1, 1]]), np.array([[0, 1], [0, 1]], np.float32),
                   sample_weight=np.array([[0.2, 0.3], [0.4, 0.1]]))
    assert result == pytest.approx((0.2 / (0.6 + 0.5 - 0.2) + 0.1 / (0.4 + 0.5 - 0.1)) / 2, abs=1e-3)
    assert metrics.IoU(2, [0, 1]).result() == pytest.approx(0.0, abs=1e-3)
    assert metrics.IoU(2, [0, 1])([1], np.array([1], np.float32)) == pytest.approx(1.0, abs=1e-3)
    for y_true, y_pred in [([0, 2], [0, 1]), ([0, 1], [0, 2]), ([-1, 0], [0, 0]), ([0, 1], [-1, 1])]:
        m = metrics.IoU(2, [0, 1])
        m.update_state(y_true, y_pred)
        assert m.result() == pytest.approx(1.0, abs=1e-3)
    assert metrics.IoU(4, [0, 1, 2, 3])([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(1 / 3, abs=1e-3)


def test_keras_binary_and_mean_iou_tests():
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    assert m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]) == pytest.approx(0.33333334, abs=1e-6)
    m = metrics.MeanIoU(num_classes=2)
    assert m([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.33333334, abs=1e-6)
    m = metrics.MeanIoU(num_classes=3, ignore_class=255)
    result = m([0, 1, 2, 255], [0, 1, 1, 1])
    assert result == pytest.approx((1 / (1 + 1 - 1) + 1 / (2 + 1 - 1) + 0 / (0 + 1 - 0)) / 3, abs=1e-3)
    y_true = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    weights = [0.1, 0.2, 0.3, 0.4]
    assert metrics.OneHotIoU(3, [0, 2], dtype="float32")(y_true, y_pred, sample_weight=weights) == \
        pytest.approx(0.071, abs=1e-3)
    assert metrics.OneHotMeanIoU(3, dtype="float32")(y_true, y_pred, sample_weight=weights) == \
        pytest.approx(0.048, abs=1e-3)
