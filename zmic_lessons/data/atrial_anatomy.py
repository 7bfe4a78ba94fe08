"""The left-atrial phantom's anatomy: the shapes of one random heart, as signed distances.

:func:`draw_anatomy` draws one heart's geometry (left atrium with its pulmonary veins and
appendage, left ventricle, aorta, spine, lungs, fat and oesophagus) from a generator;
:func:`la_sdf` and :func:`scar_score` evaluate the atrium and its scar pattern at points. The
rendering into tissues and images is in :mod:`.atrial`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _floats(v: np.ndarray) -> list[float]:
    """Python floats, so that float32 point arrays are not promoted to float64 (NEP 50)."""
    return [float(x) for x in np.asarray(v).ravel()]


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _ellipsoid(p: tuple, c: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Approximate SDF (mm) of an axis-aligned ellipsoid; exact on the surface."""
    c, r = _floats(c), _floats(r)
    qz, qy, qx = ((p[i] - c[i]) / r[i] for i in range(3))
    k0 = np.sqrt(qz * qz + qy * qy + qx * qx)
    k1 = np.sqrt((qz / r[0]) ** 2 + (qy / r[1]) ** 2 + (qx / r[2]) ** 2)
    # the small offsets make the centre itself map to -min(r) instead of 0/0
    return (k0 - 1.0) * (k0 + 1e-4) / (k1 + 1e-4 / min(r))


