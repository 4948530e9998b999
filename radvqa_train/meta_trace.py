"""One training step of a real-size model on the meta device: FLOPs and saved activations.

The weights live on the meta device (no memory, no arithmetic); the batch is real. Vision-language
forwards make data-dependent decisions (where the image tokens are, Qwen's patch windows, mask
shortcuts), which fail on meta tensors. `MetaWhereNeeded` runs every op on real tensors when all
its inputs are real and on meta when one is meta, keeps integer/bool tensors real when the model
moves them to the weights' device, and turns boolean-mask indexing into integer indexing
computed on the real mask. So every shape is the real one and torch's `FlopCounterMode` counts the
real step (forward + backward), while `saved_tensors_hooks` sums what autograd keeps for the
backward pass (the activation memory), attributed to the transformer layer that saved it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _meta_mode_class() -> type:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_map

    aten = torch.ops.aten
    index_ops = (aten.index.Tensor, aten.index_put.default, aten.index_put_.default)

    def to_meta(a: Any) -> Any:
        if isinstance(a, torch.Tensor) and a.device.type != "meta" and a.dim() > 0:
            return a.to("meta")
        return a

    class MetaWhereNeeded(TorchDispatchMode):
        """Real where all inputs are real, meta where one is meta (see module doc)."""

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is aten._to_copy.default and _to_meta_int(args[0], kwargs):
                return args[0].to(dtype=kwargs.get("dtype") or args[0].dtype, copy=True)
            tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
            if any(a.device.type == "meta" for a in tensors):
                if func in index_ops:  # a real boolean mask -> real integer indices
                    idx: list = []
                    for i in args[1]:
                        real_mask = isinstance(i, torch.Tensor) and i.dtype == torch.bool
                        if real_mask and i.device.type != "meta":
                            idx.extend(i.nonzero(as_tuple=True))
                        else:
                            idx.append(i)
                    args = (args[0], idx, *args[2:])
                args, kwargs = tree_map(to_meta, args), tree_map(to_meta, kwargs)
            return func(*args, **kwargs)

    return MetaWhereNeeded


def _to_meta_int(t: Any, kwargs: dict) -> bool:
    import torch

    dev = kwargs.get("device")
    return (
        dev is not None
        and torch.device(dev).type == "meta"
        and t.device.type != "meta"
        and not t.is_floating_point()
    )


@dataclass
class StepTrace:
    """What one forward + backward of a batch costs."""

    flops: int  # forward + backward
    forward_flops: int  # gradient checkpointing recomputes these once more
    saved_bytes: int  # everything autograd kept for backward
    layer_saved_bytes: list[int] = field(default_factory=list)  # per transformer layer
    layer_input_bytes: list[int] = field(default_factory=list)  # what checkpointing keeps
    logits_bytes: int = 0  # fp32 logits: their gradient is a transient of the same size

    @property
    def checkpointed_bytes(self) -> int:
        """Saved bytes with gradient checkpointing of every layer: the layer inputs, what lies
        outside the layers, and one layer's activations recomputed at a time."""
        inside = sum(self.layer_saved_bytes)
        biggest = max(self.layer_saved_bytes, default=0)
        return self.saved_bytes - inside + sum(self.layer_input_bytes) + biggest


def _layers(model: Any) -> list[Any]:
    """Transformer layers: items of a ModuleList named `layers` or `blocks` (LM, vision)."""
    import torch

    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and name.split(".")[-1] in ("layers", "blocks"):
            out.extend(mod)
    return out


def trace_step(model: Any, batch: dict) -> StepTrace:
    """FLOPs and saved activations of forward + backward of `batch` (needs `labels`)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = {id(p) for p in model.parameters()}
    layers = _layers(model)
    per_layer = [0] * len(layers)
    inputs = [0] * len(layers)
    current: list[int] = []
    seen: dict[int, Any] = {}
    total = [0]

    def pack(t: Any) -> Any:
        base = t._base if t._base is not None else t
        if id(t) in params or id(base) in params or id(base) in seen:
            return t
        seen[id(base)] = base  # keep it alive: ids are not reused while we count
        n = base.numel() * base.element_size()
        total[0] += n
        if current:
            per_layer[current[-1]] += n
        return t

    def pre(i: int) -> Any:
        def hook(_m: Any, args: tuple, kwargs: dict) -> None:
            h = args[0] if args else kwargs.get("hidden_states")
            if isinstance(h, torch.Tensor):
                inputs[i] = h.numel() * h.element_size()
            current.append(i)

        return hook

    handles = [m.register_forward_pre_hook(pre(i), with_kwargs=True) for i, m in enumerate(layers)]

    def post(*_args: Any) -> None:  # returns None: a forward hook's value replaces the output
        current.pop()

    handles += [m.register_forward_hook(post) for m in layers]
    try:
        with (
            FlopCounterMode(display=False) as counter,
            _meta_mode_class()(),
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        ):
            out = model(**batch, use_cache=False)
            logits = out.logits.numel() * 4
            forward = counter.get_total_flops()
            out.loss.backward()
    finally:
        for h in handles:
            h.remove()
    return StepTrace(counter.get_total_flops(), forward, total[0], per_layer, inputs, logits)
