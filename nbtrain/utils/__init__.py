"""Utilities: ``to_categorical``, ``pad_sequences``, ``timeseries_dataset_from_array``, ``set_random_seed``,
``clear_session`` and friends."""

from nbtrain.data.generators import PyDataset, Sequence
from nbtrain.utils.data_utils import normalize, to_categorical
from nbtrain.utils.naming import clear_session
from nbtrain.utils.random import set_random_seed
from nbtrain.utils.sequence_utils import pad_sequences, timeseries_dataset_from_array

__all__ = ["PyDataset", "Sequence", "clear_session", "normalize", "pad_sequences", "set_random_seed",
           "timeseries_dataset_from_array", "to_categorical"]

_NOT_IN_NBTRAIN = {
    "plot_model": "It needs pydot and Graphviz; model.summary() lists the layers, shapes and connections.",
    "image_dataset_from_directory": "Load the images into a NumPy array (e.g. with matplotlib.pyplot.imread) and "
                                    "pass the arrays, or a PyDataset that loads batches on request, to fit().",
    "text_dataset_from_directory": "Read the files into lists of word indices and use pad_sequences.",
    "load_img": "Use matplotlib.pyplot.imread(path) for an image as a NumPy array.",
    "img_to_array": "Images are NumPy arrays already: numpy.asarray(image, dtype='float32').",
    "get_file": "nbtrain.datasets' loaders download, checksum and cache Keras's data sets.",
}


def __getattr__(name):
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error(__name__, name, __all__, _NOT_IN_NBTRAIN)
