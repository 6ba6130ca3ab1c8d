"""What the screen shows: the core's result objects, taken from the store under its lock.

The readers change the model in place, so widgets never hold model objects: each refresh takes a
``View`` of frozen results. A ``Viewer`` keeps a ``ResultCache``: an attempt whose revision did
not move keeps its summary, and its full result is made only when the screen asks for it (the
selected attempt), so a log of thousands of attempts costs a summary each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reginspect.analyze import ResultCache
from reginspect.model import Attempt
from reginspect.results import AttemptResult, AttemptSummary, RegisterResult, Suggestion
from reginspect.suggest import FixOptions, suggestions_for
from tui.store import SourceStatus, Store


@dataclass(frozen=True, slots=True)
class SourceView:
    """A followed file's state, as the header and the progress bar show it."""

    name: str
    path: str
    status: SourceStatus
    message: str
    lines: int
    size: int
    total: int
    done: int
    epoch: int
    compressed: str | None


@dataclass(frozen=True, slots=True)
class View:
    generation: int
    sources: tuple[SourceView, ...]
    summaries: tuple[AttemptSummary, ...]
    suggestions: tuple[Suggestion, ...]
    suggestion_error: str = ""
    lookup: Callable[[int], AttemptResult | None] | None = None

    @property
    def reading(self) -> bool:
        return any(source.status is SourceStatus.READING for source in self.sources)

    def source(self, name: str) -> SourceView | None:
        return next((source for source in self.sources if source.name == name), None)

    def summary(self, index: int) -> AttemptSummary | None:
        return next((summary for summary in self.summaries if summary.index == index), None)

    def result(self, index: int) -> AttemptResult | None:
        """The full result of one attempt (made now, or kept from before if it did not change)."""
        return None if self.lookup is None else self.lookup(index)

    def covering(self, register: RegisterResult) -> list[Suggestion]:
        return [s for s in self.suggestions if s.covers(register.kvm_id)]


EMPTY_VIEW = View(-1, (), (), ())


class Viewer:
    """Builds Views of one store, reusing what did not change since the last one."""

    def __init__(self, store: Store, options: FixOptions | None = None) -> None:
        self.store = store
        self.options = options or FixOptions()
        self.cache = ResultCache()
        self._suggested: tuple[tuple[tuple[int, int], ...], tuple[Suggestion, ...], str] | None
        self._suggested = None

    def build(self) -> View:
        """Take the store's lock for the time of the copy."""
        store = self.store
        with store.lock:
            attempts = store.session.attempts()
            if store.streams is not None:
                attempts = store.streams.apply(attempts)
            summaries = self.cache.summaries(attempts)
            key = tuple((summary.index, summary.revision) for summary in summaries)
            if self._suggested is None or self._suggested[0] != key:
                try:
                    suggestions = tuple(suggestions_for(summaries, self.options))
                    error = ""
                except Exception as exc:  # the suggestion engine must not take the viewer down
                    suggestions, error = (), f"{type(exc).__name__}: {exc}"
                self._suggested = (key, suggestions, error)
            _, suggestions, error = self._suggested
            sources = tuple(
                SourceView(
                    source.name,
                    source.path,
                    source.status,
                    source.message,
                    source.index.line_count,
                    source.index.size,
                    source.total,
                    source.done,
                    source.epoch,
                    source.compressed,
                )
                for source in store.sources.values()
            )
            generation = store.session.generation

        def lookup(index: int) -> AttemptResult | None:
            return self._result(attempts, index)

        return View(generation, sources, summaries, suggestions, error, lookup)

    def _result(self, attempts: list[Attempt], index: int) -> AttemptResult | None:
        # Summaries are numbered by their place in the list they were made from.
        if not 0 <= index < len(attempts):
            return None
        with self.store.lock:
            return self.cache.result(attempts[index])
