"""Tests of zmic_lessons.viz: figure structure, slider logic, widget handlers, input errors."""

from __future__ import annotations

import gzip
import io
import json
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import plotly.graph_objects as go  # noqa: E402
from PIL import Image  # noqa: E402

from zmic_lessons import viz  # noqa: E402
from zmic_lessons.viz import colors  # noqa: E402


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return viz.sample_volume(shape=(8, 40, 36))


def heatmap_shapes(fig: go.Figure) -> list[tuple[int, ...]]:
    return [np.asarray(t.z).shape for t in fig.data if t.type == "heatmap"]


# --- sample volume and colours ----------------------------------------------------------


def test_sample_volume_is_deterministic_and_labelled() -> None:
    a_img, a_lab = viz.sample_volume()
    b_img, b_lab = viz.sample_volume()
    assert a_img.shape == a_lab.shape == (20, 96, 96)
    assert a_img.dtype == np.float32 and a_lab.dtype == np.uint8
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_lab, b_lab)
    assert set(np.unique(a_lab)) == {0, 1, 2, 3}
    # the blood pool is brighter than the myocardium, as in bSSFP
    assert a_img[a_lab == 1].mean() > a_img[a_lab == 2].mean() + 0.3


def test_class_colours_follow_names_not_indices() -> None:
    assert colors.canonical("LV_blood-pool") == "lv"
    assert viz.class_color(2, {2: "myocardium"}) == viz.class_color(5, {5: "Myo"})
    assert viz.class_color(1, {1: "RV"}) == viz.CLASS_COLORS["rv"]
    assert viz.class_color(0) is None  # background is transparent
    lut = viz.label_lut(4, viz.normalize_names(viz.SAMPLE_LABELS))
    assert lut.shape == (4, 4) and lut[0, 3] == 0 and np.all(lut[1:, 3] == 1)
    scale = viz.label_colorscale(3)
    assert len(scale) == 6 and scale[0][1] == "rgba(0,0,0,0)"
    with pytest.raises(TypeError, match="label_names"):
        viz.normalize_names("LV")


# --- plotly figures ---------------------------------------------------------------------


