"""Signal equations and tissue tables: closed forms, nulling, and the textbook contrasts."""

from __future__ import annotations

import numpy as np
import pytest

from zmic_lessons.data.physics import (
    TISSUES_1P5T,
    Tissue,
    bssfp_signal,
    ernst_angle_deg,
    gd_t1,
    ir_signal,
    spoiled_gre_signal,
    t2_stir_signal,
    ti_null,
    tissue_table,
)


def test_bssfp_matches_short_tr_limit():
    # TR << T1, T2: S -> PD sin a / ((T1/T2 + 1) - cos a (T1/T2 - 1)) (MRXCAT's form)
    t1, t2, a = 1000.0, 200.0, 50.0
    exact = bssfp_signal(1.0, t1, t2, tr=0.01, te=0.0, flip_deg=a)
    ca = np.cos(np.deg2rad(a))
    approx = np.sin(np.deg2rad(a)) / ((t1 / t2 + 1) - ca * (t1 / t2 - 1))
    assert exact == pytest.approx(approx, rel=1e-3)


def test_bssfp_optimal_flip_gives_half_sqrt_t2_over_t1():
    t1, t2 = 1500.0, 250.0
    flips = np.linspace(1, 90, 891)
    s = bssfp_signal(1.0, t1, t2, tr=0.01, te=0.0, flip_deg=flips)
    assert s.max() == pytest.approx(0.5 * np.sqrt(t2 / t1), rel=1e-2)


def test_ti_null_nulls_the_tissue():
    for t1 in (300.0, 500.0, 1000.0):
        ti = ti_null(t1, 1000.0)
        assert ir_signal(1.0, t1, ti, 1000.0) == pytest.approx(0.0, abs=1e-9)
        assert ir_signal(1.0, t1, ti * 0.5, 1000.0, signed=True) < 0  # before the null: negative


def test_ti_null_rejects_bad_input():
    with pytest.raises(ValueError, match="t1 and tr must be positive"):
        ti_null(-1.0, 1000.0)


def test_spoiled_gre_ernst_angle_is_maximum():
    t1, tr = 800.0, 10.0
    ae = ernst_angle_deg(t1, tr)
    s = [spoiled_gre_signal(1.0, t1, 50.0, tr, 2.0, a) for a in (ae - 3, ae, ae + 3)]
    assert s[1] > s[0] and s[1] > s[2]


def test_gd_t1_dose_interpolates():
    assert gd_t1(1000.0, 500.0, 1.0) == pytest.approx(500.0)
    assert gd_t1(1000.0, 500.0, 0.0) == pytest.approx(1000.0)
    assert 500.0 < gd_t1(1000.0, 500.0, 0.5) < 1000.0


def test_textbook_contrasts_from_the_table():
    tab = TISSUES_1P5T
    blood, myo, fat = tab[Tissue.BLOOD], tab[Tissue.MYO], tab[Tissue.FAT]
    scar, edema = tab[Tissue.SCAR], tab[Tissue.EDEMA]

    def ssfp(p):
        return bssfp_signal(p.pd, p.t1, p.t2, 3.0, 1.5, 60.0)

    assert ssfp(blood) > 2 * ssfp(myo)  # bright blood
    assert ssfp(fat) > ssfp(myo)
    # LGE with TI nulling remote myocardium: scar > blood > myocardium ~ 0
    ti = ti_null(myo.t1_post, 1000.0)

    def lge(p):
        return ir_signal(p.pd, p.t1_post, ti, 1000.0)

    assert lge(myo) < 1e-6
    assert lge(scar) > lge(blood) > 0.05
    # T2-STIR: fat nulled, oedema brighter than remote myocardium, moving blood dark
    ti_f = ti_null(fat.t1, 1800.0)

    def stir(p, flow=0.0):
        return t2_stir_signal(p.pd, p.t1, p.t2, ti_f, 1800.0, 70.0, flow=flow)

    assert stir(fat) < 1e-6
    assert stir(edema) > 1.3 * stir(myo)
    assert stir(blood, flow=1.0) < stir(myo)


def test_three_tesla_lengthens_t1():
    t15, t3 = tissue_table(1.5), tissue_table(3.0)
    assert t3[Tissue.MYO].t1 > 1.2 * t15[Tissue.MYO].t1
    assert t3[Tissue.FAT].t1 > t15[Tissue.FAT].t1
    assert t15[Tissue.MYO] == TISSUES_1P5T[Tissue.MYO]
    with pytest.raises(ValueError, match="field_t must be between 0.5 and 3.5 tesla"):
        tissue_table(7.0)
