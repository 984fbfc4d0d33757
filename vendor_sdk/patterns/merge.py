"""Merge neighbouring composites of one target into regions, never forming a cycle.

Units (composites and host bindings) arrive in a topological order. Each
offloadable unit may join the region of one of its predecessors (and merge
several such regions) only when no path leaves that region and comes back
through a node outside it. We keep, per unit, ``anc[u]``: the regions holding
an ancestor of u (or u itself), and per region ``ext[R]``: the regions that
reach R through some node outside R. Then

* u may join R iff no predecessor p of u outside R has R in anc[p];
* R and R2 may merge (through u) iff neither is in the other's ext and no
  predecessor of u outside both reaches either.

Every region member precedes u, so no path from u can re-enter R: the check
is complete, and regions stay convex by induction. Sets are shared between a
unit and its single predecessor, so chains and parallel chains cost O(1) per
unit. A region none of whose members still has an unprocessed reader is
*closed*: no later unit can join or merge it, so whenever a set is rebuilt its
closed regions are dropped. That keeps the sets as small as the open frontier:
an alternating NPU/host chain, or one host chain that many regions feed, stays
linear (a set that only ever grows would make both quadratic). What remains
super-linear is a frontier of many regions that all stay open for long.
Region ids are joined with union-find; the sets hold ids as they were, so a
membership test canonicalises them (only once any merge has happened); a
rebuilt set holds canonical ids again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_EMPTY: frozenset[int] = frozenset()


class _Regions:
    def __init__(self) -> None:
        self.parent: list[int] = []
        self.target: list[str] = []
        self.ext: list[frozenset[int]] = []
        self.open: list[int] = []  # members with readers still to come (per root)
        self.merged = False

    def new(self, target: str) -> int:
        r = len(self.parent)
        self.parent.append(r)
        self.target.append(target)
        self.ext.append(_EMPTY)
        self.open.append(0)
        return r

    def rebuilt(self, ids: Iterable[int]) -> frozenset[int]:
        """The open regions among ``ids``, as canonical ids."""
        find, open_ = self.find, self.open
        return frozenset(r for r in map(find, ids) if open_[r] > 0)

    def find(self, r: int) -> int:
        parent = self.parent
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    def holds(self, regions: frozenset[int], r: int) -> bool:
        """Whether the (possibly stale) id set names region r."""
        if r in regions:
            return True
        return self.merged and any(self.find(x) == r for x in regions)

    def union(self, a: int, b: int) -> int:
        self.parent[b] = a
        self.ext[a] = self.rebuilt(self.ext[a] | self.ext[b])
        self.open[a] += self.open[b]
        self.merged = True
        return a


def merge_regions(preds: Sequence[Sequence[int]], targets: Sequence[str | None]) -> list[int]:
    """Region id (dense, from 0) per unit, or -1 for host units.

    ``preds[u]`` lists the units whose values u reads (all earlier than u);
    ``targets[u]`` is the target of an offloadable unit or None.
    """
    n = len(preds)
    regions = _Regions()
    region = [-1] * n
    anc: list[frozenset[int]] = [_EMPTY] * n
    readers = [0] * n  # readers of each unit not yet processed
    for ps in preds:
        for p in ps:
            readers[p] += 1
    find = regions.find
    for u in range(n):
        ps = preds[u]
        t = targets[u]
        chosen = -1
        if t is not None:
            cands: list[int] = []
            for p in ps:
                r = region[p]
                if r >= 0:
                    r = find(r)
                    if regions.target[r] == t and r not in cands:
                        cands.append(r)
            for r in cands:
                if _may_join(regions, r, ps, region, anc):
                    chosen = r
                    break
            if chosen < 0:
                chosen = regions.new(t)
            else:
                for r2 in cands:
                    if r2 == chosen or find(r2) == chosen or find(r2) != r2:
                        continue
                    if _may_merge(regions, chosen, r2, ps, region, anc):
                        chosen = regions.union(chosen, r2)
            region[u] = chosen
            if readers[u]:
                regions.open[chosen] += 1
            ext = regions.ext[chosen]
            outside = [anc[p] for p in ps if (region[p] < 0 or find(region[p]) != chosen)
                       and not anc[p] <= ext]
            if outside:
                regions.ext[chosen] = regions.rebuilt(ext.union(*outside))
        anc[u] = _ancestors(regions, ps, anc, chosen)
        for p in ps:  # u has read p: p's region may close
            readers[p] -= 1
            if readers[p] == 0 and region[p] >= 0:
                regions.open[find(region[p])] -= 1
    dense: dict[int, int] = {}
    out = [-1] * n
    for u in range(n):
        if region[u] >= 0:
            out[u] = dense.setdefault(find(region[u]), len(dense))
    return out


def _ancestors(regions: _Regions, ps: Sequence[int], anc: list[frozenset[int]],
               chosen: int) -> frozenset[int]:
    """anc of a unit: its predecessors' sets plus its own region; shared when unchanged."""
    if not ps:
        return frozenset((chosen,)) if chosen >= 0 else _EMPTY
    a = anc[ps[0]]
    if len(ps) > 1:
        sets = sorted({id(anc[p]): anc[p] for p in ps}.values(), key=len, reverse=True)
        a = sets[0]
        extra = [s for s in sets[1:] if not s <= a]
        if extra:
            return regions.rebuilt(a.union(*extra, (chosen,) if chosen >= 0 else ()))
    if chosen < 0 or chosen in a:
        return a
    return regions.rebuilt(a) | {chosen}


def _may_join(regions: _Regions, r: int, ps: Sequence[int], region: list[int],
              anc: list[frozenset[int]]) -> bool:
    for p in ps:
        if region[p] >= 0 and regions.find(region[p]) == r:
            continue
        if regions.holds(anc[p], r):
            return False
    return True


def _may_merge(regions: _Regions, r1: int, r2: int, ps: Sequence[int], region: list[int],
               anc: list[frozenset[int]]) -> bool:
    if regions.holds(regions.ext[r2], r1) or regions.holds(regions.ext[r1], r2):
        return False
    for p in ps:
        rp = regions.find(region[p]) if region[p] >= 0 else -1
        if rp in (r1, r2):
            continue
        if regions.holds(anc[p], r1) or regions.holds(anc[p], r2):
            return False
    return True
