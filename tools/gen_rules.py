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
import copy
import pathlib
import sys

import numpy as np
from _generate import write_or_check

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tinynet" / "_rules.py"
TARGET = ROOT / "tinynet" / "_rules.pxi"
#: Each helper a rule may call, as the extension names it.
HELPERS = {"abs": "fabs", "copysign": "copysign", "exp": "_exp", "exp_minus_one": "_exp_minus_one",
           "log": "log", "log1p": "log1p", "sqrt": "sqrt"}
#: ... and in the rules' float32 forms (_core_common.pxi's float32 helpers; R and F of _rules.py's
#: docstring: C's float arithmetic rounds each operation, and a number becomes a float).
HELPERS32 = {"abs": "_fabs32", "copysign": "_copysign32", "exp": "_exp32",
             "exp_minus_one": "_exp_minus_one32", "log": "_log32", "log1p": "_log1p32", "sqrt": "_sqrt32",
             "R": "_R32", "F": "_F32"}
#: The C header of the optimizer steps' rules, for the extension's tiles (tinynet/_tiles.h).
HEADER = ROOT / "tinynet" / "_rules.h"


def _rule_functions(tree, module):
    """The syntax of each rule (the functions _rules.rules() names), in the order written."""
    names = {name for name, _ in module.rules()}
    return [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]


class _Rename(ast.NodeTransformer):
    """Calls of rules and helpers renamed to the extension's functions; the module's constants written
    as their values (C constants, the same doubles: repr gives back every bit)."""

    def __init__(self, rules, constants, float32=False):
        self.rules = rules
        self.constants = constants
        self.suffix = "32" if float32 else ""
        self.helpers = HELPERS32 if float32 else HELPERS

    def visit_Name(self, node):
        if node.id in self.constants:
            return ast.copy_location(ast.Constant(self.constants[node.id]), node)
        if node.id in self.rules:
            return ast.copy_location(ast.Name("_" + node.id + self.suffix, node.ctx), node)
        if node.id in self.helpers:
            return ast.copy_location(ast.Name(self.helpers[node.id], node.ctx), node)
        return node


def _cython_rule(node, rules, constants, float32=False):
    """One rule as a cdef inline function (with float32, its float32 form: a float function named
    with a suffix 32, of float arguments and locals)."""
    kind, suffix = ("float", "32") if float32 else ("double", "")
    in_double = _in_double(node) if float32 else set()     # (its hyperparameters computed on in double)
    node = _float32_tree(node) if float32 else copy.deepcopy(node)     # (the renaming edits the tree)
    args = [arg.arg for arg in node.args.args]
    body = list(node.body)
    lines = []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        doc = body.pop(0).value.value.strip().splitlines()
        lines += [f"    # {line.strip()}".rstrip() for line in doc]
    local = sorted({target.id for statement in body for sub in ast.walk(statement)
                    if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
                    for target in [sub]} - set(args))
    params = ", ".join(f"{'double' if arg in in_double else kind} {arg}" for arg in args)
    header = f"cdef inline {kind} _{node.name}{suffix}({params}) noexcept nogil:"
    if local:
        lines.append(f"    cdef {kind} {', '.join(local)}")
    rename = _Rename(rules, constants, float32)
    for statement in body:
        text = ast.unparse(rename.visit(statement))
        lines += ["    " + line for line in text.splitlines()]
    return "\n".join([header, *lines])


def _module():
    """tinynet/_rules.py imported: its table of codes and its constants."""
    sys.path.insert(0, str(ROOT))
    from tinynet import _rules

    return _rules


def _float32_tree(node):
    """_rules.float32_tree, the one definition of the float32 forms."""
    return _module().float32_tree(node)


def _in_double(node):
    """The hyperparameters that a rule's float32 form takes in double (_rules.float32_transform)."""
    return _module().float32_transform(node)[1]


