"""A live ECharts widget for the app: sends a chart's structure once and then only its data, and
tells the server when the browser has drawn each frame.

Why not ``solara.FigureEcharts``: it sends the whole option at every change and redraws from
scratch (``notMerge``), and nothing tells the server whether the browser keeps up. Playing at
10+ months a second, a network of a few thousand ties resent each month made the browser fall
seconds behind the simulation. Here a chart's ``base`` (axes, series) is sent when its
structure changes (with, for the network, a static ``background`` chart underneath:
the ties, drawn once), and each frame only ``update`` (``{"frame": n, "option": patch}``),
merged by ECharts. The browser answers every update with ``ack(n)``; :class:`FrameSync` gathers
the answers so the play loop renders the next frame only once the last one is on screen (the
model keeps stepping meanwhile, so a slow browser sees several months per frame, never a
growing backlog). ECharts comes from Solara's local asset server (``solara-assets``), no CDN.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipyvuetify
import traitlets

ECHARTS_VERSION = "5.4.0"  # the version solara-assets serves

TEMPLATE = """
<template>
  <div v-bind="attributes">
    <div style="position: relative; width: 100%; height: 100%;">
      <div ref="back" style="position: absolute; left: 0; top: 0; right: 0; bottom: 0;"></div>
      <div ref="chart" style="position: absolute; left: 0; top: 0; right: 0; bottom: 0;"></div>
    </div>
  </div>
