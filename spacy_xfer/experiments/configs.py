"""The shipped configs, rendered from one template.

Every `configs/NAME.cfg` of the repo is `template.cfg.jinja` (beside this module, so
it ships in the wheel) rendered for an architecture (`single`, `t_a`, `t_b`, `t_c`) and
an encoder (`gru`, `trf`), as spaCy's `init config` renders its quickstart template. A
template rather than a base config that the others extend: spaCy configs have no
include, and a merged base would lose the comments that explain each setting; the
rendered files stay complete configs that `python -m spacy train` reads as they are.
Within a file, interpolation does the rest (a listener's `width` reads its encoder's
`output_width`).

    python -m spacy_xfer render-configs           # write configs/*.cfg
    python -m spacy_xfer render-configs --check   # exit 1 if one differs
    python -m spacy_xfer init-config t_b.cfg --arch t_b   # one config, from an installed package
"""

from pathlib import Path
from typing import Dict, Optional, Tuple

import jinja2

from ..errors import Errors

TEMPLATE = Path(__file__).parent / "template.cfg.jinja"

# config name -> (arch, encoder) the template is rendered with
SHIPPED: Dict[str, Tuple[str, str]] = {
    "single": ("single", "gru"),
    "t_a": ("t_a", "gru"),
    "t_b": ("t_b", "gru"),
    "t_c": ("t_c", "gru"),
    "single_trf": ("single", "trf"),
    "t_a_trf": ("t_a", "trf"),
    "t_b_trf": ("t_b", "trf"),
}
ARCHS = tuple(dict.fromkeys(arch for arch, _ in SHIPPED.values()))
ENCODERS = tuple(dict.fromkeys(encoder for _, encoder in SHIPPED.values()))


def render_config(name: str, path: Optional[str] = None) -> str:
    """The text of the shipped config NAME (the repo's `configs/NAME.cfg`) as the
    template renders it.

    name (str): A key of SHIPPED, e.g. "t_b".
    path (Optional[str]): The config's path in its own usage comment (the command that
        trains it); default `configs/NAME.cfg`, as in the repo.
    RETURNS (str): The config text, ending in a newline.
    RAISES (KeyError): For a name not in SHIPPED.
    """
    arch, encoder = SHIPPED[name]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE.name).render(arch=arch, encoder=encoder, path=path or f"configs/{name}.cfg")


def config_name(arch: str, encoder: str) -> str:
    """The shipped config of an architecture and an encoder, e.g. ("t_b", "trf") ->
    "t_b_trf".

    RAISES (ValueError): E039 for an unknown architecture or encoder; E089 for a
        combination not shipped (T-C shares only the char layers, which a transformer
        encoder does not have, so there is no `t_c_trf`).
    """
    for name, shipped in SHIPPED.items():
        if shipped == (arch, encoder):
            return name
    for kind, value, known in (("architecture", arch, ARCHS), ("encoder", encoder, ENCODERS)):
        if value not in known:
            raise ValueError(Errors.E039.format(kind=kind, value=value, choices=", ".join(known)))
    choices = ", ".join(f"--arch {a} --encoder {e}" for a, e in SHIPPED.values())
    raise ValueError(Errors.E089.format(arch=arch, encoder=encoder, choices=choices))


def stale_configs(configs_dir: Path) -> Dict[str, str]:
    """The shipped configs whose file differs from the rendering: name -> rendered text
    (a missing file counts as differing)."""
    stale = {}
    for name in SHIPPED:
        path = configs_dir / f"{name}.cfg"
        text = render_config(name)
        if not path.exists() or path.read_text(encoding="utf8") != text:
            stale[name] = text
    return stale