def _of_one_value(rows, kind="double", suffix=""):
    """_activate and _derivative, the rule of a code at one value (with suffix 32 and kind float, their
    float32 forms, over the rules' float32 forms)."""
    unreached = "    return NAN    # not in the table: never reached (the kernels check the codes first)"
    return [
        "\n".join([f"cdef inline {kind} _activate{suffix}(int code, {kind} s) noexcept nogil:",
                   *_chain(rows, "value", lambda rule: [f"return _{rule}{suffix}(s)"]),
                   unreached]),
        "\n".join([f"cdef inline {kind} _derivative{suffix}(int code, {kind} a) noexcept nogil:",
                   *_chain(rows, "prime", lambda rule: [f"return _{rule}{suffix}(a)"]),
                   unreached]),
    ]


def _float32_dispatchers(rules, functions):
    """_activate32 and _derivative32 (the float32 forms of _activate and _derivative), and a test hook
    calling each float32 rule by its number in _rules.rules()."""
    hook = ["def rule32(int number, float a=0, float b=0, float c=0, float d=0, float e=0):",
            "    \"\"\"The float32 form of rule ``number`` (of ``_rules.rules()``) at its arguments, each",
            "    rounded to float32 first (a test hook).\"\"\""]
    for number, node in enumerate(functions):
        args = ", ".join("abcde"[:len(node.args.args)])
        hook += [f"    {'if' if number == 0 else 'elif'} number == {number}:",
                 f"        return _{node.name}32({args})"]
    hook.append("    raise ValueError(f\"no rule number {number}\")")
    rows = rules.ACTIVATIONS
    return [*_of_one_value(rows, "float", "32"), _activate_each(rows, "float", "32"),
            _derivative_each(rows, "float", "32"), "\n".join(hook)]


def _activate_each(rows, kind="double", suffix=""):
    """_activate_each (with suffix 32 and kind float, its float32 form)."""
    return "\n".join([f"cdef inline void _activate_each{suffix}(int code, {kind}* x,",
                      f"                                 {' ' * len(suffix)}Py_ssize_t n) noexcept nogil:",
                      f"    # x[k] = _activate{suffix}(code, x[k]) for k < n, in place: one loop per code",
                      "    cdef Py_ssize_t k",
                      *_chain(rows, "value",
                              lambda rule: ["for k in range(n):", f"    x[k] = _{rule}{suffix}(x[k])"])])


def _derivative_each(rows, kind="double", suffix=""):
    """_derivative_each (with suffix 32 and kind float, its float32 form)."""
    return "\n".join([f"cdef inline void _derivative_each{suffix}(int code, const {kind}* a, {kind}* out,",
                      f"                                  {' ' * len(suffix)}Py_ssize_t n) noexcept nogil:",
                      f"    # out[k] = _derivative{suffix}(code, a[k]) for k < n: one loop per code",
                      "    cdef Py_ssize_t k",
                      *_chain(rows, "prime",
                              lambda rule: ["for k in range(n):", f"    out[k] = _{rule}{suffix}(a[k])"])])


