#!/usr/bin/env python3
"""Layering check: every `#include "<module>/..."` in a module must name that module or one
its Meson library declares, directly or through the dependencies those declare in turn. The
compiler enforces the same rule for what it compiles (each library exposes only its root in
broker/include_roots/); this check also covers headers that no source of their module compiles,
and includes by relative path. Meson already refuses a
dependency that goes the wrong way (a *_dep must be defined before it is used), so includes
that follow the declared dependencies cannot form a cycle.

Modules: each directory under broker/ with a meson.build, the executable's own files in broker/,
bridge/, and each publishers/<name>/. Prints the violations and `layering: ...` and exits 1 when
there is one.

  check.py [--root DIR] [--plant MODULE:HEADER]

--plant adds one include of HEADER to MODULE, as a file would; the run must then fail (tests/run
uses it to show that the check can fail).
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# A library, an executable or a dependency, assigned to a variable or not.
ASSIGN = re.compile(r"(?:(\w+)\s*=\s*)?\b(static_library|declare_dependency|executable)\s*\(")
DEPS = re.compile(r"dependencies\s*:\s*\[([^\]]*)\]")


def call_body(text, open_paren):
    """The text inside the parentheses that start at open_paren (balanced)."""
    depth = 0
    for i in range(open_paren, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i]
    return text[open_paren + 1:]


def modules(root):
    """{module name: (its directory, its meson.build, whether subdirectories belong to it)}."""
    found = {}
    broker = os.path.join(root, "broker")
    for name in sorted(os.listdir(broker)):
        path = os.path.join(broker, name)
        if os.path.isfile(os.path.join(path, "meson.build")):
            found[name] = (path, os.path.join(path, "meson.build"), True)
    found["broker"] = (broker, os.path.join(broker, "meson.build"), False)
    found["bridge"] = (os.path.join(root, "bridge"), os.path.join(root, "bridge", "meson.build"), True)
    pubs = os.path.join(root, "publishers")
    for name in sorted(os.listdir(pubs)):
        path = os.path.join(pubs, name)
        if os.path.isfile(os.path.join(path, "meson.build")):
            found["publishers/" + name] = (path, os.path.join(path, "meson.build"), True)
    return found


def parse_meson(mods):
    """(compile deps per module, {dep variable: (module, deps it passes on)})."""
    compile_deps, exposed = {}, {}
    for name, (_, meson, _) in mods.items():
        text = re.sub(r"#.*", "", open(meson).read())
        compile_deps[name] = set()
        for m in ASSIGN.finditer(text):
            var, kind = m.group(1), m.group(2)
            body = call_body(text, m.end() - 1)
            deps = set()
            for d in DEPS.finditer(body):
                deps |= {x.strip() for x in d.group(1).split(",") if x.strip()}
            if kind == "declare_dependency":
                exposed[var] = (name, deps)
            else:
                compile_deps[name] |= deps
    return compile_deps, exposed


def reachable(dep, exposed, seen):
    """Modules whose headers a dependency variable brings (itself and what it passes on)."""
    if dep in seen or dep not in exposed:
        return set()
    seen.add(dep)
    module, passes = exposed[dep]
    out = {module}
    for d in passes:
        out |= reachable(d, exposed, seen)
    return out


def sources(path, recurse):
    for dirpath, dirnames, filenames in os.walk(path):
        if not recurse and dirpath != path:
            break
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in sorted(filenames):
            if f.endswith((".cpp", ".hpp", ".h")):
                yield os.path.join(dirpath, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--plant", help="MODULE:HEADER, an include to add (the check must then fail)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    mods = modules(root)
    broker_modules = {n for n in mods if "/" not in n and n not in ("broker", "bridge")}
    compile_deps, exposed = parse_meson(mods)
    allowed = {}
    for name in mods:
        allowed[name] = {name}
        for d in compile_deps[name]:
            allowed[name] |= reachable(d, exposed, set())

    includes = []  # (module, file, line, header)
    for name, (path, _, recurse) in mods.items():
        for f in sources(path, recurse):
            text = open(f, encoding="utf-8", errors="replace").read()
            for m in INCLUDE.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                includes.append((name, os.path.relpath(f, root), line, m.group(1)))
    if args.plant:
        module, header = args.plant.split(":", 1)
        includes.append((module, f"(planted in {module})", 1, header))

    violations = []
    for module, f, line, header in includes:
        if header.startswith("../"):
            violations.append(f"{f}:{line}: includes \"{header}\": name the module, not a path")
            continue
        target = header.split("/", 1)[0] if "/" in header else None
        if target in broker_modules and target not in allowed[module]:
            declared = ", ".join(sorted(allowed[module] - {module})) or "nothing"
            violations.append(f"{f}:{line}: {module} includes \"{header}\" but does not depend on "
                              f"{target} (it may include: {declared})")
    for v in violations:
        print(v)
    print(f"layering: {len(mods)} modules, {len(includes)} includes, {len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
