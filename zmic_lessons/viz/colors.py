"""Fixed label colours: the same structure has the same colour on every page and chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: Colour per canonical class name (hex RGB). Background is always transparent.
CLASS_COLORS: dict[str, str] = {
    "lv": "#e6194b",  # left-ventricular blood pool: red
    "myo": "#3cb44b",  # (LV) myocardium: green
    "rv": "#4363d8",  # right ventricle: blue
    "scar": "#ffe119",  # infarct / LGE scar: yellow
    "edema": "#f58231",  # oedema: orange
    "la": "#911eb4",  # left atrium: purple
    "la wall": "#f032e6",  # left-atrial wall: magenta
    "ra": "#9a6324",  # right atrium: brown
    "aorta": "#fabed4",  # pink
    "pa": "#42d4f4",  # pulmonary artery: cyan
    "pv": "#469990",  # pulmonary veins: teal
    "fat": "#bfef45",  # lime
    "lung": "#a9a9a9",  # grey
    "body": "#dcbeff",  # lavender
}

#: Other spellings of the canonical names (compared lower-case, with '_' and '-' as spaces).
ALIASES: dict[str, str] = {
    "lv blood pool": "lv",
    "lv cavity": "lv",
    "lvbp": "lv",
    "blood pool": "lv",
    "left ventricle": "lv",
    "myocardium": "myo",
    "lv myocardium": "myo",
    "lv myo": "myo",
    "myocardial wall": "myo",
    "right ventricle": "rv",
    "rv blood pool": "rv",
    "infarct": "scar",
    "infarction": "scar",
    "lge scar": "scar",
    "oedema": "edema",
    "left atrium": "la",
    "la cavity": "la",
    "left atrial wall": "la wall",
    "right atrium": "ra",
    "ao": "aorta",
    "pulmonary artery": "pa",
    "pulmonary veins": "pv",
}

#: Colours for classes whose name is not known, by class index (tab10 without red/green/blue).
FALLBACK: tuple[str, ...] = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#ffe119",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#469990",
    "#dcbeff",
    "#9a6324",
)

BACKGROUND_NAMES = frozenset({"background", "bg", "bkg", "none", ""})


def canonical(name: str) -> str:
    """The canonical class name for ``name`` (``"LV_blood-pool"`` -> ``"lv"``)."""
    key = " ".join(name.lower().replace("_", " ").replace("-", " ").split())
    return ALIASES.get(key, key)


def normalize_names(label_names: Mapping[int, str] | Sequence[str] | None) -> dict[int, str] | None:
    """Class names as ``{index: name}``; a sequence is read as names of classes 0, 1, 2, ..."""
    if label_names is None:
        return None
    if isinstance(label_names, str):
        raise TypeError("label_names must be a sequence or mapping of names, not one string")
    if isinstance(label_names, Mapping):
        out = {int(k): str(v) for k, v in label_names.items()}
    else:
        out = {i: str(v) for i, v in enumerate(label_names)}
    if any(k < 0 or k > 255 for k in out):
        raise ValueError(f"label_names: class indices must lie in 0..255, got {sorted(out)}")
    return out


def class_name(index: int, names: Mapping[int, str] | None) -> str:
    """Display name of class ``index`` (``"background"`` for 0 unless named)."""
    if names and index in names:
        return names[index]
    return "background" if index == 0 else f"class {index}"


def class_color(index: int, names: Mapping[int, str] | None = None) -> str | None:
    """Hex colour of class ``index``; ``None`` for background (drawn transparent)."""
    name = canonical(class_name(index, names))
    if name in BACKGROUND_NAMES:
        return None
    return CLASS_COLORS.get(name, FALLBACK[(index - 1) % len(FALLBACK)])


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)`` in 0..255."""
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def label_lut(k: int, names: Mapping[int, str] | None = None) -> np.ndarray:
    """RGBA lookup table for classes ``0..k-1``, shape ``(k, 4)``, float in 0..1.

    Background (and any class named like it) has alpha 0.
    """
    lut = np.zeros((k, 4), dtype=np.float32)
    for i in range(k):
        color = class_color(i, names)
        if color is not None:
            lut[i, :3] = np.array(hex_to_rgb(color)) / 255.0
            lut[i, 3] = 1.0
    return lut


def label_colorscale(k: int, names: Mapping[int, str] | None = None) -> list[list]:
    """A discrete plotly colorscale for classes ``0..k-1`` used with ``zmin=-0.5, zmax=k-0.5``."""
    scale: list[list] = []
    for i in range(k):
        color = class_color(i, names)
        css = "rgba(0,0,0,0)" if color is None else "rgb({},{},{})".format(*hex_to_rgb(color))
        scale.append([i / k, css])
        scale.append([(i + 1) / k, css])
    return scale


def legend_entries(k: int, names: Mapping[int, str] | None = None) -> list[tuple[int, str, str]]:
    """``(index, name, hex colour)`` for every non-background class ``1..k-1``."""
    out = []
    for i in range(k):
        color = class_color(i, names)
        if color is not None:
            out.append((i, class_name(i, names), color))
    return out
