"""Write the float32 forms of Network's pure-Python and Numba kernels from their float64 source.

    python tools/gen_float32.py           # writes tinynet/_python_network32.py, _numba_network32.py,
                                          # _python_tutorial32.py, _numba_tutorial32.py
    python tools/gen_float32.py --check   # exit 1 if one is not what this writes (the tests run it)

(The tutorial network's training kernels too: a float32 Network((2, 2, 1)) of sigmoid and mse trains
on them, as a float64 one trains on the float64 ones.)

A float32 kernel is its float64 kernel with every operation's result rounded to float32, as the
rules' float32 forms are (tinynet/_rules.py's docstring): the same text, transformed, so that the two
cannot drift apart. In each function reachable from the kernels' entry points (and in the pairwise
summation's walk, which the losses use, taken from the backend's common module):

* every binary operation ``a op b`` becomes ``R(a op b)`` and every augmented assignment ``t op= b``
  becomes ``t = R(t op b)``;
* every float written in the code, and every ``float(...)`` and option read from the options record
  (``o.learn_rate``, ``options[0].alpha``, ``o["alpha"]``), becomes ``F(...)``;
* ``R`` and ``F`` round a float to float32 and leave an integer alone (the kernels' index arithmetic);
  the pure-Python backend's are ``round32``'s (Python floats holding float32 values), Numba's
  ``np.float32``'s (typed, so that float32 operations stay float32 in the compiled code);
* the rules are their float32 forms (the backend's ``rules32()``), ``exp`` is ``exp32`` (Numba's
  ``_exp_lanes`` ``_exp32_lanes``), ``log`` float32's, and ``NET_VEC`` is ``NET_VEC32``: the rows'
  strides and the squares' partial sums of float32 kernels follow the extension's float tiles (16
  floats), and Numba's ``LANES`` (train_many's blocks) ``LANES32`` (float32's, ``_codes.lanes``);
  Numba's ``VW`` is ``VW32``, the floats in one of its vectors (8 floats, where 4 doubles),
  whose intrinsics (``vload``, ``vmul``, ...) take float32 arrays and values as they take float64
  ones: calls, which R leaves alone, whose lanes round each result to float32.

A float32 ``+ - * /`` or ``sqrt`` of float32 values rounds exactly as the same operation done in
double and rounded to float32 (53 >= 2 * 24 + 2), so each ``R(a op b)`` is float32's own operation.
"""

import ast
import pathlib
import sys

from _generate import write_or_check

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinynet"

#: Each family's kernels' entry points: Network's (its ``__all__``), and the tutorial network's training
#: (the float32 Network((2, 2, 1)) of sigmoid and mse trains on them, as a float64 one does).
ENTRIES = {"network": ("activation", "net_feedforward", "net_gradient", "net_loss", "net_train",
                       "net_train_batch", "net_train_many"),
           "tutorial": ("train", "train_many")}
#: The pairwise summation's walk, from each backend's common module.
WALK = ("_pairwise_block", "_walk_start", "_walk_next", "_walk_push", "_walk_total")
#: The walk for a block's lanes at once, Numba's (train_many's kernels: the pure-Python backend has none).
LANE_WALK = ("_lane_walk_start", "_lane_walk_next", "_lane_walk_push", "_lane_walk_total",
             "_pairwise_block_lanes")
#: Fields of the options record that hold floats.
FLOAT_OPTIONS = ("learn_rate", "momentum", "alpha", "beta_1", "beta_2", "epsilon")
#: Arguments of the entry points given as Python floats (doubles): taken in float32 as they come in.
FLOAT_ARGUMENTS = ("learn_rate",)

BACKENDS = {
    # name: (source module, common module, output, the lines that make its names float32's)
    "python": ("_python_network.py", "_python_common.py", "_python_network32.py", [
        "from ._codes import NET_VEC32 as NET_VEC, STACK_SIZE",
        "from ._python_common import R32 as F",
        "from ._python_common import R32 as R",
        "from ._python_common import _log32 as log",
        "from ._python_common import exp32 as exp",
        "from ._python_common import rules32",
        "",
        "RULES = rules32()",
    ]),
    "numba": ("_numba_network.py", "_numba_common.py", "_numba_network32.py", [
        "from ._codes import LANES32 as LANES, NET_VEC32 as NET_VEC, STACK_SIZE",
        "from ._numba_common import R32 as F",
        "from ._numba_common import R32 as R",
        "from ._numba_common import VW32 as VW",
        "from ._numba_common import _exp32_lanes as _exp_lanes",
        "from ._numba_common import _log32",
        "from ._numba_common import exp32 as exp",
        "from ._numba_common import rules32",
        "",
        "RULES = rules32()",
    ]),
    "python-tutorial": ("_python_tutorial.py", "_python_common.py", "_python_tutorial32.py", [
        "from ._python_network32 import _pairwise_block, _walk_next, _walk_push, _walk_start, _walk_total",
        "from ._python_common import R32 as F",
        "from ._python_common import R32 as R",
        "from ._python_common import rules32",
        "",
        "RULES = rules32()",
        "sigmoid = RULES.sigmoid",
    ]),
    "numba-tutorial": ("_numba_tutorial.py", "_numba_common.py", "_numba_tutorial32.py", [
        "from ._numba_network32 import _pairwise_block, _walk_next, _walk_push, _walk_start, _walk_total",
        "from ._numba_network32 import _lane_walk_next, _lane_walk_push, _lane_walk_start, _lane_walk_total",
        "from ._numba_network32 import _pairwise_block_lanes",
        "from ._codes import LANES32 as LANES",
        "from ._numba_common import R32 as F",
        "from ._numba_common import R32 as R",
        "from ._numba_common import _exp32_lanes as _exp_lanes",
        "from ._numba_common import rules32",
        "",
        "RULES = rules32()",
        "sigmoid = RULES.sigmoid",
    ]),
}


