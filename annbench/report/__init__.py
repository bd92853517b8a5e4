"""``annbench report``: a static, offline HTML report rendered from stored results only.

Data flows one way: load (records, manifests) -> sections (pareto, recommend,
chart specs) -> charts (image files) and page (HTML). Entry point:
:func:`annbench.report.build.build_report`.
"""