</template>
<script>
module.exports = {
  mounted() {
    (async () => {
      const url = `${this.cdnUrl()}/echarts@__ECHARTS__/dist/echarts.js`;
      this.echarts = (await this.load([url]))[0];
      this.chart = this.echarts.init(this.$refs.chart);
      this.drawBackground();
      if (this.base) { this.chart.setOption(this.base, true); }
      this.apply();
      this.observer = new ResizeObserver(() => {
        if (this.chart) { this.chart.resize(); }
        if (this.back) { this.back.resize(); }
      });
      this.observer.observe(this.$refs.chart);
    })();
  },
  beforeDestroy() {
    if (this.observer) { this.observer.disconnect(); }
    if (this.chart) { this.chart.dispose(); this.chart = null; }
    if (this.back) { this.back.dispose(); this.back = null; }
  },
  beforeUnmount() { this.$options.beforeDestroy.call(this); },
  watch: {
    background() { this.drawBackground(); },
    base() { if (this.chart && this.base) { this.chart.setOption(this.base, true); } },
    update() { this.apply(); },
  },
  methods: {
    drawBackground() {
      // a second chart underneath, drawn once per structure: what never changes (the ties)
      if (!this.echarts) { return; }
      if (this.background && !this.back) { this.back = this.echarts.init(this.$refs.back); }
      if (this.back) { this.back.setOption(this.background || {}, true); }
    },
    apply() {
      if (!this.chart || !this.update) { return; }
      this.chart.setOption(this.update.option, false);
      this.ack(this.update.frame);
    },
    load(deps) {
      return this.loadRequire().then(() => {
        if (window.jupyterVue) {
          define("vue", [], () => window.jupyterVue.Vue);
        } else {
          define("vue", ["jupyter-vue"], (jupyterVue) => jupyterVue.Vue);
        }
        return new Promise((resolve, reject) => { requirejs(deps, (...m) => resolve(m), reject); });
      });
    },
    loadRequire() {
      if (window.requirejs) { return Promise.resolve(); }
      return new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = `${this.cdnUrl()}/requirejs@2.3.6/require.js`;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    },
    cdnUrl() {
      if (this.cdn) { return this.cdn; }
      if (window.solara && window.solara.cdn) { return window.solara.cdn; }
      let base = document.body.dataset.baseUrl || document.baseURI;
      if (!base.endsWith("/")) { base += "/"; }
      return `${base}_solara/cdn`;
    },
  },
};
</script>
""".replace("__ECHARTS__", ECHARTS_VERSION)


class LiveChart(ipyvuetify.VuetifyTemplate):
    """ECharts chart: ``base`` = full option (sent when the structure changes), ``update`` =
    ``{"frame": n, "option": patch}`` merged at each frame; the browser acks each frame."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    attributes = traitlets.Dict(default_value={}).tag(sync=True)
    background = traitlets.Any(None, allow_none=True).tag(sync=True)
    base = traitlets.Any(None, allow_none=True).tag(sync=True)
    update = traitlets.Any(None, allow_none=True).tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    on_ack = traitlets.Callable(None, allow_none=True)
    structure = None  # key of the structure last sent as ``base`` (server side only)

    @traitlets.default("cdn")
    def _cdn(self) -> str | None:
        import solara.settings

        return None if solara.settings.assets.proxy else solara.settings.assets.cdn

    def vue_ack(self, frame: Any) -> None:
        if self.on_ack is not None:
            self.on_ack(frame)

    def show(
        self,
        option: dict[str, Any],
        structure: Any,
        frame: int,
        background: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        """Display ``option``: as a new ``base`` (with ``background()``, a static chart drawn
        underneath) if ``structure`` changed, then as frame data."""
        with self.hold_sync():
            if structure != self.structure:
                self.background = background() if background is not None else None
                self.base = option
                self.structure = structure
            self.update = {"frame": frame, "option": data_patch(option)}


def data_patch(option: dict[str, Any]) -> dict[str, Any]:
    """The part of ``option`` that changes from frame to frame: each series' data (series merge
    by index), and the title."""
    patch: dict[str, Any] = {
        "series": [{"data": s.get("data", [])} for s in option.get("series", [])]
    }
    if "title" in option:
        patch["title"] = option["title"]
    return patch


def structure_key(option: dict[str, Any], extra: Any = None) -> tuple[Any, ...]:
    """What identifies a chart's structure: its series names and types, and the caller's key
    (e.g. which network view)."""
    series = tuple((s.get("name"), s.get("type")) for s in option.get("series", []))
    return (series, extra)


class FrameSync:
    """Which frame the server has rendered and each mounted chart has drawn, so the play loop
    sends a new frame only when the last one is done.

    The server side (``rendered``) keeps the play thread from changing the page's state while a
    render is under way (Reacton would restart the render, over and over). The browser side
    counts only once a browser has acknowledged a frame (tests and front ends that cannot never
    make anyone wait).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._drawn: dict[str, int] = {}
        self._rendered = -1
        self.active = False

    def register(self, chart_id: str) -> Callable[[], None]:
        with self._cond:
            self._drawn.setdefault(chart_id, -1)

        def unregister() -> None:
            with self._cond:
                self._drawn.pop(chart_id, None)
                self._cond.notify_all()

        return unregister

    def ack(self, chart_id: str, frame: Any) -> None:
        """A browser drew ``frame`` in chart ``chart_id``."""
        with self._cond:
            if chart_id in self._drawn and isinstance(frame, int):
                self._drawn[chart_id] = max(self._drawn[chart_id], frame)
                self.active = True
                self._cond.notify_all()

    def rendered(self, frame: int) -> None:
        """The server finished rendering ``frame``."""
        with self._cond:
            self._rendered = max(self._rendered, frame)
            self._cond.notify_all()

    def _done(self, frame: int, browser: bool) -> bool:
        drawn = not browser or not self.active or all(d >= frame for d in self._drawn.values())
        return self._rendered >= frame and drawn

    def drawn(self, frame: int, browser: bool = True) -> bool:
        """True once ``frame`` is rendered (and, if ``browser``, drawn by every chart)."""
        with self._cond:
            return self._done(frame, browser)

    def wait(self, frame: int, timeout: float, browser: bool = True) -> bool:
        """Wait up to ``timeout`` seconds for :meth:`drawn`; returns it."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._done(frame, browser), timeout=max(timeout, 0.0)
            )
