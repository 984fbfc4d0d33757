"""A YAML document together with its node tree, so any field path has a line and column.

PyYAML's composed nodes keep start marks; pydantic and the semantic checks
report field paths. `Source.locate` maps one onto the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vendor_sdk.target.errors import Diagnostic, TargetError

Loc = Sequence[str | int]


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(document)"


@dataclass(frozen=True)
class Source:
    file: str
    text: str
    root: Node
    data: Any
    problems: tuple[Diagnostic, ...] = ()  # YAML-level mistakes that did not stop parsing

    def diag(self, loc: Loc, message: str, hint: str = "", key: bool = False,
             offset: int | None = None) -> Diagnostic:
        """A diagnostic at field `loc`: at its key if `key`, else at its value;
        `offset` is a 1-based column inside a scalar value (an expression)."""
        key_node, value_node = self.locate(loc)
        node = key_node if key and key_node is not None else value_node
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if offset is not None and isinstance(node, ScalarNode):
            line, col = self._inside(node, offset)
        return Diagnostic(self.file, line, col, dotted(loc), message, hint)

    def locate(self, loc: Loc) -> tuple[Node | None, Node]:
        """(key node, value node) of the deepest part of loc that exists.

        Parts that do not name a key or index (pydantic's union tags, a field
        that is missing) are skipped, so a missing field points at its parent.
        """
        key: Node | None = None
        node = self.root
        for part in loc:
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    if isinstance(k, ScalarNode) and k.value == str(part):
                        key, node = k, v
                        break
            elif isinstance(node, SequenceNode) and isinstance(part, int) \
                    and 0 <= part < len(node.value):
                key, node = None, node.value[part]
        return key, node

    def _inside(self, node: ScalarNode, offset: int) -> tuple[int, int]:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        quote = 1 if node.style in ('"', "'") else 0
        start = node.start_mark.index + quote
        if node.style in (None, '"', "'") and \
                self.text[start:start + len(node.value)] == node.value:
            return line, col + quote + offset - 1
        if node.style in ("|", ">") and "\n" not in node.value.rstrip("\n"):
            lines = self.text.splitlines()
            body = lines[line] if line < len(lines) else ""
            return line + 1, len(body) - len(body.lstrip()) + offset
        return line, col  # escapes or folding: the scalar's start is the best we know


def _duplicates(file: str, node: Node, path: tuple[str | int, ...]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            name = str(k.value) if isinstance(k, ScalarNode) else "?"
            if name in seen:
                out.append(Diagnostic(file, k.start_mark.line + 1, k.start_mark.column + 1,
                                      dotted((*path, name)), f"duplicate key {name!r}",
                                      "YAML keeps only the last one; merge or rename them"))
            seen.add(name)
            out += _duplicates(file, v, (*path, name))
    elif isinstance(node, SequenceNode):
        for i, v in enumerate(node.value):
            out += _duplicates(file, v, (*path, i))
    return out


# Budgets for an untrusted document (docs/target_yaml.md, "Limits"). The reference
# target is 14 KB, nests 7 deep and has 1,395 nodes; these leave a vendor's target
# plenty of room while an alias bomb or a 20,000-deep list fails in milliseconds.
MAX_BYTES = 4 << 20
MAX_DEPTH = 64
MAX_NODES = 500_000  # after alias expansion: what pydantic and the checks walk


def _error(file: str, mark: Any, message: str, hint: str) -> TargetError:
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return TargetError([Diagnostic(file, line, col, "(document)", message, hint)])


def _check_nesting(file: str, text: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH before composing it: PyYAML's parser
    is iterative, its composer and constructor recurse (a RecursionError otherwise)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _error(file, event.start_mark, f"nested more than {MAX_DEPTH} deep",
                             "a target.yaml needs a few levels; flatten this value")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for kv in node.value for n in kv]
    return list(node.value) if isinstance(node, SequenceNode) else []


def _check_expansion(file: str, root: Node) -> None:
    """Refuse aliases that expand past MAX_NODES or MAX_DEPTH (a "billion laughs"
    document is a few lines whose expansion never ends) or that contain themselves.

    Sizes are counted over the shared node graph, each node once, iteratively."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            continue
        if key in size:
            continue
        entered.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in entered and id(kid) not in size:
                raise _error(file, kid.start_mark, "an alias refers to a value that "
                             "contains it (an endless structure)",
                             "anchor (&) a complete value and alias (*) it elsewhere")
            stack.append((kid, False))
    if size[id(root)] <= MAX_NODES and depth[id(root)] <= MAX_DEPTH:
        return
    node = root  # report the smallest value that is over budget: where the aliases pile up
    while True:
        over = [k for k in _children(node)
                if size[id(k)] > MAX_NODES or depth[id(k)] > MAX_DEPTH]
        if not over:
            break
        node = over[0]
    raise _error(file, node.start_mark, f"aliases expand this value to {size[id(node)]:,} "
                 f"nodes, {depth[id(node)]} deep (limits: {MAX_NODES:,} nodes, "
                 f"{MAX_DEPTH} deep)", "write the values out, or alias less")


def read_source(file: str, text: str) -> Source:
    """Compose and construct the document; raises TargetError for YAML-level mistakes and
    for documents over the size, nesting or alias-expansion budgets."""
    if len(text) > MAX_BYTES:
        raise TargetError([Diagnostic(file, 1, 1, "(document)",
                                      f"{len(text):,} characters; the limit is {MAX_BYTES:,}",
                                      "is this the target.yaml? it should be a few KB")])
    try:
        _check_nesting(file, text)
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_expansion(file, root)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(p for p in (e.context, e.problem) if p) or "invalid YAML"
        raise TargetError([Diagnostic(file, line, col, "(syntax)", message,
                                      "check indentation, colons and quotes")]) from None
    except yaml.YAMLError as e:
        raise TargetError([Diagnostic(file, 1, 1, "(syntax)", str(e))]) from None
    if root is None:
        raise TargetError([Diagnostic(file, 1, 1, "(document)", "the file is empty",
                                      "start with `schema_version: 1`")])
    return Source(file, text, root, data, tuple(_duplicates(file, root, ())))
