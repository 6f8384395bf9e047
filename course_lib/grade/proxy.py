"""The parent's view of the student's objects: proxies whose every call goes to the sandboxed child.

A test function (course_lib/checks/lessonNN.py) runs here, in the trusted parent, on a `Remote`
instead of the student's object. Calling it sends the arguments to the child by value (tensors,
numbers, containers; course_lib modules and optimizers pickled), the child calls the student's
object, and the results come back by value (a tensor) or as another Remote (an instance of the
student's class). Arguments the call mutates (a model and its optimizer in a train step) are copied
back into the parent's objects; the torch random state travels with each call, so a test seeded
here sees the same numbers as in a notebook. Gradients flow back through a call whose tensor
arguments require them (a loss function). Anything else a test does with a Remote that a plain
object would allow (isinstance, autograd through a remote module) is not forwarded: such tests are
found by judge.calibrate and run in the child instead.
"""
import time

import torch

from . import channel


class StudentCodeError(Exception):
    """Base of the exceptions re-raised here for an error the student's code raised in the child."""


_ERRORS: dict = {}


def _exception(kind: str, message: str) -> BaseException:
    if kind == "NotImplementedError":
        return NotImplementedError(message)
    name = kind if kind.isidentifier() else "Error"
    cls = _ERRORS.setdefault(name, type(name, (StudentCodeError,), {}))
    return cls(message)


class ProxyLimit(Exception):
    """The test does something with the student's object that cannot be forwarded to the child."""


class Session:
    """Requests to one child with the current exercise's deadline; what the calls used that is forbidden."""

    def __init__(self, child, deadline: float = 0.0):
        self.child, self.deadline, self.used, self.calls, self.exercise = child, deadline, [], 0, ""

    def request(self, op: str, **payload) -> dict:
        return self.child.request(op, payload, self.deadline)

    # ------------------------------------------------------------ values in
    def decode(self, value, depth: int = 0):
        if isinstance(value, torch.Tensor):
            return value
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, dict) and "__remote__" in value:
            hid = value.get("__remote__")
            if type(hid) is not int:
                raise channel.BadReply("a malformed handle")
            return Remote(self, hid, str(value.get("type", "object"))[:80], bool(value.get("callable")),
                          _torch_class(value.get("base")))
        if depth < 8 and isinstance(value, (list, tuple)):
            items = [self.decode(v, depth + 1) for v in value]
            return tuple(items) if isinstance(value, tuple) else items
        if depth < 8 and isinstance(value, dict):
            return {k: self.decode(v, depth + 1) for k, v in value.items() if type(k) in (str, int)}
        raise channel.BadReply(f"a value of type {type(value).__name__}")

    def reply(self, reply: dict):
        used = reply.get("used") or []
        self.used += [str(u)[:100] for u in used if isinstance(u, str) and str(u) not in self.used][:10]
        if "rng" in reply:
            rng = reply["rng"]
            if isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8 and rng.shape == torch.get_rng_state().shape:
                torch.set_rng_state(rng)
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            raise _exception(str(err.get("type", "Error")), str(err.get("message", ""))[:2000] +
                             str(err.get("where", ""))[:300])
        return self.decode(reply.get("value"))

    # ------------------------------------------------------------ operations on remote objects
    def call(self, hid: int, args: tuple, kwargs: dict):
        self.calls += 1
        wire_args, wire_kwargs = _outgoing(args), _outgoing(kwargs)
        inputs = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor) and a.requires_grad]
        if inputs and torch.is_grad_enabled():
            return _RemoteCall.apply(self, hid, wire_args, wire_kwargs, args, kwargs, *inputs)
        return self._call(hid, wire_args, wire_kwargs, args, kwargs)

    def _call(self, hid, wire_args, wire_kwargs, args, kwargs):
        reply = self.request("call", target=hid, args=wire_args, kwargs=wire_kwargs, rng=torch.get_rng_state(),
                             exercise=self.exercise, call=self.calls)
        if "error" not in reply:
            for arg, state in [*zip(args, reply.get("state") or []),
                               *((kwargs[k], v) for k, v in (reply.get("kwstate") or {}).items() if k in kwargs)]:
                _apply_state(arg, state)
        return self.reply(reply)

    def getattr(self, hid: int, name: str):
        return self.reply(self.request("getattr", target=hid, name=name))

    def iter(self, hid: int):
        value = self.reply(self.request("iter", target=hid))
        if not isinstance(value, list):
            raise channel.BadReply("iteration did not give a list")
        return value