def _fused_forms(rules, functions):
    """Each rule, _activate, _derivative, _activate_each and _derivative_each over the kernels' element
    type (Cython's fused type ``floating``), named with a suffix _t: the double form for doubles, the
    float32 form for floats (a choice the compiler makes, per specialisation)."""
    pieces = []
    signatures = [(node.name, [(arg.arg, "double" if arg.arg in _in_double(node) else "floating")
                               for arg in node.args.args]) for node in functions]
    signatures += [("activate", [("code", "int"), ("s", "floating")]),
                   ("derivative", [("code", "int"), ("a", "floating")])]
    for name, args in signatures:
        params = ", ".join(f"{kind} {arg}" for arg, kind in args)
        names = ", ".join(arg for arg, _ in args)
        pieces.append("\n".join([f"cdef inline floating _{name}_t({params}) noexcept nogil:",
                                 "    if floating is double:",
                                 f"        return _{name}({names})",
                                 "    else:",
                                 f"        return _{name}32({names})"]))
    pieces.append("\n".join(["cdef inline void _activate_each_t(int code, floating* x,",
                             "                                  Py_ssize_t n) noexcept nogil:",
                             "    if floating is double:",
                             "        _activate_each(code, x, n)",
                             "    else:",
                             "        _activate_each32(code, x, n)"]))
    head = "cdef inline void _derivative_each_t(int code, const floating* a, floating* out,"
    pieces.append("\n".join([head,
                             "                                    Py_ssize_t n) noexcept nogil:",
                             "    if floating is double:",
                             "        _derivative_each(code, a, out, n)",
                             "    else:",
                             "        _derivative_each32(code, a, out, n)"]))
    return pieces


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
    return [
        *_of_one_value(rows),
        _activate_each(rows),
        _derivative_each(rows),
        "\n".join(["cdef int _check_codes(int hidden, int output) except -1:",
                   "    # A ValueError unless the hidden layers' code has a derivative and the output's",
                   "    # a rule (or is softmax's): every kernel checks first, so the dispatchers never",
                   "    # see another code.",
                   f"    if not ({known_prime}) or not ({known_value} or output == {rules.SOFTMAX}):",
                   "        raise ValueError(\"unknown activation code\")",
                   "    return 0"]),
        _check("_check_loss", "loss", rules.LOSS_CODES),
        _check("_check_optimizer", "optimizer", rules.OPTIMIZER_CODES),
        _check("_check_per_sample", "optimizer", rules.PER_SAMPLE_CODES,
               "not a per-sample step: SGD, plain or with momentum, only"),
    ]


def _check(name, argument, codes, message=None):
    known = " or ".join(f"{argument} == {code}" for code in codes)
    return "\n".join([f"cdef int {name}(int {argument}) except -1:",
                      f"    # A ValueError unless {argument} is one of {', '.join(map(str, codes))}.",
                      f"    if not ({known}):",
                      f"        raise ValueError(\"{message or f'unknown {argument} code'}\")",
                      "    return 0"])


# --- the C header: the optimizer steps and the rules they call, for _tiles.h -------------------------

_C_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Gt: ">", ast.GtE: ">=",
                ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=", ast.And: "&&", ast.Or: "||"}


class _C:
    """Python expressions of the rules' subset as C, every operation in parentheses (so in the order
    Python's syntax tree gives). Rules that are one arithmetic expression (``vector``) become macros,
    valid for doubles and for GCC's vectors of doubles alike (a scalar operand stands for every lane;
    ``sqrt`` is ``TN_SQRT``, which _tiles.h defines for both); the others, inline functions of
    doubles.

    With ``float32``, the rules' float32 forms (``functions`` from _rules.float32_tree, ``constants``
    _rules.constants32()), named with a suffix 32: floats, the numbers float literals (``F(c)``), and
    ``R(x)`` simply ``x``, since C rounds each float operation to float. The hyperparameters a rule
    takes in double (``in_double``: rule -> names, _rules.float32_transform) are double parameters,
    cast to float where used, ``F(beta_1)``, and an expression of them alone is computed in double and
    cast once, ``F(1 - beta_2)``; its other hyperparameters (``learn_rate``, which the tiles give as
    vectors) arrive in the element type. A step gives each rule its options accordingly."""

    def __init__(self, functions, constants, float32=False, in_double=None):
        self.functions = functions          # name -> syntax, of every rule
        self.constants = constants
        self.kind, self.suffix = ("float", "32") if float32 else ("double", "")
        self.in_double = in_double or {}
        self.doubles: set[str] = set()       # the names that are doubles where C is being written
        self.double_mode = False             # inside F(...) of hyperparameters: double arithmetic
        self.vector = {name for name, node in functions.items() if self._is_vector(node)}

    def number(self, value):
        """A number as a C literal of the element type (a double inside F(...) of hyperparameters)."""
        return repr(float(value)) + ("f" if self.suffix and not self.double_mode else "")

    def _is_vector(self, node):
        body = [statement for statement in node.body
                if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
        if len(body) != 1 or not isinstance(body[0], ast.Return):
            return False
        return self.vector_expression(body[0].value)

    def vector_expression(self, tree):
        """Whether an expression is arithmetic only (no comparison, hence no per-lane choice), calling
        only rules that are."""
        for sub in ast.walk(tree):
            if isinstance(sub, (ast.Compare, ast.IfExp, ast.BoolOp, ast.UnaryOp)) and not (
                    isinstance(sub, ast.UnaryOp) and isinstance(sub.op, ast.USub)):
                return False
            if isinstance(sub, ast.Call) and sub.func.id not in ("sqrt", "R", "F") and not (
                    sub.func.id in self.functions and self._is_vector(self.functions[sub.func.id])):
                return False
        return True

    def called(self, tree):
        """The rules an expression or statement calls, with those they call."""
        found = []
        for sub in ast.walk(tree):
            if isinstance(sub, ast.Call) and sub.func.id in self.functions and sub.func.id not in found:
                found += [name for name in self.called(self.functions[sub.func.id]) if name not in found]
                found.append(sub.func.id)
        return found

    def expression(self, node, names, macro):
        """``node`` as C; ``names`` maps a name to its C text; ``macro``: inside a macro (sqrt is
        TN_SQRT)."""
        def c(sub):
            return self.expression(sub, names, macro)

        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return self.number(self.constants[node.id])
            return names.get(node.id, node.id)
        if isinstance(node, ast.BinOp):
            return f"({c(node.left)} {_C_OPERATORS[type(node.op)]} {c(node.right)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return f"(-{c(node.operand)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"(!{c(node.operand)})"
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return f"({c(node.left)} {_C_OPERATORS[type(node.ops[0])]} {c(node.comparators[0])})"
        if isinstance(node, ast.BoolOp):
            return "(" + f" {_C_OPERATORS[type(node.op)]} ".join(map(c, node.values)) + ")"
        if isinstance(node, ast.IfExp):
            return f"({c(node.test)} ? {c(node.body)} : {c(node.orelse)})"
        if isinstance(node, ast.Call):
            name = node.func.id
            if name == "R":             # (float32) C rounds each float operation to float
                return c(node.args[0])
            if name == "F":             # (float32) a number, a hyperparameter or their arithmetic, in float
                arg = node.args[0]
                if isinstance(arg, ast.Constant):
                    return self.number(float(np.float32(arg.value)))
                if isinstance(arg, ast.Name) and arg.id not in self.doubles:
                    return c(arg)                               # given in float already
                self.double_mode = True
                try:
                    return f"(({self.kind})({c(arg)}))"
                finally:
                    self.double_mode = False
            if name == "sqrt":
                callee = "TN_SQRT" if macro else "sqrt" + ("f" if self.suffix else "")
            elif name in self.vector:
                callee = "TN_" + name.upper() + self.suffix
            elif name in self.functions:
                callee = "tn_" + name + self.suffix
            else:
                raise ValueError(f"a rule of the optimizer steps calls {name}, which C does not have")
            args = [self._argument(name, i, arg, c(arg)) for i, arg in enumerate(node.args)]
            return f"{callee}({', '.join(args)})"
        raise ValueError(f"not in the rules' subset of Python: {ast.unparse(node)}")

    def _argument(self, callee, index, arg, text):
        """Argument ``index`` (``arg``, as C ``text``) of a call of rule ``callee``: a double
        hyperparameter stays a double where the callee takes it in double, else it is cast to the
        element type."""
        if not (isinstance(arg, ast.Name) and arg.id in self.doubles) or callee not in self.functions:
            return text
        param = self.functions[callee].args.args[index].arg
        return text if param in self.in_double.get(callee, ()) else f"(({self.kind})({text}))"

    def statements(self, body, indent):
        lines = []
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue
            if isinstance(statement, ast.Return):
                lines.append(f"{indent}return {self.expression(statement.value, {}, False)};")
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0].id
                lines.append(f"{indent}{target} = {self.expression(statement.value, {}, False)};")
            elif isinstance(statement, ast.If):
                lines.append(f"{indent}if {self.expression(statement.test, {}, False)} {{")
                lines += self.statements(statement.body, indent + "    ")
                if statement.orelse:
                    lines.append(f"{indent}}} else {{")
                    lines += self.statements(statement.orelse, indent + "    ")
                lines.append(f"{indent}}}")
            else:
                raise ValueError(f"not in the rules' subset of Python: {ast.unparse(statement)}")
        return lines

    def rule(self, name):
        node = self.functions[name]
        args = [arg.arg for arg in node.args.args]
        self.doubles = set(self.in_double.get(name, ()))
        doc = ast.get_docstring(node)
        lines = [f"/* {name}: {' '.join(doc.split())} */"] if doc else [f"/* {name} */"]
        if name in self.vector:
            value = node.body[-1].value
            text = self.expression(value, {arg: f"({arg})" for arg in args}, True)
            return "\n".join([*lines, f"#define TN_{name.upper()}{self.suffix}({', '.join(args)}) {text}"])
        local = sorted({sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)
                        and isinstance(sub.ctx, ast.Store)} - set(args))
        params = ", ".join(f"{'double' if arg in self.doubles else self.kind} {arg}" for arg in args)
        lines.append(f"static inline {self.kind} tn_{name}{self.suffix}({params}) {{")
        if local:
            lines.append(f"    {self.kind} {', '.join(local)};")
        lines += self.statements(node.body, "    ")
        lines.append("}")
        return "\n".join(lines)


def _c_header(module, functions):
    """tinynet/_rules.h: the steps of _rules.STEPS and the rules they call, in C, for doubles and in
    their float32 forms for floats."""
    options = module.STEP_OPTIONS
    pieces = [
        "\n".join(["/* The numbers a step may use beyond its parameter's own (_rules.STEP_OPTIONS), the same",
                    " * for every parameter of a batch (doubles; the float steps take each rounded to",
                    " * float). */",
                    "typedef struct {",
                    *[f"    double {name};" for name in options],
                    "} tn_step_options;"]),
        "\n".join(["/* The steps' codes (the kernels' optimizer argument). */",
                    *[f"#define TN_STEP_{step.name.upper()} {step.code}" for step in module.STEPS]]),
        *_c_steps(module, _C({node.name: node for node in functions}, module.constants())),
        "/* --- the float32 forms (tinynet/_rules.py's docstring): the same names ending in 32 --- */",
        *_c_steps(module, _C({node.name: _float32_tree(node) for node in functions}, module.constants32(),
                             float32=True, in_double={node.name: _in_double(node) for node in functions})),
        "\n".join(["/* X(NAME, CODE, A) for every step. */",
                    "#define TN_STEPS(X, A) " + " ".join(f"X({step.name.upper()}, {step.code}, A)"
                                                         for step in module.STEPS)]),
    ]
    head = ("/* Generated by tools/gen_rules.py from tinynet/_rules.py: do not edit. Edit the rules there,\n"
            " * then run python tools/gen_rules.py (the tests check that this file is current).\n"
            " * Included by _tiles.h, which defines TN_SQRT for numbers and its vectors. */\n"
            "#ifndef TINYNET_RULES_H\n#define TINYNET_RULES_H\n\n#include <math.h>\n")
    return head + "\n" + "\n\n".join(pieces) + "\n\n#endif /* TINYNET_RULES_H */\n"


def _c_steps(module, c):
    """The rules that the steps call and the steps' macros, as ``c`` (a :class:`_C`) writes them."""
    steps = module.STEPS
    parsed = {}
    for step in steps:
        trees = [(target, ast.parse(text, mode="eval").body) for target, text in step.statements]
        if c.suffix:
            trees = [(target, _float32_tree(tree)) for target, tree in trees]
        parsed[step.name] = trees
    used = []
    for step in steps:
        for _, tree in parsed[step.name]:
            used += [name for name in c.called(tree) if name not in used]
    # the options, doubles of tn_step_options (the float32 forms cast each where a rule takes it in
    # float)
    names = {"p": "(p)", "m": "(m)", "v": "(v)", "g": "(g)",
             **{name: f"(o)->{name}" for name in module.STEP_OPTIONS}}
    pieces = [c.rule(name) for name in used]
    c.doubles = set(module.STEP_OPTIONS) if c.suffix else set()
    for step in steps:
        vector = all(c.vector_expression(tree) for _, tree in parsed[step.name])
        written = {target for target, _ in step.statements}
        body = " ".join(f"{names[target]} = {c.expression(tree, names, vector)};"
                        for target, tree in parsed[step.name])
        comment = "; ".join(f"{target} = {text}" for target, text in step.statements)
        name = step.name.upper() + c.suffix
        lines = [f"/* {step.name}: {comment}. On lvalues p, m, v ({c.kind}s" +
                 (", or vectors of them" if vector else "") + ") from g, with the options o. */",
                 f"#define TN_DO_{name}(p, m, v, g, o) do {{ {body} }} while (0)"]
        if vector:
            lines.append(f"#define TN_DO_VEC_{name} TN_DO_{name}")
        else:
            lines += ["/* ... and on vectors, lane by lane (its rules choose per element). */",
                      f"#define TN_DO_VEC_{name}(p, m, v, g, o) do {{ int tn_q_; "
                      f"for (tn_q_ = 0; tn_q_ < (int)(sizeof(p) / sizeof({c.kind})); tn_q_++) "
                      f"TN_DO_{name}((p)[tn_q_], (m)[tn_q_], (v)[tn_q_], (g)[tn_q_], o); "
                      "} while (0)"]
        if not c.suffix:
            lines += [f"#define TN_WRITES_M_{name} {int('m' in written)}",
                      f"#define TN_WRITES_V_{name} {int('v' in written)}"]
        pieces.append("\n".join(lines))
    return pieces


def _step_options(module):
    """The C struct of the steps' options, as Cython declares it, and the kernels' options record."""
    types = {"f8": "double", "i8": "int64_t"}
    fields = [(name, types[module.KERNEL_OPTIONS.fields[name][0].str[1:]])
              for name in module.KERNEL_OPTIONS.names]
    return "\n".join(['cdef extern from "_rules.h":',
                      "    # the numbers a step may use beyond its parameter's own (_rules.STEP_OPTIONS)",
                      "    ctypedef struct tn_step_options:",
                      *[f"        double {name}" for name in module.STEP_OPTIONS],
                      "",
                      "",
                      "# The batch kernels' options record (_rules.KERNEL_OPTIONS), as a C struct.",
                      "ctypedef struct kernel_options:",
                      *[f"    {kind} {name}" for name, kind in fields],
                      "",
                      "",
                      "cdef inline tn_step_options _step_options(const kernel_options* k,",
                      "                                          double lr_t) noexcept nogil:",
                      "    # The steps' options (_rules.STEP_OPTIONS) from the record, and a batch's lr_t",
                      "    cdef tn_step_options o",
                      *[f"    o.{name} = {'lr_t' if name == 'lr_t' else 'k.' + name}"
                        for name in module.STEP_OPTIONS],
                      "    return o"])


def render():
    """The generated files: path -> text."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    module = _module()
    functions = _rule_functions(tree, module)
    rules = {node.name for node in functions}
    pieces = ([_cython_rule(node, rules, module.constants()) for node in functions] + _dispatchers(module)
              + [_step_options(module)]
              + ["# --- the rules' float32 forms (tinynet/_rules.py's docstring) " + "-" * 38]
              + [_cython_rule(node, rules, module.constants32(), float32=True) for node in functions]
              + _float32_dispatchers(module, functions)
              + ["# --- over the kernels' element type (Cython's fused type floating) " + "-" * 34]
              + _fused_forms(module, functions))
    head = ("# Generated by tools/gen_rules.py from tinynet/_rules.py: do not edit. Edit the rules there,\n"
            "# then run python tools/gen_rules.py (the tests check that this file is current).\n"
            "# Included by _core.pyx, after _core_common.pxi (tinynet's exp).\n")
    return {TARGET: head + "\n\n" + "\n\n\n".join(pieces) + "\n",
            HEADER: _c_header(module, functions)}


def main():
    return write_or_check(render(), ROOT, "gen_rules.py")


if __name__ == "__main__":
    sys.exit(main())
