#!/usr/bin/env python3
"""Write ``tinynet/_rules.pxi``, the Cython form of the per-element rules of ``tinynet/_rules.py``.

Run from the repository's root:

    python tools/gen_rules.py            # write tinynet/_rules.pxi
    python tools/gen_rules.py --check    # fail if tinynet/_rules.pxi is not what this would write

The rules are written once, in ``tinynet/_rules.py``, in a subset of Python that Cython also reads
(see that module's docstring). This script reads its syntax tree (and imports it for its table of
codes and its constants) and writes each rule as a ``cdef inline double`` function of the same name
with a leading underscore; its arguments and its local names are C doubles; each helper is the
extension's own (``abs`` is C's ``fabs``, ``exp`` tinynet's ``_exp``); each constant is written as
its value (``repr`` gives back every bit). The statements themselves are the rule's, unparsed: the same
operations in the same order, so the same bits as the other two backends. The dispatchers over the
activation codes are written from the table ``ACTIVATIONS``, as ``_rules.dispatcher_source`` writes
them for the other two backends: a code outside it gives NaN here, and the extension's kernels refuse
such a code before they start (``_check_codes``).

Why generate text rather than share a C header or call Python: Cython needs the rules as C to inline
them into its loops, and Python is the one form all three backends can be given (the pure-Python
backend runs it, Numba compiles it); a committed, checked file keeps the build free of the generator
and the generated code readable beside its source.
"""

import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tinynet" / "_rules.py"
TARGET = ROOT / "tinynet" / "_rules.pxi"
#: Each helper a rule may call, as the extension names it.
HELPERS = {"abs": "fabs", "copysign": "copysign", "exp": "_exp", "exp_minus_one": "_exp_minus_one",
           "log": "log", "log1p": "log1p"}


def _rule_functions(tree, module):
    """The syntax of each rule (the functions _rules.rules() names), in the order written."""
    names = {name for name, _ in module.rules()}
    return [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]


class _Rename(ast.NodeTransformer):
    """Calls of rules and helpers renamed to the extension's functions; the module's constants written
    as their values (C constants, the same doubles: repr gives back every bit)."""

    def __init__(self, rules, constants):
        self.rules = rules
        self.constants = constants

    def visit_Name(self, node):
        if node.id in self.constants:
            return ast.copy_location(ast.Constant(self.constants[node.id]), node)
        if node.id in self.rules:
            return ast.copy_location(ast.Name("_" + node.id, node.ctx), node)
        if node.id in HELPERS:
            return ast.copy_location(ast.Name(HELPERS[node.id], node.ctx), node)
        return node


def _cython_rule(node, rules, constants):
    """One rule as a cdef inline function."""
    args = [arg.arg for arg in node.args.args]
    body = list(node.body)
    lines = []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        doc = body.pop(0).value.value.strip().splitlines()
        lines += [f"    # {line.strip()}".rstrip() for line in doc]
    local = sorted({target.id for statement in body for sub in ast.walk(statement)
                    if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
                    for target in [sub]} - set(args))
    header = f"cdef inline double _{node.name}({', '.join(f'double {arg}' for arg in args)}) noexcept nogil:"
    if local:
        lines.append(f"    cdef double {', '.join(local)}")
    rename = _Rename(rules, constants)
    for statement in body:
        text = ast.unparse(rename.visit(statement))
        lines += ["    " + line for line in text.splitlines()]
    return "\n".join([header, *lines])


def _module():
    """tinynet/_rules.py imported: its table of codes and its constants."""
    sys.path.insert(0, str(ROOT))
    from tinynet import _rules

    return _rules


def _chain(rows, kind, call):
    """if/elif lines over the rows that have a rule of ``kind``, each doing ``call(rule)``."""
    lines = []
    for row in rows:
        rule = getattr(row, kind)
        if rule is not None:
            lines += [f"    {'if' if not lines else 'elif'} code == {row.code}:    # {row.value.__name__}",
                      *[f"        {line}" for line in call(rule.__name__)]]
    return lines


def _dispatchers(rules):
    """The extension's forms of _rules.dispatcher_source(): the same functions over the codes, on C
    pointers, with a leading underscore."""
    rows = rules.ACTIVATIONS
    known_prime = " or ".join(f"hidden == {row.code}" for row in rows if row.prime is not None)
    known_value = " or ".join(f"output == {row.code}" for row in rows)
    unreached = "    return NAN    # not in the table: never reached (the kernels check the codes first)"
    return [
        "\n".join(["cdef inline double _activate(int code, double s) noexcept nogil:",
                   *_chain(rows, "value", lambda rule: [f"return _{rule}(s)"]),
                   unreached]),
        "\n".join(["cdef inline double _derivative(int code, double a) noexcept nogil:",
                   *_chain(rows, "prime", lambda rule: [f"return _{rule}(a)"]),
                   unreached]),
        "\n".join(["cdef inline void _activate_each(int code, double* x, Py_ssize_t n) noexcept nogil:",
                   "    # x[k] = _activate(code, x[k]) for k < n, in place: one loop per code",
                   "    cdef Py_ssize_t k",
                   *_chain(rows, "value", lambda rule: ["for k in range(n):", f"    x[k] = _{rule}(x[k])"])]),
        "\n".join(["cdef inline void _derivative_each(int code, const double* a, double* out,",
                   "                                  Py_ssize_t n) noexcept nogil:",
                   "    # out[k] = _derivative(code, a[k]) for k < n: one loop per code",
                   "    cdef Py_ssize_t k",
                   *_chain(rows, "prime",
                           lambda rule: ["for k in range(n):", f"    out[k] = _{rule}(a[k])"])]),
        "\n".join(["cdef int _check_codes(int hidden, int output) except -1:",
                   "    # A ValueError unless the hidden layers' code has a derivative and the output's",
                   "    # a rule (or is softmax's): every kernel checks first, so the dispatchers never",
                   "    # see another code.",
                   f"    if not ({known_prime}) or not ({known_value} or output == {rules.SOFTMAX}):",
                   "        raise ValueError(\"unknown activation code\")",
                   "    return 0"]),
        _check("_check_loss", "loss", rules.LOSS_CODES),
        _check("_check_optimizer", "optimizer", rules.OPTIMIZER_CODES),
    ]


def _check(name, argument, codes):
    known = " or ".join(f"{argument} == {code}" for code in codes)
    return "\n".join([f"cdef int {name}(int {argument}) except -1:",
                      f"    # A ValueError unless {argument} is a code the kernels know.",
                      f"    if not ({known}):",
                      f"        raise ValueError(\"unknown {argument} code\")",
                      "    return 0"])


def render():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    module = _module()
    functions = _rule_functions(tree, module)
    rules = {node.name for node in functions}
    pieces = [_cython_rule(node, rules, module.constants()) for node in functions] + _dispatchers(module)
    head = ("# Generated by tools/gen_rules.py from tinynet/_rules.py: do not edit. Edit the rules there,\n"
            "# then run python tools/gen_rules.py (the tests check that this file is current).\n"
            "# Included by _core.pyx, after _core_common.pxi (tinynet's exp).\n")
    return head + "\n\n" + "\n\n\n".join(pieces) + "\n"


def main():
    text = render()
    if "--check" in sys.argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is not what tools/gen_rules.py writes: run it")
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
