"""The one base class of every stage error: where the mistake is, why, and the fix.

It lives in `core` (the generic compiler, which imports nothing from the SDK layer
above it) so that core's stage errors and the SDK's share it; `vendor_sdk.errors`
re-exports it with the CLI's reading of any exception.
"""

from __future__ import annotations


class VendorSdkError(Exception):
    """A located mistake in the user's input (a model, a target.yaml, an option).

    Raised either the old way, with one message that already says where and why
    (``FrontendError("node Conv_3: ...")``), or with the parts
    (``VendorSdkError("is a file", where="-o build", hint="-o names a directory")``);
    ``str()`` is ``"where: why"`` in both cases and never holds the hint.
    """

    where: str = ""  # a file:line:col, a node, a layer, an option; "" when why says it
    hint: str = ""   # the fix, when there is one to suggest

    def __init__(self, *args: object, where: str = "", hint: str = "") -> None:
        super().__init__(*((f"{where}: {args[0]}", *args[1:]) if where and args else args))
        if where:
            self.where = where
        if hint:
            self.hint = hint

    @property
    def why(self) -> str:
        """What is wrong, without the where (the whole message for old-style errors)."""
        return self.located()[0][1]

    def located(self) -> tuple[tuple[str, str, str], ...]:
        """(where, why, hint) of each mistake; one unless the error gathers several
        (a target.yaml's diagnostics are reported together)."""
        text = str(self)
        # a subclass may name where apart from a message that does not start with it
        where = self.where if text.startswith(f"{self.where}: ") else ""
        return ((where, text.removeprefix(f"{where}: ") if where else text, self.hint),)
