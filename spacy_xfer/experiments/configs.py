"""The shipped configs, rendered from one template.

Every `configs/NAME.cfg` is `configs/template.cfg.jinja` rendered for an architecture
(`single`, `t_a`, `t_b`, `t_c`) and an encoder (`gru`, `trf`), as spaCy's
`init config` renders its quickstart template. A template rather than a base config
that the others extend: spaCy configs have no include, and a merged base would lose
the comments that explain each setting; the rendered files stay complete configs that
`python -m spacy train` reads as they are. Within a file, interpolation does the rest
(a listener's `width` reads its encoder's `output_width`).

    python -m spacy_xfer render-configs           # write configs/*.cfg
    python -m spacy_xfer render-configs --check   # exit 1 if one differs
"""

from pathlib import Path
from typing import Dict, Tuple

import jinja2

TEMPLATE = "template.cfg.jinja"

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


def render_config(configs_dir: Path, name: str) -> str:
    """The text of `configs_dir/NAME.cfg` as the template renders it.

    configs_dir (Path): The folder of the template (the repo's `configs/`).
    name (str): A key of SHIPPED, e.g. "t_b".
    RETURNS (str): The config text, ending in a newline.
    RAISES (KeyError): For a name not in SHIPPED.
    """
    arch, encoder = SHIPPED[name]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(configs_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE).render(arch=arch, encoder=encoder)


def stale_configs(configs_dir: Path) -> Dict[str, str]:
    """The shipped configs whose file differs from the rendering: name -> rendered text
    (a missing file counts as differing)."""
    stale = {}
    for name in SHIPPED:
        path = configs_dir / f"{name}.cfg"
        text = render_config(configs_dir, name)
        if not path.exists() or path.read_text(encoding="utf8") != text:
            stale[name] = text
    return stale
