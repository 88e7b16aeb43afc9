"""Callbacks: objects that watch and steer training (``EarlyStopping``, ``ModelCheckpoint``, progress displays)."""

from nbtrain.callbacks.backup_and_restore import BackupAndRestore
from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.callback_list import CallbackList
from nbtrain.callbacks.csv_logger import CSVLogger
from nbtrain.callbacks.early_stopping import EarlyStopping
from nbtrain.callbacks.history import History
from nbtrain.callbacks.lambda_callback import LambdaCallback
from nbtrain.callbacks.learning_rate_scheduler import LearningRateScheduler
from nbtrain.callbacks.model_checkpoint import ModelCheckpoint
from nbtrain.callbacks.monitor import MonitorCallback
from nbtrain.callbacks.progbar import ProgbarLogger
from nbtrain.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from nbtrain.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "MonitorCallback", "ProgbarLogger", "ReduceLROnPlateau",
           "TerminateOnNaN"]

_NOT_IN_NBTRAIN = {
    "TensorBoard": "In a notebook, fit() already draws the loss and metric curves live; to keep them in a file, "
                   "use CSVLogger('training.csv'), or nbtrain.plot_history(history) after training.",
    "RemoteMonitor": "Use LambdaCallback(on_epoch_end=...) to send the logs where you need them.",
    "SwapEMAWeights": "nbtrain's optimizers have no exponential moving average of the weights.",
}


def __getattr__(name):
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error(__name__, name, __all__, _NOT_IN_NBTRAIN)
