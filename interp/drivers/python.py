# sbx-mcp python driver: one long-lived interpreter = one code context.
#
# Protocol (see interp/doc.go): newline-delimited JSON requests on fd 3,
# newline-delimited JSON responses on fd 4. fds 1 and 2 are pipes the server
# reads; after each cell the driver writes the end marker (env SBX_INTERP_MARK)
# to both, so the server knows every byte of the cell's output has arrived.
# Heavy modules (json aside) are imported lazily: startup stays ~25 ms.
import ast
import builtins
import io
import json
import os
import signal
import sys
import types

# The server starts the driver non-dumpable (isolation.Spec.NonDumpable),
# in "/": it changes to the context's directory here, with the capabilities
# the cells will have.
os.chdir(os.environ.pop("SBX_INTERP_CWD", None) or os.getcwd())
_MARK = os.environ.pop("SBX_INTERP_MARK", "").encode()
_DRIVER = __file__ if "__file__" in globals() else "<string>"
_HINTS = {
    "matplotlib": "python3-matplotlib",
    "pandas": "python3-pandas",
    "numpy": "python3-numpy",
    "scipy": "python3-scipy",
    "PIL": "python3-pil",
    "sklearn": "python3-sklearn",
    "requests": "python3-requests",
    "yaml": "python3-yaml",
}
_PIP = {"PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml"}
_MIME = [
    ("_repr_html_", "html"),
    ("_repr_markdown_", "markdown"),
    ("_repr_svg_", "svg"),
    ("_repr_png_", "png"),
    ("_repr_jpeg_", "jpeg"),
    ("_repr_latex_", "latex"),
    ("_repr_json_", "json"),
]


for _fd in (1, 2, 3, 4):
    try:
        os.set_blocking(_fd, True)
    except OSError:
        pass


def _stdio(fd):
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", write_through=True)


sys.stdout = sys.__stdout__ = _stdio(1)
sys.stderr = sys.__stderr__ = _stdio(2)
sys.stdin = sys.__stdin__ = open(os.devnull)


class _State:
    busy = False
    count = 0
    results = None


def _on_sigint(signum, frame):
    # Interrupt only user code; a late SIGINT between cells is dropped.
    if _State.busy:
        raise KeyboardInterrupt


signal.signal(signal.SIGINT, _on_sigint)


def _b64(data):
    import base64

    if isinstance(data, str):
        return data
    return base64.b64encode(data).decode("ascii")


def _bundle(obj):
    """The display-protocol representations of obj (text/plain always)."""
    out = {}
    cls = type(obj)
    if not isinstance(obj, type):
        for meth, key in _MIME:
            fn = getattr(cls, meth, None)
            if not callable(fn):
                continue
            try:
                v = fn(obj)
            except Exception:
                continue
            if isinstance(v, tuple):  # (data, metadata)
                v = v[0] if v else None
            if v is None:
                continue
            if key in ("png", "jpeg"):
                v = _b64(v)
            elif key == "json":
                try:
                    json.dumps(v)
                except Exception:
                    continue
            elif not isinstance(v, str):
                v = str(v)
            out[key] = v
    try:
        out["text"] = repr(obj)
    except Exception as e:  # a broken __repr__ must not lose the cell
        out["text"] = "<repr failed: %s: %s>" % (type(e).__name__, e)
    return out


def display(*objs, **kwargs):
    """Add each object as a rich result of the current cell."""
    for obj in objs:
        if _State.results is not None:
            r = _bundle(obj)
            r["is_main_result"] = False
            _State.results.append(r)


def _figures():
    """PNG of every open matplotlib figure; closes them."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        nums = plt.get_fignums()
        for n in nums:
            fig = plt.figure(n)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            _State.results.append({"png": _b64(buf.getvalue()), "is_main_result": False})
    except Exception as e:
        sys.stderr.write("sbx-mcp: could not render matplotlib figure: %s\n" % e)
    finally:
        try:
            plt.close("all")
        except Exception:
            pass


def _error(e):
    import traceback

    tb = e.__traceback__
    # Drop the driver's own frames: the traceback starts in the cell.
    while tb is not None and tb.tb_frame.f_code.co_filename == _DRIVER:
        tb = tb.tb_next
    if isinstance(e, SyntaxError):
        lines = traceback.format_exception_only(type(e), e)
    else:
        lines = traceback.format_exception(type(e), e, tb)
    value = str(e)
    if isinstance(e, ModuleNotFoundError) and e.name:
        top = e.name.split(".")[0]
        if top in _HINTS:
            value += " (install it in the sandbox: apt-get install %s, or pip install %s)" % (
                _HINTS[top],
                _PIP.get(top, top),
            )
        else:
            value += " (install it in the sandbox: pip install %s)" % top
    return {"name": type(e).__name__, "value": value, "traceback": "".join(lines)}


_ns = {"__name__": "__main__", "__builtins__": builtins, "display": display}
sys.modules["__main__"] = _main = types.ModuleType("__main__")
_main.__dict__.update(_ns)
_ns = _main.__dict__


def _run(code):
    import linecache

    _State.count += 1
    name = "<cell-%d>" % _State.count
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    tree = ast.parse(code, filename=name, mode="exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    value = None
    if tree.body:
        value = _exec(compile(tree, name, "exec", flags=flags))
    if last is not None:
        value = _exec(compile(last, name, "eval", flags=flags))
        if value is not None:
            _ns["_"] = value
            r = _bundle(value)
            r["is_main_result"] = True
            _State.results.append(r)


def _exec(co):
    v = eval(co, _ns)
    if co.co_flags & 0x80:  # CO_COROUTINE: the cell used top-level await
        import asyncio

        v = asyncio.get_event_loop_policy().get_event_loop().run_until_complete(v)
    return v


def _send(msg):
    data = (json.dumps(msg) + "\n").encode()
    while data:
        n = os.write(4, data)
        data = data[n:]


def _mark():
    for f, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        try:
            f.flush()
        except Exception:
            pass
        try:
            os.write(fd, _MARK)
        except OSError:
            pass


def _cell(req):
    _State.results = []
    if getattr(sys.stdout, "closed", False):
        sys.stdout = _stdio(1)
    if getattr(sys.stderr, "closed", False):
        sys.stderr = _stdio(2)
    err = None
    _State.busy = True
    try:
        try:
            _run(req.get("code", ""))
        finally:
            _State.busy = False
    except BaseException as e:  # KeyboardInterrupt and SystemExit are data too
        _State.busy = False
        err = _error(e)
    try:
        _figures()
    except KeyboardInterrupt:
        pass
    _mark()
    _send({"id": req.get("id"), "results": _State.results, "error": err, "execution_count": _State.count})
    _State.results = None


def _main_loop():
    import warnings

    warnings.filterwarnings("ignore", message=".*(non-GUI backend|cannot be shown).*")
    reqs = open(3, "rb", closefd=False)
    _send({"ready": True, "pid": os.getpid()})
    while True:
        try:
            line = reqs.readline()
        except KeyboardInterrupt:
            continue
        if not line:
            return
        try:
            req = json.loads(line)
        except ValueError:
            continue
        _cell(req)


_main_loop()
os._exit(0)
