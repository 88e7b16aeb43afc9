"""AdamW: Adam with decoupled weight decay switched on by default."""

from __future__ import annotations

from nbtrain.optimizers.adam import Adam
from nbtrain.optimizers.optimizer import OPTIMIZERS, default_learning_rate


@OPTIMIZERS.register(name="adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay: each step first does ``w -= w * weight_decay * lr``, then Adam.

    Args:
        learning_rate: a number, schedule or callable (default 0.001).
        weight_decay: >= 0 (default 0.004); None is not allowed (use ``Adam`` for no decay).
        beta_1, beta_2, epsilon, amsgrad: as for ``Adam``.
        **kwargs: the common options of ``Optimizer``.

    Example:
        >>> import numpy as np
        >>> w = np.array([1.0, 2.0, 3.0, 4.0])
        >>> AdamW(learning_rate=0.5).apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
        >>> w.round(3)
        array([0.498, 1.496, 2.494, 3.492])
    """

    def __init__(
        self,
        learning_rate=default_learning_rate(0.001),
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError(
                "AdamW: `weight_decay` must be a number >= 0. Received: weight_decay=None. "
                "Use Adam for no weight decay."
            )
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            **kwargs,
        )
