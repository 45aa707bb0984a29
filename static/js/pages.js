// Behaviour shared by the staff and portal pages. It lives here, not in the HTML,
// so that the Content-Security-Policy can refuse every inline script.
(function () {
  "use strict";

  // <select data-autosubmit> submits its form when the choice changes.
  function wireAutosubmit(root) {
    for (const select of root.querySelectorAll("select[data-autosubmit]")) {
      select.addEventListener("change", () => select.form.submit());
    }
  }

  // Each <script type="application/json" data-chart="ID"> holds a plotly figure
  // to draw into the element with that id.
  function drawCharts(root) {
    if (typeof Plotly === "undefined") return;
    for (const block of root.querySelectorAll("script[type='application/json'][data-chart]")) {
      const target = document.getElementById(block.dataset.chart);
      if (!target) continue;
      const figure = JSON.parse(block.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireAutosubmit(document);
    drawCharts(document);
  });
})();
