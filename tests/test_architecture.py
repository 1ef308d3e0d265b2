"""The package's layering holds by test: the import-linter contracts in pyproject.toml pass, and no import cycle."""

from __future__ import annotations

import grimp
from importlinter.cli import lint_imports

from .helpers import REPO


def test_import_contracts_are_kept(capsys):
    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out[-4000:]


def test_no_import_cycle_inside_the_package():
    """Every import counts (module level, inside functions, under TYPE_CHECKING), except a module's import of its own
    parent package (``from . import LabelledData`` in ``ganaug.data.folder``): Python runs a package's ``__init__``
    before its modules, so that edge cannot leave a module half imported."""
    graph = grimp.build_graph("ganaug", cache_dir=None)
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module.startswith(imported + "."):
                graph.remove_import(importer=module, imported=imported)
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:  # module -> imported -> ... -> module
                cycles.append(" -> ".join((module, *back)))
    assert cycles == []
