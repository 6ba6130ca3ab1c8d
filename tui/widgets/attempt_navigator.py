"""The attempts and their CPUs, as a tree; moving the cursor selects what the other panes show."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from parsers.logevents import Status
from reginspect.model import Naming
from reginspect.results import AttemptSummary, Outcome
from tui.view import View

OUTCOME_CLASS = {
    Outcome.FAILED: "attempt-navigator--failed",
    Outcome.SUCCEEDED: "attempt-navigator--succeeded",
    Outcome.IN_PROGRESS: "attempt-navigator--in-progress",
    Outcome.UNKNOWN: "attempt-navigator--unknown",
}


@dataclass(frozen=True, slots=True)
class Target:
    attempt: int
    cpu: int | None  # None: the attempt as a whole


class AttemptNavigator(Tree[Target]):
    """Attempts and CPUs added at the end are added to the tree; a label is made again only for
    an attempt whose view changed."""

    COMPONENT_CLASSES = Tree.COMPONENT_CLASSES | set(OUTCOME_CLASS.values())

    class Selected(Message):
        def __init__(self, target: Target | None) -> None:
            super().__init__()
            self.target = target

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("attempts"), id=id)
        self.show_root = False
        self.guide_depth = 2
        self._shape: tuple[tuple[int, tuple[int, ...]], ...] = ()
        # Per attempt node: the view and the theme its labels were made from.
        self._labelled: list[tuple[AttemptSummary, str]] = []
        self._follow_latest = True  # until the user moves, the newest attempt is selected
        self._announced: Target | None = None

    @property
    def selected(self) -> Target | None:
        """What the other panes should show (announced, or about to be)."""
        return self._announced

    @property
    def target(self) -> Target | None:
        node = self.cursor_node
        return None if node is None else node.data

    def show(self, view: View) -> None:
        shape = tuple((a.index, tuple(cpu.instance for cpu in a.cpus)) for a in view.summaries)
        if shape != self._shape:
            self._reshape(view, shape)
        theme = self.app.theme
        nodes = self.root.children
        for position, (node, attempt) in enumerate(zip(nodes, view.summaries, strict=True)):
            labelled, labelled_theme = self._labelled[position]
            if labelled is attempt and labelled_theme == theme:
                continue
            self._labelled[position] = (attempt, theme)
            self._relabel(node, self._label(attempt, None))
            if len(attempt.cpus) > 1:
                for child, cpu in zip(node.children, attempt.cpus, strict=True):
                    self._relabel(child, self._label(attempt, cpu.instance))

    @staticmethod
    def _relabel(node: TreeNode[Target], label: Text) -> None:
        if label != node.label:
            node.set_label(label)

    def _walk(self) -> list[TreeNode[Target]]:
        nodes: list[TreeNode[Target]] = []
        for child in self.root.children:
            nodes.append(child)
            nodes.extend(child.children)
        return nodes

    def _reshape(self, view: View, shape: tuple[tuple[int, tuple[int, ...]], ...]) -> None:
        """Keep the nodes of the attempts whose place and CPUs did not change, make the rest."""
        previous = self.target
        kept = 0
        for old, new in zip(self._shape, shape, strict=False):
            if old != new:
                break
            kept += 1
        if kept:
            for node in list(self.root.children)[kept:]:
                node.remove()
        else:
            self.clear()
        del self._labelled[kept:]
        for attempt in view.summaries[kept:]:
            node = self.root.add(
                self._label(attempt, None), data=Target(attempt.index, None), expand=True
            )
            if len(attempt.cpus) > 1:
                for cpu in attempt.cpus:
                    target = Target(attempt.index, cpu.instance)
                    node.add_leaf(self._label(attempt, cpu.instance), data=target)
            self._labelled.append((attempt, self.app.theme))
        self._shape = shape
        nodes = self._walk()
        wanted = next((node for node in nodes if node.data == previous), None)
        if self._follow_latest or wanted is None:
            attempts = self.root.children
            wanted = attempts[-1] if attempts else None
        if wanted is not None:
            # By line: a node added just now has no line until the tree is laid out again.
            self.move_cursor_to_line(nodes.index(wanted))
        self._announce(None if wanted is None else wanted.data)

    def _announce(self, target: Target | None) -> None:
        if target != self._announced:
            self._announced = target
            self.post_message(self.Selected(target))

    def _label(self, attempt: AttemptSummary, cpu: int | None) -> Text:
        if cpu is None:
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"#{attempt.index} ")
            label.append(
                attempt.outcome.upper(),
                self.get_component_rich_style(OUTCOME_CLASS[attempt.outcome]),
            )
            label.append(f" {_summary(attempt, None)}")
            return label
        return Text(f"cpu {cpu} {_summary(attempt, cpu)}", no_wrap=True)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Target]) -> None:
        event.stop()
        if event.node is not self.cursor_node:
            return  # stale: the tree was rebuilt since
        nodes = self.root.children
        self._follow_latest = bool(nodes) and event.node is nodes[-1]
        self._announce(event.node.data)


def _summary(attempt: AttemptSummary, cpu: int | None) -> str:
    cpus = [c for c in attempt.cpus if cpu is None or c.instance == cpu]
    if attempt.naming is Naming.COUNTS:
        counted = next((c for c in cpus if c.stream_count is not None), None)
        if counted is None:
            return "no names"
        return f"{counted.stream_count}/{counted.destination_count} regs"
    if cpu is None:
        extra, missing = attempt.count(Status.EXTRA), attempt.count(Status.MISSING)
    else:
        extra = sum(c.count(Status.EXTRA) for c in cpus)
        missing = sum(c.count(Status.MISSING) for c in cpus)
    parts = []
    if extra:
        parts.append(f"{extra} extra")
    if missing:
        parts.append(f"{missing} missing")
    return ", ".join(parts) if parts else "no difference"
