"""Data sets: seeded synthetic generators (and, later, Keras's downloadable sets)."""

from nbtrain.datasets.synthetic import (make_blobs, make_circles, make_mnist_like, make_moons,
                                        make_regression_curve, make_spirals)

__all__ = ["make_blobs", "make_circles", "make_mnist_like", "make_moons", "make_regression_curve", "make_spirals"]
