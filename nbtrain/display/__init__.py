"""Front end: how training shows itself, in terminals and in notebooks.

This is the only package that may import ipywidgets, matplotlib or IPython, and only lazily: importing
``nbtrain`` or any module here imports none of them.

* :mod:`~nbtrain.display.environment`: which display fits where (terminal text bar, widget dashboard, HTML
  fallback, record-only for executed notebooks), and the ``NBTRAIN_PROGRESS`` override.
* :mod:`~nbtrain.display.dashboard`: the live ipywidgets dashboard of a ``fit`` call;
  :mod:`~nbtrain.display.html_display`: the same without ipywidgets; :mod:`~nbtrain.display.live`: their
  shared event handling and throttling, and ``RecordOnly``.
* :mod:`~nbtrain.display.static`: the static record (PNG + HTML table + text) that replaces a live display
  when training ends, so saved notebooks need no widget state.
* :mod:`~nbtrain.display.plots`: ``plot_history`` and ``plot_histories``, and the live history figure.
* :mod:`~nbtrain.display.background`: ``fit(..., background=True)`` and its ``TrainingHandle``.
* :mod:`~nbtrain.display.state`, :mod:`~nbtrain.display.format`, :mod:`~nbtrain.display.throttle`: pure logic
  and text formatting, tested with a fake clock.
"""