def _outgoing(obj):
    """Arguments as they travel: Remotes become references, tensors are detached copies (leaf, same
    requires_grad); anything else is pickled (it must be picklable)."""
    if isinstance(obj, Remote):
        return channel.Ref(obj._hid)
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone().requires_grad_(obj.requires_grad)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_outgoing(x) for x in obj)
    if type(obj) is dict:
        return {k: _outgoing(v) for k, v in obj.items()}
    return obj


def _apply_state(arg, state) -> None:
    """Copy what the child's call changed back into the parent's argument (validated: shapes must match)."""
    if not isinstance(state, dict) or type(arg) is Remote:  # a Remote's state lives in the child
        return
    with torch.no_grad():
        if isinstance(arg, torch.nn.Module) and state.get("kind") == "module":
            params, buffers = list(arg.parameters()), list(arg.buffers())
            new, grads, bufs = state.get("params", []), state.get("grads", []), state.get("buffers", [])
            if len(new) != len(params) or len(grads) != len(params) or len(bufs) != len(buffers):
                raise channel.BadReply("a module's state with the wrong number of tensors")
            for p, value, grad in zip(params, new, grads):
                _copy(p, value)
                p.grad = None if grad is None else _checked(grad, p).clone()
            for b, value in zip(buffers, bufs):
                _copy(b, value)
            for m, training in zip(arg.modules(), state.get("training", [])):
                m.training = bool(training)
        elif isinstance(arg, torch.optim.Optimizer) and state.get("kind") == "optimizer":
            try:
                arg.load_state_dict(state["state"])
            except Exception as err:
                raise channel.BadReply(f"an optimizer state that does not load ({type(err).__name__})") from None
        elif isinstance(arg, torch.Tensor) and state.get("kind") == "tensor":
            _copy(arg, state.get("value"))


def _checked(value, like):
    if not isinstance(value, torch.Tensor) or value.shape != like.shape:
        raise channel.BadReply("a tensor of the wrong shape in a copied-back argument")
    return value.to(like.dtype)


def _copy(target, value) -> None:
    value = _checked(value, target)
    if not torch.equal(target.detach(), value):
        target.data.copy_(value)


class _RemoteCall(torch.autograd.Function):
    """A call on tensors that require grad: backward asks the child for the input gradients."""

    @staticmethod
    def forward(ctx, session, hid, wire_args, wire_kwargs, args, kwargs, *inputs):
        ctx.session, ctx.call, ctx.n = session, session.calls, len(inputs)
        return session._call(hid, wire_args, wire_kwargs, args, kwargs)

    @staticmethod
    def backward(ctx, grad):
        grads = ctx.session.reply(ctx.session.request("backward", call=ctx.call, grad=grad.detach()))
        if not isinstance(grads, list) or len(grads) != ctx.n:
            raise channel.BadReply("gradients of the wrong length")
        return (None,) * 6 + tuple(grads)


def _torch_class(name):
    """The torch class (e.g. torch.nn.modules.conv.Conv2d) a remote object derives from, or None.
    Only names inside torch are looked up, so the child cannot make the parent import anything else."""
    if not isinstance(name, str) or not name.startswith("torch.") or len(name) > 200:
        return None
    from ..contracts import resolve
    try:
        cls = resolve(name)
    except Exception:
        return None
    return cls if isinstance(cls, type) else None


class Remote:
    """An object that lives in the child (the student's function, class or instance). `isinstance` sees the
    torch class it derives from (nn.Module, nn.Conv2d), as a test of the module's structure expects."""
    __slots__ = ("_session", "_hid", "_type", "_callable", "_base")

    def __init__(self, session, hid, kind, is_callable, base=None):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_type", kind)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_base", base)

    @property
    def __class__(self):
        return self._base or Remote

    def __call__(self, *args, **kwargs):
        if not self._callable:
            raise TypeError(f"'{self._type}' object is not callable")
        return self._session.call(self._hid, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.getattr(self._hid, name)

    def __setattr__(self, name, value):
        raise ProxyLimit("setting an attribute of the student's object")

    def __iter__(self):
        return iter(self._session.iter(self._hid))

    def __len__(self):
        return self._session.call(self._session.getattr(self._hid, "__len__")._hid, (), {})

    def __getitem__(self, key):
        return self._session.call(self._session.getattr(self._hid, "__getitem__")._hid, (key,), {})

    def __bool__(self):
        return True

    def __repr__(self):
        return f"<the student's {self._type}>"


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds
