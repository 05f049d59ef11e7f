"""The typer app that the `spacy-xfer` commands register on, and how it reports user errors."""

from typing import Any, Dict, Optional

import click
import typer
from typer.core import TyperGroup

from ..corpora.errors import CorpusFormatError

# What a user's input or setting can cause: a bad name, file, value or option, malformed
# corpus lines (CorpusFormatError), an empty corpus (CorpusContentError), a missing GPU
# (DeviceError), a missing file (OSError). spaCy and thinc raise the same types for them.
USER_ERRORS = (ValueError, OSError)
LENIENT_OPTION = "--lenient"


class XferCommands(TyperGroup):
    """The command group: a user error in any command is printed as one `Error: ...` line
    on stderr with exit code 1, instead of a traceback. Other exceptions (bugs) keep
    their traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as e:
            typer.echo(f"Error: {e}{self._hint(ctx, e)}", err=True)
            raise typer.Exit(1) from e

    def _hint(self, ctx: click.Context, error: Exception) -> str:
        """How the user can go on: malformed lines stop a command that has `--lenient`
        only because it was not given (lenient reading never raises them)."""
        name = ctx.invoked_subcommand
        command = self.get_command(ctx, name) if name else None
        options = [opt for param in command.params for opt in param.opts] if command else []
        if isinstance(error, CorpusFormatError) and LENIENT_OPTION in options:
            return f"\n({LENIENT_OPTION} repairs or skips such lines and counts them)"
        return ""


app = typer.Typer(
    name="spacy-xfer",
    help="spacy-xfer: transfer learning for sequence tagging (Yang et al., ICLR 2017).",
    no_args_is_help=True,
    add_completion=False,
    cls=XferCommands,
)


def lenient_summary(problems: Dict[str, Any]) -> Optional[str]:
    """The line that says what lenient reading touched (the `problems` of a statistics
    file), or None if it touched nothing."""
    if not problems["touched_lines"]:
        return None
    return (
        f"lenient: {problems['repaired_lines']} lines repaired, {problems['skipped_lines']} skipped, "
        f"{problems['skipped_sentences']} sentences left out"
    )