def _round_cone(p: tuple, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
    """Approximate SDF of a capsule from ``a`` to ``b`` whose radius goes from ``ra`` to ``rb``."""
    ba = _floats(np.asarray(b) - np.asarray(a))
    a = _floats(a)
    ra, rb = float(ra), float(rb)
    dz, dy, dx = p[0] - a[0], p[1] - a[1], p[2] - a[2]
    inv = 1.0 / (ba[0] ** 2 + ba[1] ** 2 + ba[2] ** 2)
    h = np.clip((dz * ba[0] + dy * ba[1] + dx * ba[2]) * inv, 0.0, 1.0)
    ez, ey, ex = dz - ba[0] * h, dy - ba[1] * h, dx - ba[2] * h
    return np.sqrt(ez * ez + ey * ey + ex * ex) - (ra + (rb - ra) * h)


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (smooth union of two SDFs, blending width ``k`` mm)."""
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


@dataclass
class _Fourier:
    """A smooth random field, sum of cosines; about unit standard deviation."""

    w: np.ndarray  # (K, 3) angular frequencies, rad/mm
    phase: np.ndarray  # (K,)

    @classmethod
    def draw(cls, rng: np.random.Generator, k: int, wavelength: tuple[float, float]) -> _Fourier:
        dirs = rng.normal(size=(k, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        lam = rng.uniform(*wavelength, size=(k, 1))
        return cls(w=dirs * (2 * np.pi / lam), phase=rng.uniform(0, 2 * np.pi, size=k))

    def __call__(self, p: tuple) -> np.ndarray:
        out = 0.0
        for (wz, wy, wx), ph in zip(self.w.tolist(), self.phase.tolist(), strict=True):
            out = out + np.cos(p[0] * wz + p[1] * wy + p[2] * wx + ph)
        return out * float(np.sqrt(2.0 / len(self.phase)))


@dataclass
class AtrialAnatomy:
    """Everything drawn from the seed that defines the geometry (world mm, LA centre near 0)."""

    c: np.ndarray
    r: np.ndarray
    rot: float
    perturb: _Fourier
    perturb_mm: float
    thick0: float
    thick_field: _Fourier
    pvs: list[tuple[np.ndarray, np.ndarray, float]]
    ostia: list[tuple[np.ndarray, float]]
    laa: list[tuple[np.ndarray, np.ndarray, float, float]]
    mv_point: np.ndarray
    mv_normal: np.ndarray
    lv_c: np.ndarray
    lv_r: np.ndarray
    lv_wall: float
    aorta: list[tuple[np.ndarray, np.ndarray, float]]
    ao_wall: float
    oes: tuple[np.ndarray, np.ndarray, float, float]
    spine: tuple[np.ndarray, np.ndarray, float]
    lungs: list[tuple[np.ndarray, np.ndarray]]
    fat: list[tuple[np.ndarray, np.ndarray]]
    posterior: np.ndarray
    scar_field: _Fourier

    def rotate(self, v: np.ndarray) -> np.ndarray:
        """Rotate a (z, y, x) direction about z by the LA's orientation angle."""
        cs, sn = np.cos(self.rot), np.sin(self.rot)
        return np.array([v[0], cs * v[1] - sn * v[2], sn * v[1] + cs * v[2]])

    def surface_point(self, d: np.ndarray) -> np.ndarray:
        """Point of the (unperturbed) body ellipsoid along world direction ``d`` from its centre."""
        cs, sn = np.cos(self.rot), np.sin(self.rot)
        body = np.array([d[0], cs * d[1] + sn * d[2], -sn * d[1] + cs * d[2]])
        return self.c + d / np.sqrt(np.sum((body / self.r) ** 2))


def draw_anatomy(rng: np.random.Generator) -> AtrialAnatomy:
    c = rng.uniform(-3, 3, size=3) + np.array([0.0, 4.0, 0.0])
    r = np.array([15.0, 17.0, 21.0]) * rng.uniform(0.85, 1.15, size=3)
    an = AtrialAnatomy(
        c=c,
        r=r,
        rot=float(np.deg2rad(rng.uniform(-15, 15))),
        perturb=_Fourier.draw(rng, 6, (25.0, 50.0)),
        perturb_mm=float(rng.uniform(1.5, 3.0)),
        thick0=float(rng.uniform(1.6, 2.2)),
        thick_field=_Fourier.draw(rng, 4, (20.0, 40.0)),
        pvs=[],
        ostia=[],
        laa=[],
        mv_point=c,
        mv_normal=c,
        lv_c=c,
        lv_r=r,
        lv_wall=9.0,
        aorta=[],
        ao_wall=float(rng.uniform(1.4, 2.0)),
        oes=(c, c, 0.0, 0.0),
        spine=(c, c, 0.0),
        lungs=[],
        fat=[],
        posterior=c,
        scar_field=_Fourier.draw(rng, 8, (12.0, 25.0)),
    )
    _add_veins(an, rng)
    base = _add_appendage(an, rng)
    _add_mitral_and_lv(an, rng)
    _add_aorta(an, rng)
    _add_mediastinum(an, rng, base)
    return an


def _add_veins(an: AtrialAnatomy, rng: np.random.Generator) -> None:
    """Pulmonary veins: LSPV, LIPV, RSPV, RIPV leave the posterior wall."""
    c = an.c
    for d in ([0.45, 0.55, 0.70], [-0.35, 0.55, 0.75], [0.45, 0.55, -0.70], [-0.35, 0.55, -0.75]):
        dw = an.rotate(_unit(np.array(d) + rng.normal(0, 0.08, size=3)))
        ostium = an.surface_point(dw)
        radius = float(rng.uniform(4.0, 6.0))
        length = float(rng.uniform(15.0, 25.0))
        start = c + 0.4 * (ostium - c)
        an.pvs.append((start, ostium + length * dw, radius))
        an.ostia.append((ostium, radius))


def _add_appendage(an: AtrialAnatomy, rng: np.random.Generator) -> np.ndarray:
    """Appendage: two tapered segments, anterior-left-superior, bending downwards.

    Returns:
        The appendage's base point (mm), where the fat pad sits.
    """
    c = an.c
    d1 = an.rotate(_unit(np.array([0.35, -0.55, 0.75]) + rng.normal(0, 0.08, size=3)))
    base = c + 0.85 * (an.surface_point(d1) - c)
    p1 = base + rng.uniform(10, 14) * d1
    d2 = _unit(d1 + np.array([-0.6, -0.3, 0.0]) + rng.normal(0, 0.1, size=3))
    p2 = p1 + rng.uniform(8, 12) * d2
    r0 = float(rng.uniform(6.0, 8.0))
    an.laa = [(base, p1, r0, 0.65 * r0), (p1, p2, 0.65 * r0, 2.0)]
    return base


def _add_mitral_and_lv(an: AtrialAnatomy, rng: np.random.Generator) -> None:
    """Mitral plane, anterior-inferior-left; the LV lies beyond it."""
    c = an.c
    n = an.rotate(_unit(np.array([-0.55, -0.65, 0.35]) + rng.normal(0, 0.05, size=3)))
    an.mv_normal = n
    an.mv_point = c + float(rng.uniform(0.55, 0.7)) * (an.surface_point(n) - c)
    an.lv_c = an.mv_point + n * 30.0
    an.lv_r = np.array([25.0, 21.0, 21.0]) * rng.uniform(0.9, 1.1, size=3)
    an.lv_wall = float(rng.uniform(8.0, 10.0))


def _add_aorta(an: AtrialAnatomy, rng: np.random.Generator) -> None:
    """Aorta: ascending (anterior-right), arch, descending (posterior-left, near the spine)."""
    c = an.c
    j = rng.normal(0, 2.0, size=(4, 3))
    ao = [
        c + np.array(v) + j[i]
        for i, v in enumerate(
            ([-30.0, -32.0, -8.0], [35.0, -27.0, -6.0], [45.0, 12.0, 14.0], [-80.0, 40.0, 22.0])
        )
    ]
    r_ao = float(rng.uniform(11.0, 14.0))
    an.aorta = [(ao[0], ao[1], r_ao), (ao[1], ao[2], 0.9 * r_ao), (ao[2], ao[3], 0.8 * r_ao)]


def _add_mediastinum(an: AtrialAnatomy, rng: np.random.Generator, base: np.ndarray) -> None:
    """Oesophagus right behind the posterior LA wall, spine behind both, lungs and fat pads."""
    c, r = an.c, an.r
    y_oes = c[1] + r[1] + float(rng.uniform(7.0, 10.0))
    x_oes = float(rng.uniform(-6.0, 2.0))
    an.oes = (
        np.array([c[0] - 90.0, y_oes, x_oes]),
        np.array([c[0] + 90.0, y_oes - 2.0, x_oes - 2.0]),
        float(rng.uniform(7.0, 9.0)),
        float(rng.uniform(2.0, 3.5)),
    )
    y_sp = y_oes + float(rng.uniform(22.0, 28.0))
    an.spine = (np.array([c[0] - 90.0, y_sp, 0.0]), np.array([c[0] + 90.0, y_sp, 0.0]), 14.0)
    an.lungs = [
        (c + np.array([0.0, 15.0, s * 72.0]), np.array([90.0, 55.0, 38.0]) * rng.uniform(0.9, 1.1))
        for s in (-1.0, 1.0)
    ]
    lateral = an.rotate(np.array([0.0, 0.0, 1.0]))
    an.fat = [
        (an.mv_point + 10.0 * lateral, np.array([7.0, 6.0, 12.0]) * rng.uniform(0.8, 1.2, size=3)),
        (base - 4.0 * lateral, np.array([6.0, 8.0, 6.0]) * rng.uniform(0.8, 1.2, size=3)),
    ]
    an.posterior = an.rotate(np.array([0.0, 1.0, 0.0]))


def la_sdf(an: AtrialAnatomy, p: tuple) -> np.ndarray:
    """Signed distance (mm) to the LA endocardium (negative inside the cavity)."""
    cs, sn = float(np.cos(an.rot)), float(np.sin(an.rot))
    c = _floats(an.c)
    dy, dx = p[1] - c[1], p[2] - c[2]
    body = _ellipsoid((p[0], cs * dy + sn * dx, -sn * dy + cs * dx), (c[0], 0.0, 0.0), an.r)
    phi = body
    for a, b, rad in an.pvs:
        phi = _smin(phi, _round_cone(p, a, b, rad, 0.85 * rad), 5.0)
    for a, b, ra, rb in an.laa:
        phi = _smin(phi, _round_cone(p, a, b, ra, rb), 3.0)
    return phi + an.perturb_mm * an.perturb(p)


def scar_score(an: AtrialAnatomy, p: tuple) -> np.ndarray:
    """Smooth score on the wall; its upper quantile becomes scar (PV rings, posterior wall)."""
    ring = 0.0
    for o, rad in an.ostia:
        o = _floats(o)
        dist = np.sqrt((p[0] - o[0]) ** 2 + (p[1] - o[1]) ** 2 + (p[2] - o[2]) ** 2)
        ring = np.maximum(ring, np.exp(-((dist - (float(rad) + 4.0)) ** 2) / 18.0))
    c, d = _floats(an.c), _floats(an.posterior)
    post = (p[0] - c[0]) * d[0] + (p[1] - c[1]) * d[1] + (p[2] - c[2]) * d[2]
    return 0.9 * ring + 0.5 / (1.0 + np.exp(-post / 5.0)) + 0.45 * an.scar_field(p)
