"""``annbench indexes``: every backend with its build and search parameters and defaults."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("indexes", help="list index backends and their parameters")
    p.set_defaults(func=run)


def run(args) -> int:
    from annbench.backends import registry
    from annbench.errors import UserError

    print(f"{'index':10} {'metrics':22} {'devices':9} {'build parameters':44} search parameters")
    for name in registry.names():
        try:
            cls = registry.get(name)
        except UserError as exc:
            print(f"{name:10} unavailable: {exc}")
            continue
        build = ", ".join(f"{k}={v!r}" for k, v in cls.build_params.items()) or "-"
        search = ", ".join(f"{k}={v!r}" for k, v in cls.search_params.items()) or "-"
        print(f"{name:10} {','.join(cls.metrics):22} {','.join(cls.devices):9} {build:44} {search}")
    return 0
