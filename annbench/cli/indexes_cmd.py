"""``annbench indexes``: every backend with its build and search parameters and defaults."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("indexes", help="list index backends and their parameters")
    p.set_defaults(func=run)


def run(args) -> int:
    from annbench.backends import registry
    from annbench.errors import UserError

    width = max(len(n) for n in registry.names()) + 1
    print(f"{'index':{width}} {'metrics':18} {'devices':9} {'build parameters':48} search parameters")
    for name in registry.names():
        try:
            cls = registry.get(name)
        except UserError as exc:
            print(f"{name:{width}} unavailable: {exc}")
            continue
        build = ", ".join(f"{k}={v!r}" for k, v in cls.build_params.items()) or "-"
        search = ", ".join(f"{k}={v!r}" for k, v in cls.search_params.items()) or "-"
        print(f"{name:{width}} {','.join(cls.metrics):18} {','.join(cls.devices):9} {build:48} {search}")
    return 0
