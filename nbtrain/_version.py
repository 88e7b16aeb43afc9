"""nbtrain's version, in a module of its own so that code inside nbtrain (the metadata of saved files) can read
it without importing the whole package. The name is private to leave ``nbtrain.version`` free, as Keras has a
``keras.version()`` function."""

__version__ = "0.1.0"
