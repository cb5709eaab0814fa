"""Message catalogues: zh (default) and en, one TOML file per domain under locales/<lang>/.

Keys are dotted (`nav.pilots`); nested TOML tables are flattened. A missing key falls back
to zh, then to the key itself (tests prove both catalogues have the same keys).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from portal import PACKAGE_DIR

LOCALES_DIR = PACKAGE_DIR / "locales"
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


def load_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), out)
    return out


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.toml")):
        out.update(load_file(path))
    return out


def translate(lang: str, key: str, **params: object) -> str:
    text = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def label(lang: str, zh: str, en: str) -> str:
    """Pick the language variant of bilingual seed text."""
    return en if lang == "en" and en else zh
