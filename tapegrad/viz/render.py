"""Rendering DOT source to images with whichever Graphviz engine is installed.

The system ``dot`` comes first; without it the pip-installable ``graphviz-pure`` (a port of dot
with wheels for every platform) renders PNG and SVG, so images work right after
``pip install tapegrad[viz]``. The graphviz Python package is imported only here and only
when a graph is built, so ``import tapegrad`` never needs it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

ENGINES = ("dot", "graphviz-pure")
FORMATS = {
    "dot": ("png", "svg", "pdf", "jpg", "jpeg", "gif"),
    "graphviz-pure": ("png", "svg", "jpg", "jpeg"),
}
_INSTALL = (
    "install one of: the system Graphviz (`apt-get install graphviz`, `brew install graphviz` "
    "or `conda install graphviz`), or the pip engine (`pip install graphviz-pure`). Saving "
    "the source works without either: tg.viz.save(graph, 'graph.dot')"
)


class EngineNotFound(RuntimeError):
    """No Graphviz engine to render with; the message says what to install."""


def find_engine(engine: str | None = None) -> tuple[str, str]:
    """``(name, executable)`` of the engine to use: ``engine`` if given, else the first found."""
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"unknown Graphviz engine {engine!r}; expected one of {ENGINES}")
    for name in ENGINES if engine is None else (engine,):
        path = _executable(name)
        if path is not None:
            return name, path
    if engine == "graphviz-pure":
        raise EngineNotFound("the graphviz-pure engine is not installed: pip install graphviz-pure")
    if engine == "dot":
        raise EngineNotFound(
            "the system Graphviz `dot` is not on PATH: apt-get install graphviz "
            "(brew install graphviz, conda install graphviz)"
        )
    raise EngineNotFound(
        f"rendering a graph needs a Graphviz engine and none was found: {_INSTALL}"
    )


def _executable(name: str) -> str | None:
    # A pip-installed graphviz-pure sits next to this interpreter even when its bin directory
    # is not on PATH (a venv used without activating it); look there first.
    here = os.path.join(os.path.dirname(sys.executable), name)
    for candidate in (here, here + ".exe"):
        if name != "dot" and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name)


def render_source(source: str, fmt: str, engine: str | None = None) -> bytes:
    """Lay out DOT ``source`` and return the image bytes in format ``fmt`` (png, svg, ...)."""
    name, path = find_engine(engine)
    if fmt not in FORMATS[name]:
        hint = " (install the system Graphviz for it)" if name == "graphviz-pure" else ""
        raise ValueError(
            f"the {name} engine cannot write {fmt!r}{hint}; it writes {', '.join(FORMATS[name])}"
        )
    result = subprocess.run(
        [path, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(
            f"{name} failed to render the graph (exit {result.returncode}): {message}"
        )
    return result.stdout


@functools.cache
def graph_class() -> type:
    """The Digraph subclass draw() returns: graphviz's, rendering through ``render_source``."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "tg.viz graphs need the graphviz Python package: pip install 'tapegrad[viz]' "
            "(or pip install graphviz)"
        ) from None

    class TapeGraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` that renders with the system dot or graphviz-pure."""

        def pipe(
            self,
            format=None,
            renderer=None,
            formatter=None,
            neato_no_op=None,
            quiet=False,
            *,
            engine=None,
            encoding=None,
        ):
            """Return the rendered image (bytes, or str with ``encoding``), as graphviz's."""
            if renderer or formatter or neato_no_op or (engine and engine != "dot"):
                return super().pipe(
                    format=format,
                    renderer=renderer,
                    formatter=formatter,
                    neato_no_op=neato_no_op,
                    quiet=quiet,
                    engine=engine,
                    encoding=encoding,
                )
            data = render_source(self.source, format or self.format)
            return data if encoding is None else data.decode(encoding)

        def render(
            self,
            filename=None,
            directory=None,
            view=False,
            cleanup=False,
            format=None,
            *,
            outfile=None,
            **kwargs,
        ):
            """Save the source and render it next to it (or to ``outfile``); return the path."""
            if view or kwargs:
                return super().render(
                    filename=filename,
                    directory=directory,
                    view=view,
                    cleanup=cleanup,
                    format=format,
                    outfile=outfile,
                    **kwargs,
                )
            if outfile is not None:
                outfile = os.fspath(outfile)
                format = format or os.path.splitext(outfile)[1].lstrip(".").lower()
                if filename is None:
                    filename = os.path.splitext(os.path.basename(outfile))[0] + ".gv"
                if directory is None:
                    directory = os.path.dirname(outfile) or None
            source_path = self.save(filename=filename, directory=directory)
            target = outfile if outfile is not None else f"{source_path}.{format or self.format}"
            data = render_source(self.source, format or self.format)
            with open(target, "wb") as f:
                f.write(data)
            if cleanup:
                os.remove(source_path)
            return target

        def _repr_svg_(self) -> str:
            return self.pipe(format="svg", encoding="utf-8")

    return TapeGraph