class _Float32Kernel(ast.NodeTransformer):
    """A kernel's float32 form (the module's docstring); ``entries``: the entry points, whose arguments
    given as Python floats (FLOAT_ARGUMENTS) are taken in float32 as they come in."""

    def __init__(self, entries=()):
        self.entries = set(entries)

    @staticmethod
    def _call(name, node):
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [node], []), node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return self._call("R", node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        load = ast.parse(ast.unparse(node.target), mode="eval").body        # the target, read
        value = ast.BinOp(load, node.op, node.value)
        return ast.copy_location(ast.Assign([node.target], self._call("R", value)), node)

    def visit_Constant(self, node):
        return self._call("F", node) if type(node.value) is float else node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "float":
            return self._call("F", node)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and node.attr in FLOAT_OPTIONS:
            return self._call("F", node)
        if isinstance(node.value, ast.Name) and node.value.id == "math" and node.attr == "log":
            return ast.copy_location(ast.Name("_log32", ast.Load()), node)
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        key = node.slice
        if (isinstance(node.ctx, ast.Load) and isinstance(key, ast.Constant)
                and key.value in FLOAT_OPTIONS):
            return self._call("F", node)            # o["alpha"]
        return node

    def visit_FunctionDef(self, node):
        # the docstring stays a string; defaults and decorators as they are; an argument given as a
        # Python float (FLOAT_ARGUMENTS) taken in float32 first
        body = node.body
        documented = body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        doc = body[:1] if documented else []
        taken = [ast.parse(f"{arg.arg} = F({arg.arg})").body[0] for arg in node.args.args
                 if arg.arg in FLOAT_ARGUMENTS and node.name in self.entries]
        node.body = doc + taken + [self.visit(statement) for statement in body[len(doc):]]
        return node


def _functions(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _reachable(functions, entries):
    """The functions that the entries call, directly or not, in the order of the source."""
    seen, todo = set(), list(entries)
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        todo += [sub.id for sub in ast.walk(functions[name]) if isinstance(sub, ast.Name)]
    return [name for name in functions if name in seen]


def render_backend(name):
    source_name, common_name, _, overrides = BACKENDS[name]
    source = (PACKAGE / source_name).read_text(encoding="utf-8")
    tree = ast.parse(source)
    common = _functions(ast.parse((PACKAGE / common_name).read_text(encoding="utf-8")))
    functions = _functions(tree)
    # the module's imports, less the names that the float32 forms replace (the overrides, the walk)
    walks = WALK + (LANE_WALK if name.startswith("numba") else ())
    replaced = set(walks)
    for node in ast.parse("\n".join(overrides)).body:
        if isinstance(node, ast.ImportFrom):
            replaced |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Assign):
            replaced |= {target.id for target in node.targets}
    imports = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            node.names = [alias for alias in node.names if (alias.asname or alias.name) not in replaced]
            if node.names:
                imports.append(node)
    # the module's assignments of the rules' names (``_activate = RULES.activate``), after RULES
    aliases = [node for node in tree.body if isinstance(node, ast.Assign)
               and isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name)
               and node.value.value.id == "RULES"]
    entries = ENTRIES["tutorial" if "tutorial" in name else "network"]
    kernels = _reachable(functions, entries)
    transform = _Float32Kernel(entries)
    # the walk's float32 forms: written into the network module, imported from it by the tutorial's
    walk = [] if "tutorial" in name else walks
    pieces = [ast.unparse(transform.visit(common[function])) for function in walk]
    pieces += [ast.unparse(transform.visit(functions[kernel])) for kernel in kernels]
    origin = (f"tinynet/{source_name} (the walk: its network module's)" if walk == []
              else f"tinynet/{source_name} and the walk of tinynet/{common_name}")
    head = (f'"""The float32 forms of {source_name[:-3]}\'s kernels, generated by tools/gen_float32.py\n'
            f'from {origin}: do not edit; edit\n'
            "those, then run python tools/gen_float32.py. Every operation's result is rounded to float32\n"
            '(R), every number and float option taken in float32 (F); see the tool\'s docstring."""\n')
    lines = [head, *[ast.unparse(node) for node in imports], *overrides, "",
             *[ast.unparse(node) for node in aliases],
             f"__all__ = {[entry for entry in entries if entry in kernels]!r}"]
    return "\n".join(lines) + "\n\n\n" + "\n\n\n".join(pieces) + "\n"


def render():
    return {PACKAGE / BACKENDS[name][2]: render_backend(name) for name in BACKENDS}


def _same_code(written, wanted):
    """Whether two Python sources are the same code: the same syntax tree (ast.unparse writes a tree's
    text a little differently from one Python version to another: Python 3.10 puts tuples that are
    assigned to in parentheses)."""
    return ast.dump(ast.parse(written)) == ast.dump(ast.parse(wanted))


def main():
    return write_or_check(render(), ROOT, "gen_float32.py", _same_code)


if __name__ == "__main__":
    sys.exit(main())
