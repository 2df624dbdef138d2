"""A fake CommandRunner that replays an ordered script of expected commands."""
from __future__ import annotations

import typing as t

from ansible_collections.netdevops.icmp.plugins.module_utils._runner import (
    CommandError,
    CommandResult,
)


class FakeRunner:
    """Replays ``script``: a list of ``(argv, rc, stdout, stderr)`` in the expected order.

    Each call must match the next entry's argv exactly; ``calls`` records
    ``(argv, stdin)`` for assertions. A command that is not expected fails the test.
    """

    def __init__(self, script: t.Sequence[t.Tuple[t.Sequence[str], int, str, str]] = ()) -> None:
        self.script = [(tuple(a), rc, out, err) for a, rc, out, err in script]
        self.calls: t.List[t.Tuple[t.Tuple[str, ...], t.Optional[str]]] = []

    def run(
        self,
        argv: t.Sequence[str],
        stdin: t.Optional[str] = None,
        check: bool = True,
    ) -> CommandResult:
        argv = tuple(argv)
        self.calls.append((argv, stdin))
        if not self.script:
            raise AssertionError("unexpected command %r (script exhausted)" % (argv,))
        want, rc, out, err = self.script.pop(0)
        if want != argv:
            raise AssertionError("expected command %r, got %r" % (want, argv))
        result = CommandResult(argv, rc, out, err)
        if check and rc != 0:
            raise CommandError(result)
        return result

    def assert_done(self) -> None:
        assert not self.script, "commands never run: %r" % (self.script,)