def test_slice_figure_one_step_per_slice_toggles_its_own_traces(sample) -> None:
    img, lab = sample
    fig = viz.slice_figure(img, lab, label_names=viz.SAMPLE_LABELS)
    n = img.shape[0]
    n_legend = 3  # LV, Myo, RV
    assert len(fig.data) == 2 * n + n_legend
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == [str(i) for i in range(n)]
    for j, step in enumerate(steps):
        vis = step.args[0]["visible"]
        assert len(vis) == len(fig.data)
        assert vis[: 2 * n] == [i // 2 == j for i in range(2 * n)]
        assert all(vis[2 * n :])  # the colour key stays
    # the figure opens on its active step with exactly that slice visible
    active = fig.layout.sliders[0].active
    shown = [i for i, t in enumerate(fig.data[: 2 * n]) if t.visible]
    assert shown == [2 * active, 2 * active + 1]
    # opens on the most labelled slice
    assert active == int(np.argmax((lab > 0).sum(axis=(1, 2))))


def test_slice_figure_downsamples_and_uses_mm(sample) -> None:
    img, lab = sample
    fig = viz.slice_figure(img, None, axis=2, spacing=(5.0, 1.5, 1.5), max_slices=5, max_size=16)
    assert len(fig.data) == 5  # no labels: one trace per slice, no colour key
    steps = fig.layout.sliders[0].steps
    assert [int(s.label) for s in steps] == [0, 9, 18, 26, 35]
    # axis 2 cuts (8, 40) planes; stride 3 brings 40 rows down to 14 <= 16
    assert set(heatmap_shapes(fig)) == {(3, 14)}
    assert fig.data[0].dy == pytest.approx(15.0) and fig.data[0].dx == pytest.approx(4.5)
    assert fig.data[0].z.dtype == np.uint8
    fig = viz.slice_figure(img, lab, start=2)
    assert fig.layout.sliders[0].active == 2


def test_compare_figure_panels_share_one_slider(sample) -> None:
    img, lab = sample
    pred = np.roll(lab, 2, axis=2)
    fig = viz.compare_figure({"image": img}, {"ground truth": lab, "prediction": pred})
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["image", "ground truth", "prediction"]
    n = img.shape[0]
    per_slice = 1 + 2 + 2  # image alone, then image + labels twice
    assert len(fig.data) == n * per_slice + 3
    for j, step in enumerate(fig.layout.sliders[0].steps):
        vis = step.args[0]["visible"][: n * per_slice]
        assert vis == [i // per_slice == j for i in range(n * per_slice)]
    # panels sit in three different subplots
    assert {t.xaxis for t in fig.data[:per_slice]} == {"x", "x2", "x3"}


def test_compare_figure_overlays_on_named_image(sample) -> None:
    img, lab = sample
    fig = viz.compare_figure({"T2": img, "LGE": img * 2}, {"LGE": lab}, max_slices=3)
    assert [a.text for a in fig.layout.annotations] == ["T2", "LGE"]
    assert len(fig.data) == 3 * (1 + 2) + 3


def test_frames_figure_steps_through_frames() -> None:
    frames = [
        {"posterior": np.full((10, 12), p, dtype=np.float32), "labels": np.eye(10, 12, dtype=int)}
        for p in (0.1, 0.5, 0.9)
    ]
    fig = viz.frames_figure(frames, ["it 0", "it 1", "it 2"])
    assert len(fig.data) == 3 * 2 + 1  # + key for class 1
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["it 0", "it 1", "it 2"]
    assert steps[1].args[0]["visible"][:6] == [False, False, True, True, False, False]
    # one fixed grey range over all frames: the first frame is darkest
    assert fig.data[0].z.max() == 0 and fig.data[4].z.min() == 255


def test_orthogonal_figure_has_three_planes(sample) -> None:
    img, lab = sample
    fig = viz.orthogonal_figure(img, lab, spacing=(5, 1.5, 1.5))
    assert len([t for t in fig.data if t.type == "heatmap"]) == 6
    assert heatmap_shapes(fig)[::2] == [(40, 36), (8, 36), (8, 40)]
    with pytest.raises(ValueError, match="outside the volume"):
        viz.orthogonal_figure(img, point=(0, 0, 99))


def test_show_sends_plotly_json_and_cdn_free_html(sample, monkeypatch) -> None:
    import IPython.display

    sent = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: sent.append(obj))
    viz.show(viz.slice_figure(sample[0], sample[1], max_slices=2))
    (bundle,) = sent
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html", "text/plain"}
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html
    assert "<script src" not in html and "cdn" not in html.lower()
    json.dumps(bundle["application/vnd.plotly.v1+json"])  # serialisable for the kernel


# --- bad inputs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "labels", "kwargs", "message"),
    [
        (np.zeros((2, 3, 4, 5)), None, {}, r"expected a 2D \(H, W\) or 3D"),
        (np.zeros(5), None, {}, "expected a 2D"),
        (np.zeros((0, 4, 4)), None, {}, "empty"),
        (np.zeros((3, 4, 4)), np.zeros((3, 4, 5), int), {}, r"does not match the image shape"),
        (np.zeros((3, 4, 4)), np.full((3, 4, 4), 0.5), {}, "integer class indices"),
        (np.zeros((3, 4, 4)), np.full((3, 4, 4), 600), {}, "0..255"),
        (np.zeros((3, 4, 4)), np.full((3, 4, 4), -1), {}, "0..255"),
        (np.zeros((3, 4, 4)), None, {"axis": 3}, "axis must be 0, 1 or 2"),
        (np.zeros((3, 4, 4)), None, {"spacing": (1, 0, 1)}, "spacing"),
        (np.zeros((3, 4, 4)), None, {"window": (1, 1)}, "low < high"),
        (np.zeros((3, 4, 4)), None, {"opacity": 2}, "opacity"),
        (np.full((3, 4, 4), np.nan), None, {}, "no finite value"),
    ],
)
def test_slice_figure_rejects_bad_inputs(volume, labels, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        viz.slice_figure(volume, labels, **kwargs)


def test_compare_and_frames_name_the_bad_entry(sample) -> None:
    img, lab = sample
    with pytest.raises(ValueError, match=r"images\['small'\]: shape"):
        viz.compare_figure({"image": img, "small": img[:, :10]})
    with pytest.raises(ValueError, match=r"labels\['gt'\]: shape"):
        viz.compare_figure({"image": img}, {"gt": lab[:4]})
    with pytest.raises(ValueError, match="at least one"):
        viz.compare_figure({})
    with pytest.raises(ValueError, match=r"frames\[1\]: panels"):
        viz.frames_figure([{"a": np.zeros((4, 4))}, {"b": np.zeros((4, 4))}])
    with pytest.raises(ValueError, match=r"frames\[0\]\['a'\]: expected a 2D"):
        viz.frames_figure([{"a": np.zeros((2, 4, 4))}])
    with pytest.raises(ValueError, match="2 titles for 1 frames"):
        viz.frames_figure([{"a": np.zeros((4, 4))}], ["x", "y"])


class FakeTensor:
    """Quacks like a torch tensor on a GPU: only ``.detach().cpu().numpy()`` gives the data."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return FakeTensor(self._array)

    def numpy(self) -> np.ndarray:
        return self._array

    def __array__(self, *args, **kwargs):
        raise TypeError("can't convert cuda tensor to numpy; use .cpu() first")


def test_tensors_are_moved_to_the_cpu(sample) -> None:
    img, lab = sample
    fig = viz.slice_figure(FakeTensor(img), FakeTensor(lab.astype(np.int64)))
    assert len(fig.layout.sliders[0].steps) == img.shape[0]


# --- matplotlib -------------------------------------------------------------------------


def test_montage_and_overlay(sample) -> None:
    img, lab = sample
    fig = viz.montage(img, lab, n=6, ncols=3, label_names=viz.SAMPLE_LABELS)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 6 and all(len(ax.images) == 2 for ax in drawn)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["LV", "Myo", "RV"]
    assert viz.figure_png(fig)[:4] == b"\x89PNG"
    fig = viz.montage(img, indices=[0, 7])
    assert len([ax for ax in fig.axes if ax.images]) == 2
    with pytest.raises(ValueError, match=r"indices \[8\] out of range"):
        viz.montage(img, indices=[8])
    import matplotlib.pyplot as plt

    f, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="expected a 2D"):
            viz.overlay(ax, img)
        viz.overlay(ax, img[3], lab[3], alpha=0.3)
        rgba = ax.images[1].get_array()
        assert rgba.shape == (40, 36, 4)
        assert np.allclose(rgba[..., 3][lab[3] == 0], 0)  # background stays transparent
        assert np.allclose(rgba[..., 3][lab[3] > 0], 0.3)
    finally:
        plt.close(f)


# --- widgets ----------------------------------------------------------------------------


def test_slice_viewer_handlers_update_the_picture(sample) -> None:
    img, lab = sample
    v = viz.SliceViewer(img, lab, spacing=(5, 1.5, 1.5), label_names=viz.SAMPLE_LABELS, show=False)
    assert v.n_updates == 1 and v._image.value[:4] == b"\x89PNG"
    first = v._image.value
    v.slice_w.value = 0  # what a reader's drag does: the observer calls update
    assert v.n_updates == 2 and v.index == 0 and v._image.value != first
    v.axis_w.value = 2
    assert v.axis == 2 and v.slice_w.max == img.shape[2] - 1 and v.n_updates == 3
    image2d, labels2d = v.current_slice()
    assert image2d.shape == labels2d.shape == (8, 40)
    v.level_w.value = 0.5
    v.width_w.value = 0.2
    assert v.window == pytest.approx((0.4, 0.6))
    v.update({"new": None})  # handlers can be called directly
    assert v.n_updates == 6
    bundle = v._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"] and "SliceViewer" in bundle["text/plain"]


def test_slice_viewer_without_labels_disables_overlay(sample) -> None:
    v = viz.SliceViewer(sample[0], show=False)
    assert v.opacity_w.disabled and v.current_slice()[1] is None


def test_compare_viewer_and_frame_stepper(sample) -> None:
    img, lab = sample
    cv = viz.CompareViewer({"image": img}, {"gt": lab, "pred": np.roll(lab, 1, 1)}, show=False)
    assert [p[0] for p in cv.panels] == ["image", "gt", "pred"]
    cv.slice_w.value = 1
    cv.opacity_w.value = 0.9
    cv.axis_w.value = 1
    assert cv.n_updates == 4 and set(cv.current_slices()) == {"image", "gt", "pred"}
    assert cv.current_slices()["gt"][1].shape == (8, 36)

    frames = [
        {"p": np.full((6, 6), i, dtype=np.float32), "s": np.eye(6, dtype=int)} for i in range(4)
    ]
    fs = viz.FrameStepper(frames, show=False)
    fs.frame_w.value = 3
    assert fs.frame == 3 and fs.n_updates == 2 and fs.current()["p"][0, 0] == 3
    live = Image.open(io.BytesIO(fs._image.value))
    static = Image.open(io.BytesIO(fs.static_png()))
    assert static.size[1] > 1.7 * live.size[1]  # first and last frame, one above the other
    with pytest.raises(ValueError, match="frames"):
        viz.FrameStepper([], show=False)


# --- 3D -----------------------------------------------------------------------------------


def test_nifti_bytes_round_trip(sample) -> None:
    import nibabel as nib

    img, lab = sample
    raw = viz.nifti_bytes(img, (5.0, 1.5, 1.25), quantize=(0.0, 1.0))
    nii = nib.Nifti1Image.from_bytes(gzip.decompress(raw))
    assert nii.shape == (36, 40, 8)  # (x, y, z)
    assert nii.header.get_zooms() == pytest.approx((1.25, 1.5, 5.0))
    back = np.asarray(nii.dataobj).transpose(2, 1, 0)  # scaled back to image units
    assert np.abs(back - np.clip(img, 0, 1)).max() <= 0.5 / 255 + 1e-6
    nii = nib.Nifti1Image.from_bytes(gzip.decompress(viz.nifti_bytes(lab, (1, 1, 1))))
    assert nii.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(nii.dataobj).transpose(2, 1, 0), lab)


def test_view3d_builds_niivue_with_label_colours(sample) -> None:
    pytest.importorskip("ipyniivue")
    img, lab = sample
    nv = viz.view3d(img, lab, spacing=(5, 1.5, 1.5), label_names=viz.SAMPLE_LABELS, show=False)
    assert len(nv.volumes) == 2
    lut = nv.volumes[1].colormap_label
    assert lut.labels == ["background", "LV", "Myo", "RV"]
    with pytest.raises(ValueError, match="slice_type"):
        viz.view3d(img, slice_type="3d", show=False)


def test_view3d_falls_back_to_plotly_without_ipyniivue(sample, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ipyniivue", None)  # makes `import ipyniivue` fail
    fig = viz.view3d(*sample, show=False)
    assert isinstance(fig, go.Figure) and len(fig.data) == 6 + 3
    assert "ipyniivue is not installed" in capsys.readouterr().out


def test_subset_explorer_scores_caches_and_rejects_bad_subsets():
    calls = []

    def score(subset):
        calls.append(subset)
        return len(subset) / 3

    explorer = viz.SubsetExplorer(("a", "b", "c"), score, known={("c", "a"): 0.5}, show=False)
    assert explorer.scores == {("a", "c"): 0.5}
    explorer.boxes[2].value = False
    explorer.update()
    assert explorer.chosen == ("a", "b") and explorer.scores[("a", "b")] == pytest.approx(2 / 3)
    assert "a + b" in explorer.message.value
    explorer.choose(["b", "a"])
    assert calls == [("a", "b")]  # cached
    assert explorer.static_png().startswith(b"\x89PNG")
    for box in explorer.boxes:
        box.value = False
    explorer.update()
    assert "at least one" in explorer.message.value
    with pytest.raises(ValueError, match="unknown name"):
        explorer.choose(["z"])
