"""Regenerate the committed test fixtures under Tests/Fixtures with the PyTorch reference.

Usage:  python3 tools/make_fixtures.py            # every generator in tools/fixtures/
        python3 tools/make_fixtures.py models coop # only these (by module name)

Each module tools/fixtures/<area>.py exposing `generate(out_dir)` is a generator; out_dir is the
repository's Tests/Fixtures. A module may declare `REQUIRES = ("models",)`: it then runs after those
modules when they are selected too (otherwise it reads their committed output).
"""
import importlib.util
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
GENERATORS_DIR = REPO / "tools" / "fixtures"
OUT_DIR = REPO / "Tests" / "Fixtures"


def load_generators() -> dict:
    """Import every tools/fixtures/*.py that defines generate(out_dir); returns {name: module}."""
    sys.path.insert(0, str(GENERATORS_DIR))  # generators may import their siblings
    found = {}
    for path in sorted(GENERATORS_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        if callable(getattr(module, "generate", None)):
            found[path.stem] = module
    return found


def run_order(selected: list, generators: dict) -> list:
    """Selected names ordered so that each runs after the selected modules it REQUIRES."""
    ordered, visiting = [], set()

    def visit(name):
        if name in ordered:
            return
        if name in visiting:
            raise SystemExit(f"make_fixtures: REQUIRES cycle through '{name}'")
        visiting.add(name)
        for dep in getattr(generators[name], "REQUIRES", ()):
            if dep in selected:
                visit(dep)
        ordered.append(name)

    for name in selected:
        visit(name)
    return ordered


def main(argv: list) -> int:
    generators = load_generators()
    unknown = [a for a in argv if a not in generators]
    if unknown:
        print(f"make_fixtures: unknown generator(s) {unknown}; available: {sorted(generators)}", file=sys.stderr)
        return 2
    selected = argv or sorted(generators)
    for name in run_order(selected, generators):
        start = time.time()
        print(f"[{name}] generating into {OUT_DIR}")
        generators[name].generate(OUT_DIR)
        print(f"[{name}] done in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
