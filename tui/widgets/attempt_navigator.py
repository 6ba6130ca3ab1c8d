"""The attempts and their CPUs, as a tree; moving the cursor selects what the other panes show."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from parsers.logevents import Status
from reginspect.model import Naming, Outcome
from tui.viewmodel import AttemptView, View

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
    """Rebuilt only when the shape changes (attempts or CPUs added); labels update in place."""

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
        shape = tuple((a.index, tuple(cpu.instance for cpu in a.cpus)) for a in view.attempts)
        if shape != self._shape:
            self._rebuild(view, shape)
        else:
            for node in self._walk():
                if node.data is not None:
                    label = self._label(view, node.data)
                    if label != node.label:
                        node.set_label(label)

    def _walk(self) -> list[TreeNode[Target]]:
        nodes: list[TreeNode[Target]] = []
        for child in self.root.children:
            nodes.append(child)
            nodes.extend(child.children)
        return nodes

    def _rebuild(self, view: View, shape: tuple[tuple[int, tuple[int, ...]], ...]) -> None:
        previous = self.target
        self.clear()
        wanted: TreeNode[Target] | None = None
        for attempt in view.attempts:
            node = self.root.add(
                self._label(view, Target(attempt.index, None)),
                data=Target(attempt.index, None),
                expand=True,
            )
            if previous is not None and previous == Target(attempt.index, None):
                wanted = node
            if len(attempt.cpus) > 1:
                for cpu in attempt.cpus:
                    target = Target(attempt.index, cpu.instance)
                    child = node.add_leaf(self._label(view, target), data=target)
                    if previous == target:
                        wanted = child
        if self._follow_latest or wanted is None:
            nodes = self.root.children
            wanted = nodes[-1] if nodes else None
        self._shape = shape
        if wanted is not None:
            # By line: a node added just now has no line until the tree is laid out again.
            self.move_cursor_to_line(self._walk().index(wanted))
        self._announce(None if wanted is None else wanted.data)

    def _announce(self, target: Target | None) -> None:
        if target != self._announced:
            self._announced = target
            self.post_message(self.Selected(target))

    def _label(self, view: View, target: Target) -> Text:
        attempt = next((a for a in view.attempts if a.index == target.attempt), None)
        if attempt is None:
            return Text("?")
        if target.cpu is None:
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"#{attempt.index} ")
            label.append(
                attempt.outcome.upper(),
                self.get_component_rich_style(OUTCOME_CLASS[attempt.outcome]),
            )
            label.append(f" {_summary(attempt, None)}")
            return label
        return Text(f"cpu {target.cpu} {_summary(attempt, target.cpu)}", no_wrap=True)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Target]) -> None:
        event.stop()
        if event.node is not self.cursor_node:
            return  # stale: the tree was rebuilt since
        nodes = self.root.children
        self._follow_latest = bool(nodes) and event.node is nodes[-1]
        self._announce(event.node.data)


def _summary(attempt: AttemptView, cpu: int | None) -> str:
    if attempt.naming is Naming.COUNTS:
        cpus = [c for c in attempt.cpus if cpu is None or c.instance == cpu]
        counted = next((c for c in cpus if c.stream_count is not None), None)
        if counted is None:
            return "no names"
        return f"{counted.stream_count}/{counted.destination_count} regs"
    extra = attempt.count(Status.EXTRA, cpu)
    missing = attempt.count(Status.MISSING, cpu)
    parts = []
    if extra:
        parts.append(f"{extra} extra")
    if missing:
        parts.append(f"{missing} missing")
    return ", ".join(parts) if parts else "no difference"
