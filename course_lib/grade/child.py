"""Inside the sandbox: run the notebook's code and answer the parent's requests. Nothing here is trusted.

`python -m course_lib.grade.child IN OUT MEMORY_MB`, started by grade/sandbox.py. The child executes the
notebook's import lines and exercise cells, and calls the student's objects on the inputs the parent
sends. What it sends back is data only (tensors, numbers, strings, containers); any other object stays
here and the parent gets a handle (a number) to it. The parent computes every verdict from those
values; this file never sees the expected values or the private tests. Only tests that the parent
cannot run through handles (see judge.calibrate) are run here, and their verdicts are marked untrusted.
"""
import os
import re
import sys
import traceback

SOURCE_NAME = "<exercise {}>"


class _Sink:
    """Stands in for stdout/stderr: keeps nothing, so huge outputs cost nothing."""
    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def _cap_memory(megabytes: int) -> None:
    """Student code may allocate `megabytes` more than the course's imports use (the hard limit too)."""
    import resource
    size = int(re.search(r"VmSize:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
    limit = size + megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _where(tb) -> str:
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith("<exercise")]
    return f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""


class Server:
    def __init__(self):
        import torch

        from course_lib import contracts, selfcheck
        self.torch, self.contracts, self.selfcheck = torch, contracts, selfcheck
        self.known = selfcheck.EXERCISES  # filled by op_init with the lessons graded (importing all costs seconds)
        self.handles, self.ids, self.calls = {}, {}, {}
        self.base = {}

    # ------------------------------------------------------------ values out
    def handle(self, obj) -> dict:
        if id(obj) not in self.ids:
            self.ids[id(obj)] = len(self.handles) + 1
            self.handles[len(self.handles) + 1] = obj
        base = next((c for c in type(obj).__mro__ if c.__module__.startswith("torch.")), None)
        return {"__remote__": self.ids[id(obj)], "type": type(obj).__name__[:80], "callable": callable(obj),
                "base": f"{base.__module__}.{base.__qualname__}" if base else ""}

    def encode(self, obj, depth: int = 0):
        torch = self.torch
        if isinstance(obj, torch.Tensor):
            return obj.detach().as_subclass(torch.Tensor).clone()
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj if not isinstance(obj, int) or isinstance(obj, bool) else int(obj)
        if isinstance(obj, float):
            return float(obj)
        if type(obj).__module__ == "numpy" and hasattr(obj, "dtype"):
            return torch.as_tensor(obj) if getattr(obj, "ndim", 0) else obj.item()
        if depth < 8 and isinstance(obj, (tuple, list)) and len(obj) <= 10_000:
            items = [self.encode(x, depth + 1) for x in obj]
            return tuple(items) if isinstance(obj, tuple) else items
        if depth < 8 and type(obj) is dict and len(obj) <= 10_000 and all(isinstance(k, (str, int)) for k in obj):
            return {k: self.encode(v, depth + 1) for k, v in obj.items()}
        return self.handle(obj)

    def restore(self, obj):
        from course_lib.grade.channel import Ref
        if isinstance(obj, Ref):
            return self.handles[obj.hid]
        if isinstance(obj, (tuple, list)):
            return type(obj)(self.restore(x) for x in obj)
        if type(obj) is dict:
            return {k: self.restore(v) for k, v in obj.items()}
        return obj

    def state(self, obj):
        """What the call may have changed in an argument the parent owns, sent back by value."""
        torch = self.torch
        if isinstance(obj, torch.nn.Module):
            params = list(obj.parameters())
            return {"kind": "module", "params": [p.detach().clone() for p in params],
                    "grads": [None if p.grad is None else p.grad.detach().clone() for p in params],
                    "buffers": [b.detach().clone() for b in obj.buffers()],
                    "training": [m.training for m in obj.modules()]}
        if isinstance(obj, torch.optim.Optimizer):
            return {"kind": "optimizer", "state": obj.state_dict()}
        if isinstance(obj, torch.Tensor):
            return {"kind": "tensor", "value": obj.detach().clone()}
        return None

    @staticmethod
    def error(err) -> dict:
        return {"error": {"type": type(err).__name__[:80], "message": str(err)[:2000],
                          "where": _where(err.__traceback__)}}

    def forbidden(self, exercise_id: str) -> tuple:
        ex = self.known.get(exercise_id)
        return tuple(ex.forbidden) if ex else ()

    # ------------------------------------------------------------ requests
    def op_init(self, imports: list, lessons: list, memory_mb: int) -> dict:
        import importlib
        for lesson in lessons:
            importlib.import_module(f"course_lib.checks.lesson{int(lesson):02d}")
        exec("import torch\nimport course_lib\ndevice = course_lib.setup(seed=0)", self.base)
        self.base["display"] = lambda *args, **kwargs: None
        _cap_memory(memory_mb)
        notes = []
        for line in imports:  # the notebook's own import lines: student code from here on
            try:
                exec(line, self.base)
            except BaseException as err:
                notes.append(f"`{line}` failed ({type(err).__name__}: {err}); the grader went on without it.")
        self.base["check"] = lambda exercise_id, obj: obj  # a check call inside an exercise cell runs nothing
        return {"notes": notes}

    def op_exec(self, exercise: str, source: str, expression: str) -> dict:
        from course_lib.authoring.notebook import python_source
        import linecache
        namespace = dict(self.base)
        filename = SOURCE_NAME.format(exercise)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(python_source(source), filename, "exec"), namespace)
            obj = eval(expression, namespace)
        except NotImplementedError:
            return {"status": "not attempted", "message": "the exercise cell raises NotImplementedError"}
        except MemoryError:
            return {"status": "memory limit", "message": "running the exercise cell ran out of memory"}
        except SystemExit as err:
            return {"status": "error", "message": f"the notebook called sys.exit({err.code!r}) in the exercise cell"}
        except BaseException as err:
            status = "memory limit" if "can't allocate memory" in str(err) else "error"
            return {"status": status, "message": f"running the exercise cell raised {type(err).__name__}: "
                                                 f"{err}{_where(err.__traceback__)}"}
        return {"status": "", "object": self.handle(obj)}

    def op_reference(self, exercise: str) -> dict:
        return {"object": self.handle(self.known[exercise].reference)}

    def op_call(self, target: int, args, kwargs, rng, exercise: str, call: int) -> dict:
        torch = self.torch
        fn, args, kwargs = self.handles[target], self.restore(args), self.restore(kwargs)
        torch.set_rng_state(rng)
        used = []
        try:
            with self.contracts.watching(self.forbidden(exercise), used):
                result = fn(*args, **kwargs)
        except BaseException as err:
            return self.error(err) | {"rng": torch.get_rng_state(), "used": used}
        inputs = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor) and a.requires_grad]
        if inputs and isinstance(result, torch.Tensor) and result.requires_grad:
            self.calls[call] = (inputs, result)
        return {"value": self.encode(result), "rng": torch.get_rng_state(), "used": used,
                "state": [self.state(a) for a in args], "kwstate": {k: self.state(v) for k, v in kwargs.items()}}

    def op_backward(self, call: int, grad) -> dict:
        inputs, output = self.calls.pop(call)
        grads = self.torch.autograd.grad(output, inputs, grad, allow_unused=True)
        return {"value": [None if g is None else g.detach().clone() for g in grads]}

    def op_getattr(self, target: int, name: str) -> dict:
        return {"value": self.encode(getattr(self.handles[target], name))}

    def op_iter(self, target: int) -> dict:
        import itertools
        return {"value": [self.encode(x) for x in itertools.islice(iter(self.handles[target]), 10_000)]}

    def op_judge(self, exercise: str, test: int, target: int, rng) -> dict:
        """A public test the parent cannot run through handles: run here (an untrusted verdict)."""
        self.torch.set_rng_state(rng)
        description, fn = self.known[exercise].tests[test]
        result = self.selfcheck.run_test(exercise, description, fn, self.handles[target])
        return {"status": result.status, "message": result.message}


def main(argv) -> None:
    fd_in, fd_out, memory_mb = int(argv[0]), int(argv[1]), int(argv[2])
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdout = sys.stderr = _Sink()
    from course_lib.grade import channel
    server = Server()
    while True:
        try:
            op, payload = channel.receive_trusted(fd_in)
        except channel.ChannelClosed:
            return
        if op == "init":
            payload["memory_mb"] = memory_mb
        try:
            reply = getattr(server, f"op_{op}")(**payload)
        except BaseException as err:  # noqa: BLE001 - everything goes back to the parent
            reply = Server.error(err)
        try:
            channel.send(fd_out, reply)
        except channel.ChannelClosed:
            return
        except Exception as err:  # an unencodable value
            channel.send(fd_out, Server.error(err))


if __name__ == "__main__":
    main(sys.argv[1:])
