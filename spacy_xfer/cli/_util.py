"""The typer app that the `spacy-xfer` commands register on."""

import typer

app = typer.Typer(
    name="spacy-xfer",
    help="spacy-xfer: transfer learning for sequence tagging (Yang et al., ICLR 2017).",
    no_args_is_help=True,
    add_completion=False,
)
