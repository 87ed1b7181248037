// How the digit network learns (the seed's videos 3 and 2): the nudges one example asks for, gradient steps on it,
// a cohort's votes, and the cost surface over two parameters with gradient descent's path.
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const labelSelect = document.getElementById("learn-label");
  const nudgesView = document.getElementById("nudges");
  let shown = false;      // the nudges follow the drawing once asked for
  let busy = false, again = false;

  const label = () => Number(labelSelect.value);
  const input = () => fastnet.digits && fastnet.digits.input();

  // Signed values as bars around a middle line, red + blue − (scale: the largest |value|).
  function bars(values, width, height, labels) {
    const canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    const context = canvas.getContext("2d");
    const scale = Math.max(...values.map(Math.abs)) || 1, w = width / values.length, middle = height / 2;
    values.forEach((v, i) => {
      context.fillStyle = fastnet.signed(v, scale);
      const h = (middle - (labels ? 10 : 2)) * Math.abs(v) / scale;
      context.fillRect(i * w + 1, v >= 0 ? middle - h : middle, Math.max(1, w - 2), Math.max(1, h));
      if (labels) {
        context.fillStyle = "#ccc"; context.font = "11px sans-serif";
        context.fillText(String(labels[i]), i * w + w / 2 - 3, height - 1);
      }
    });
    return canvas;
  }

  function panel(title, ...children) {
    const box = document.createElement("div");
    box.className = "nudge-panel";
    const heading = document.createElement("h3");
    heading.textContent = title;
    box.append(heading, ...children);
    return box;
  }

  function gradientImages(rows) {
    const grid = document.createElement("div");
    grid.className = "gradient-images";
    const side = Math.round(Math.sqrt(rows[0].length));
    const scale = Math.max(...rows.flat().map(Math.abs)) || 1;  // one scale: the images compare
    for (const row of rows) {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = side;
      fastnet.drawImage(canvas.getContext("2d"), row, side, (v) => fastnet.signed(-v, scale));
      grid.append(canvas);
    }
    return grid;
  }

  async function showNudges() {
    const pixels = input();
    if (!pixels) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      const answer = await fastnet.api("/api/backprop", {pixels: Array.from(pixels), label: label()});
      const digits = answer.desired.map((_, i) => i);
      const L = answer.deltas.length;
      const panels = [panel(`the outputs' desired changes (it should be a ${answer.label}; cost ${answer.cost.toFixed(4)})`,
                            bars(answer.desired, 260, 120, digits))];
      for (let l = L - 2; l >= 0; l--) {
        panels.push(panel(`hidden layer ${l + 1}: −δ, how each neuron's z should move (δ: the bias gradient)`,
                          bars(answer.deltas[l].map((d) => -d), 200, 90)));
        panels.push(panel(`hidden layer ${l + 1}: each neuron's share of the vote (‖∂C/∂W‖)`,
                          bars(answer.weight_gradient_norms[l], 200, 90)));
      }
      panels.push(panel("the first layer's weight nudges, one picture per hidden neuron (−∂C/∂W₁)",
                        gradientImages(answer.first_layer_gradient)));
      nudgesView.replaceChildren(...panels);
      nudgesView.dataset.label = String(answer.label);
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    } finally {
      busy = false;
      if (again) { again = false; showNudges(); }
    }
  }

  document.getElementById("show-nudges").addEventListener("click", () => { shown = true; showNudges(); });
  labelSelect.addEventListener("change", () => { if (shown) showNudges(); });
  document.addEventListener("predicted", () => { if (shown) showNudges(); });

  const result = document.getElementById("learn-result");
  document.getElementById("learn").addEventListener("click", async () => {
    const pixels = input();
    if (!pixels) return;
    try {
      const answer = await fastnet.api("/api/learn", {pixels: Array.from(pixels), label: label(),
        eta: Number(document.getElementById("learn-eta").value), steps: Number(document.getElementById("learn-steps").value)});
      result.textContent = `${document.getElementById("learn-steps").value} steps on this example: cost ` +
        `${answer.cost_before.toFixed(4)} → ${answer.cost_after.toFixed(4)}, prediction ${answer.prediction_before} → ` +
        `${answer.prediction_after} (the server's copy changed; Reset restores it)`;
      await fastnet.digits.refresh();
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  });

  document.getElementById("reset").addEventListener("click", async () => {
    try {
      await fastnet.api("/api/reset", {});
      result.textContent = "the network as the server loaded it";
      await fastnet.digits.refresh();
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  });

  let cohorts = 0;
  document.getElementById("cohort").addEventListener("click", async () => {
    const pixels = input();
    if (!pixels) return;
    try {
      const answer = await fastnet.api("/api/cohort", {pixels: Array.from(pixels), label: label(), seed: cohorts++});
      const digits = answer.mean_desired.map((_, i) => i);
      const votes = answer.desired.map((desired, k) => {
        const picture = document.createElement("canvas");
        picture.width = picture.height = 28;
        picture.style.width = picture.style.height = "56px";
        fastnet.drawImage(picture.getContext("2d"), k === 0 ? Array.from(pixels) : answer.images[k - 1], 28, fastnet.grey);
        return panel(k === 0 ? `yours (${answer.labels[0]})` : `a ${answer.labels[k]}`, picture, bars(desired, 130, 70));
      });
      votes.push(panel("the mean vote: what one SGD step follows", bars(answer.mean_desired, 260, 120, digits)));
      document.getElementById("cohort-view").replaceChildren(...votes);
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  });

  // -- the cost surface --------------------------------------------------------------------------------------

  // Marching squares: the segments where the grid crosses each level, linearly interpolated.
  function contours(context, grid, levels, cell) {
    const n = grid.length;
    const at = (a, b, va, vb, level) => a + (b - a) * (level - va) / (vb - va);
    for (const level of levels) {
      context.beginPath();
      for (let i = 0; i + 1 < n; i++) {
        for (let j = 0; j + 1 < n; j++) {
          const corners = [[i, j], [i, j + 1], [i + 1, j + 1], [i + 1, j]].map(([a, b]) => [a, b, grid[a][b]]);
          const points = [];
          for (let k = 0; k < 4; k++) {
            const [a1, b1, v1] = corners[k], [a2, b2, v2] = corners[(k + 1) % 4];
            if ((v1 < level) !== (v2 < level)) {
              points.push([at(b1, b2, v1, v2, level), at(a1, a2, v1, v2, level)]);
            }
          }
          for (let k = 0; k + 1 < points.length; k += 2) {
            context.moveTo((points[k][0] + 0.5) * cell, (points[k][1] + 0.5) * cell);
            context.lineTo((points[k + 1][0] + 0.5) * cell, (points[k + 1][1] + 0.5) * cell);
          }
        }
      }
      context.stroke();
    }
  }

  // One parameter moves the mean cost over 500 images only a little: a large step makes the path visible.
  const SURFACE_ETA = 50;

  async function drawSurface() {
    const pixels = input();
    if (!pixels) return;
    const canvas = document.getElementById("surface");
    const i = document.getElementById("surface-i").value, j = document.getElementById("surface-j").value;
    const body = {pixels: Array.from(pixels), label: label(), span: Number(document.getElementById("surface-span").value),
                  n: 31, steps: 40, eta: SURFACE_ETA};
    if (i !== "" && j !== "") body.params = [Number(i), Number(j)];
    try {
      const answer = await fastnet.api("/api/surface", body);
      const {grid, offsets, path, values} = answer, n = grid.length, cell = canvas.width / n;
      const flat = grid.flat(), low = Math.min(...flat), high = Math.max(...flat);
      const context = canvas.getContext("2d");
      grid.forEach((row, a) => row.forEach((v, b) => {  // rows: the first parameter (down), columns: the second
        const t = high > low ? (v - low) / (high - low) : 0;
        context.fillStyle = `rgb(${Math.round(40 + 215 * t)}, ${Math.round(30 + 120 * t)}, ${Math.round(90 - 60 * t)})`;
        context.fillRect(Math.floor(b * cell), Math.floor(a * cell), Math.ceil(cell) + 1, Math.ceil(cell) + 1);
      }));
      context.strokeStyle = "rgba(255,255,255,0.35)";
      context.lineWidth = 1;
      contours(context, grid, Array.from({length: 9}, (_, k) => low + (high - low) * (k + 1) / 10), cell);
      const step = offsets[1] - offsets[0];
      const place = (p, value) => ((p - value - offsets[0]) / step + 0.5) * cell;
      context.strokeStyle = "white"; context.lineWidth = 2;
      context.beginPath();
      path.forEach(([pi, pj], k) => {
        const x = place(pj, values[1]), y = place(pi, values[0]);
        if (k === 0) context.moveTo(x, y); else context.lineTo(x, y);
      });
      context.stroke();
      context.fillStyle = "white";
      context.beginPath(); context.arc(place(values[1], values[1]), place(values[0], values[0]), 4, 0, 2 * Math.PI); context.fill();
      document.getElementById("surface-i").placeholder = String(answer.params[0]);
      document.getElementById("surface-j").placeholder = String(answer.params[1]);
      document.getElementById("surface-caption").textContent =
        `The mean cost over ${answer.sample} training images as ${answer.names[0]} (down) and ${answer.names[1]} ` +
        `(across) move ±${offsets[offsets.length - 1]} around their values (the dot), every other parameter held: ` +
        `from ${low.toFixed(4)} (dark) to ${high.toFixed(4)} (bright), with contour lines. The white path: ` +
        `${path.length - 1} steps of gradient descent on those two, cost ${path[0][2].toFixed(4)} → ` +
        `${path[path.length - 1][2].toFixed(4)}.`;
      canvas.dataset.drawn = "true";
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  }
  document.getElementById("draw-surface").addEventListener("click", drawSurface);

  try {
    const network = await fastnet.api("/api/network");
    const classes = network.sizes[network.sizes.length - 1];
    for (let d = 0; d < classes; d++) labelSelect.add(new Option(String(d), String(d)));
  } catch (error) {
    fastnet.showError(error);
  }
});
