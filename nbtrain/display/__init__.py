"""Front end: how training shows itself (terminal text now; the notebook dashboard plugs in here).

This is the only package that may import ipywidgets, matplotlib or IPython, and only lazily.
"""
