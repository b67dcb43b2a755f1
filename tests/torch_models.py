"""The seed's network written in PyTorch, with the weights of a trained Keras model copied across.

Keras's LSTM and PyTorch's share the gate order (input, forget, cell, output) and the activations (sigmoid gates,
tanh cell); Keras has one bias where PyTorch adds two, so PyTorch's recurrent bias is zero.  The copy computes the
same function as the Keras model up to float32 rounding, which is what the cross-framework agreement tests rely on.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


class SeedNetwork(torch.nn.Module):
    """LSTM(units) over scalar inputs ``(batch, time, 1)`` -> Dense(1, sigmoid) on the last step: the seed's model."""

    def __init__(self, units: int = 4):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size=1, hidden_size=units, batch_first=True)
        self.dense = torch.nn.Linear(units, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps, _ = self.lstm(x)
        return torch.sigmoid(self.dense(steps[:, -1]))


def seed_network_from_keras(keras_model) -> SeedNetwork:
    """A :class:`SeedNetwork` holding ``keras_model``'s weights (an LSTM -> Dense(1, sigmoid) Keras model)."""
    import keras

    lstm = next(layer for layer in keras_model.layers if isinstance(layer, keras.layers.LSTM))
    dense = next(layer for layer in keras_model.layers if isinstance(layer, keras.layers.Dense))
    return seed_network_from_weights(*lstm.get_weights(), *dense.get_weights())


def seed_network_from_weights(kernel, recurrent, bias, dense_kernel, dense_bias) -> SeedNetwork:
    """A :class:`SeedNetwork` holding Keras-layout weights: the LSTM's ``kernel (1, 4u)``, ``recurrent_kernel (u, 4u)``
    and ``bias (4u,)``, the Dense's ``kernel (u, 1)`` and ``bias (1,)``."""
    kernel, recurrent, bias, dense_kernel, dense_bias = (
        np.asarray(w, dtype=np.float32) for w in (kernel, recurrent, bias, dense_kernel, dense_bias)
    )
    network = SeedNetwork(units=recurrent.shape[0])
    with torch.no_grad():
        network.lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        network.lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        network.lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        network.lstm.bias_hh_l0.zero_()
        network.dense.weight.copy_(torch.from_numpy(dense_kernel.T.copy()))
        network.dense.bias.copy_(torch.from_numpy(dense_bias))
    return network.eval()


def export_onnx(network: torch.nn.Module, path, dynamic_axes: dict):
    """``network`` (scalar inputs ``(batch, time, 1)``) exported to ONNX at ``path`` with the legacy (TorchScript)
    exporter, input ``x`` and output ``y``, ``dynamic_axes`` free (the dynamo exporter needs onnxscript)."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        torch.onnx.export(
            network, (torch.zeros(2, 10, 1),), str(path), dynamo=False, input_names=["x"], output_names=["y"],
            dynamic_axes=dynamic_axes,
        )
    return path
